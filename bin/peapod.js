#!/usr/bin/env node
// The installed command: the bundled CLI (npm install builds it), or the
// compiled modules when no bundle was made. CommonJS (bin/package.json), as
// the one file of peapod that is not an ES module: Node's ES module loader
// costs ~3 ms at every call, and this file runs at every call.
'use strict';
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { createRequire, Module } = require('node:module');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { Script } = require('node:vm');

const bundle = join(__dirname, '..', 'dist', 'bundle', 'peapod.cjs');

/**
 * The bundle, compiled with V8's code cache for this verb when there is one
 * (Node 22's module.enableCompileCache does the same; Node 20 has none): a
 * call then neither parses the whole bundle nor recompiles the functions its
 * verb ran before. A cache is code, so it lives beside the bundle, never in a
 * shared directory, and its name holds the bundle file's inode and mtime
 * (V8 itself checks only the source's length; a checksum would load a module
 * that most verbs do not need). Null when there is no bundle.
 */
function loadBundle(verb) {
  let source;
  let stat;
  try {
    stat = statSync(bundle, { bigint: true });
    source = readFileSync(bundle);
  } catch {
    return null;
  }
  const version = `${stat.ino}-${stat.mtimeNs}-${stat.size}`;
  const cacheFile = /^[a-z][a-z-]{0,31}$/.test(verb ?? '') ? join(dirname(bundle), 'v8-cache', `${verb}-${version}`) : null;
  let cachedData;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // None yet: this call makes it.
  }
  // (The bundle has no import(): on Node 20 a script compiled from a cache cannot import; see scripts/bundle.sh.)
  const script = new Script(Module.wrap(source.toString('utf8')), { filename: bundle, cachedData });
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
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
    renameSync(tmp, file);
  } catch {
    // A read-only install runs without a cache.
  }
}

async function start(argv) {
  const { main } = loadBundle(argv[0]) ?? (await import(pathToFileURL(join(__dirname, '..', 'dist', 'cli', 'main.js')).href));
  return main(argv);
}

start(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`peapod: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
