#!/usr/bin/env node
// The installed command: the bundled CLI (npm install builds it), or the
// compiled modules when no bundle was made.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/peapod.mjs', import.meta.url);
const { main } = await import(existsSync(bundle) ? bundle.href : new URL('../dist/cli/main.js', import.meta.url).href);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`peapod: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
