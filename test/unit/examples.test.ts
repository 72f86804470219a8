// The examples are the first manifests people run: each must read cleanly,
// with no error and no warning.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPodFile } from '../../src/manifest/index.js';

const dir = join(process.cwd(), 'examples');

describe('examples/', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    it(`${file} reads as one valid pod, without warnings`, () => {
      const { pods, warnings } = readPodFile(join(dir, file), { strict: true });
      expect(pods).toHaveLength(1);
      expect(warnings).toEqual([]);
    });
  }
});
