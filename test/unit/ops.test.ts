// One table of spawn-plan ops: native/plan.h's PEAPOD_OPS. src/plan/ops.ts
// is generated from it, and every TypeScript layer is typed against that.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STEP_FORMATS } from '../../src/plan/describe.js';
import { STEP_OPS } from '../../src/plan/ops.js';

describe('the op table', () => {
  it('src/plan/ops.ts is what native/plan.h says', () => {
    expect(() => execFileSync(process.execPath, ['scripts/gen-ops.mjs', '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('every op has a describer, and the C++ dispatcher handles each', () => {
    expect(Object.keys(STEP_FORMATS).sort()).toEqual([...STEP_OPS].sort());
    const dispatch = readFileSync('native/child.cc', 'utf8');
    const missing = readFileSync('native/plan.h', 'utf8')
      .match(/X\((k\w+),/g)
      ?.map((m) => m.slice(2, -1))
      .filter((id) => !dispatch.includes(`Op::${id}`));
    expect(missing).toEqual([]);
  });
});
