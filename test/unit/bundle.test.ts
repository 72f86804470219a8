// The CLI bundle that bin/peapod.js runs from V8's code cache (scripts/bundle.sh).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bundle = join(import.meta.dirname, '..', '..', 'dist', 'bundle', 'peapod.cjs');

describe.skipIf(!existsSync(bundle))('the CLI bundle', () => {
  it('has no import(): a script compiled from a code cache cannot import on Node 20 (an HTTPS probe or pull would throw)', () => {
    const text = readFileSync(bundle, 'utf8');
    expect(text.match(/\bimport\(/g) ?? []).toEqual([]);
    expect(text).toContain('require("node:https")');
  });
});
