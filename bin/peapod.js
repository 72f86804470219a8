#!/usr/bin/env node
// The installed command: the compiled CLI (npm install builds it).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`peapod: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
