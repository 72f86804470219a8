#!/usr/bin/env bash
# Bundles the CLI into one minified CommonJS file, dist/bundle/peapod.cjs, so a
# CLI call reads one file instead of resolving ~150 modules. bin/peapod.js
# compiles it with V8's code cache of the verb (Node 20 has no compile cache of
# its own), so a call neither parses the whole file nor recompiles the functions
# its verb ran before; modules a verb does not import are never evaluated
# (main.ts loads each command when it is called). The addon stays a separate
# .node file. CommonJS because only a vm.Script takes a code cache on Node 20;
# every import() becomes a require(), as such a script, compiled from its
# cache, cannot import (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist/bundle dist/peapod.mjs
npx esbuild src/cli/main.ts --bundle --minify --platform=node --format=cjs --target=node20 \
  --outfile=dist/bundle/peapod.cjs --log-level=warning \
  --define:import.meta.url=__peapodUrl --supported:dynamic-import=false \
  "--banner:js=\"use strict\";const __peapodUrl=require('node:url').pathToFileURL(__filename).href;"
