#!/usr/bin/env node
// The installed command: the bundled CLI (npm install builds it), or the
// compiled modules when no bundle was made.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, Script } from 'node:vm';
import { crc32 } from 'node:zlib';

const bundle = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bundle', 'peapod.cjs');

/**
 * The bundle, compiled with V8's code cache for this verb when there is one
 * (Node 22's module.enableCompileCache does the same; Node 20 has none): a
 * call then neither parses the whole bundle nor recompiles the functions its
 * verb ran before. A cache is code, so it lives beside the bundle, never in a
 * shared directory, and its name holds the bundle's checksum (V8 itself checks
 * only the source's length). Null when there is no bundle.
 */
function loadBundle(verb) {
  let source;
  try {
    source = readFileSync(bundle);
  } catch {
    return null;
  }
  const cacheFile = /^[a-z][a-z-]{0,31}$/.test(verb ?? '') ? join(dirname(bundle), 'v8-cache', `${verb}-${crc32(source).toString(16)}`) : null;
  let cachedData;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // None yet: this call makes it.
  }
  const script = new Script(Module.wrap(source.toString('utf8')), {
    filename: bundle,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected) && module.exports.isCommand(verb)) {
    // At exit the cache holds every function this verb ran.
    process.once('exit', () => saveCache(script, cacheFile));
  }
  return module.exports;
}

function saveCache(script, file) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
    renameSync(tmp, file);
  } catch {
    // A read-only install runs without a cache.
  }
}

const argv = process.argv.slice(2);
const { main } = loadBundle(argv[0]) ?? (await import(new URL('../dist/cli/main.js', import.meta.url).href));

main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`peapod: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
