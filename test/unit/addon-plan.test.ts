// A plan crossing to the addon (packed: numbers, one NUL-ended text, ints,
// programs): what the child runs is what was planned, to the byte, and a
// string the child's C calls would cut short is refused before any clone.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnPlan, watchExit, type ExitStatus } from '../../src/native/addon.js';
import { STEP_OPS } from '../../src/plan/ops.js';
import type { SpawnPlan } from '../../src/plan/types.js';
import { addonPath } from '../../src/package.js';

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
    expect(() => spawnPlan(shell('exit 0', ['X=a\0b']), [0, 1, 2])).toThrow(/^sh: spawn: step exec: an exec argument or variable contains a NUL byte/);
    const plan = shell('exit 0', []);
    plan.steps[0] = { op: 'mkdir', path: `${dir}/a\0b`, mode: 0o755 };
    expect(() => spawnPlan(plan, [0, 1, 2])).toThrow(/step mkdir: b contains a NUL byte/);
  });
});

describe('the addon, given a packed plan that is not well formed', () => {
  // What packSteps never makes, fed to the addon directly: each must be a TypeError, never a crash of this process.
  const raw = createRequire(import.meta.url)(addonPath) as { spawn(plan: unknown): unknown };
  const EXEC = STEP_OPS.indexOf('exec');
  const SECCOMP = STEP_OPS.indexOf('seccomp');
  const plan = (numbers: number[], text: string, ints: number[] = []): unknown => ({
    name: 'bad', cloneFlags: 0, keepSignalsBlocked: false, stdio: [0, 1, 2],
    numbers: Float64Array.from(numbers), text, ints: Float64Array.from(ints), filters: [],
  });
  // exec with none of a, b, c, d, what; counts: ints, candidates, argv, envp.
  const exec = (counts: number[], text: string, ints: number[] = []): unknown => plan([EXEC, 0, 0, 0, 0, 0, ...counts], text, ints);

  it.each([
    ['a text shorter than its strings', exec([0, 1, 1, 0], '/bin/true\0'), /ends before its last string|out of range/],
    ['a count of -1', exec([0, -1, 0, 0], ''), /count of candidates out of range/],
    ['a count of 2^62', exec([0, 2 ** 62, 0, 0], ''), /count of candidates out of range/],
    ['a NaN count', exec([0, 0, NaN, 0], ''), /count of argv entries out of range/],
    ['more ints than there are', exec([3, 0, 0, 0], '', [1]), /count of ints out of range/],
    ['a string bit past the five', plan([EXEC, 0, 0, 0, 0, 32, 0, 0, 0, 0], ''), /strings present out of range/],
    ['a negative field', plan([EXEC, -1, 0, 0, 0, 0, 0, 0, 0, 0], ''), /n out of range/],
    ['an op past the table', plan([99, 0, 0, 0, 0, 0, 0, 0, 0, 0], ''), /unknown step op/],
    ['a seccomp step without its program', plan([SECCOMP, 0, 0, 0, 0, 0, 0, 0, 0, 0, EXEC, 0, 0, 0, 0, 0, 0, 1, 1, 0], '/bin/true\0true\0'), /seccomp step needs its program/],
  ])('%s: a TypeError', (_what, bad, message) => {
    expect(() => raw.spawn(bad)).toThrow(message);
  });
});
