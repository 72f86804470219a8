// A plan crossing to the addon (packed: numbers, one NUL-ended text, ints,
// programs): what the child runs is what was planned, to the byte, and a
// string the child's C calls would cut short is refused before any clone.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnPlan, watchExit, type ExitStatus } from '../../src/native/addon.js';
import type { SpawnPlan } from '../../src/plan/types.js';

const dir = mkdtempSync(join(tmpdir(), 'peapod-addon-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shell = (script: string, env: string[]): SpawnPlan => ({
  name: 'sh',
  newNamespaces: [],
  keepSignalsBlocked: false,
  steps: [
    { op: 'umask', mask: 0o022 },
    { op: 'exec', candidates: ['/usr/bin/sh', '/bin/sh'], argv: ['sh', '-c', script, 'sh', 'ü =;', ''], env },
  ],
});

describe('spawnPlan', () => {
  it('runs every string as planned: empty ones, non-ASCII ones, the argv and the environment in order', async () => {
    const out = join(dir, 'out');
    const { pidfd } = spawnPlan(shell(`printf '%s|%s|%s|%s' "$1" "$2" "$X" "$Y" > ${out}`, ['X=ä b', 'Y=', 'PATH=/usr/bin:/bin']), [0, 1, 2]);
    const exit = await new Promise<ExitStatus>((resolve) => watchExit(pidfd, resolve));
    expect(exit).toEqual({ code: 0 });
    expect(readFileSync(out, 'utf8')).toBe('ü =;||ä b|');
  });

  it('refuses a string with a NUL byte, naming where it is, before anything runs', () => {
    expect(() => spawnPlan(shell('exit 0', ['X=a\0b']), [0, 1, 2])).toThrow(/step exec: an exec argument or variable contains a NUL byte/);
    const plan = shell('exit 0', []);
    plan.steps[0] = { op: 'mkdir', path: `${dir}/a\0b`, mode: 0o755 };
    expect(() => spawnPlan(plan, [0, 1, 2])).toThrow(/step mkdir: b contains a NUL byte/);
  });
});
