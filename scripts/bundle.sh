#!/usr/bin/env bash
# Bundles the CLI into minified ES modules: dist/bundle/peapod.mjs and one
# chunk per part only some verbs need (images, the ui, the network...), so a
# CLI call loads a few files instead of resolving ~150 modules, and parses
# only what its verb imports (main.ts loads each command when it is called).
# The addon stays a separate .node file.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist/bundle dist/peapod.mjs
npx esbuild src/cli/main.ts --bundle --splitting --minify --platform=node --format=esm --target=node20 \
  --outdir=dist/bundle --entry-names=peapod --chunk-names=chunks/[name]-[hash] --out-extension:.js=.mjs \
  --log-level=warning \
  "--banner:js=import { createRequire as __peapodRequire } from 'node:module'; const require = __peapodRequire(import.meta.url);"
