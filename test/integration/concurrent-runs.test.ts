// Many peapod processes on one root at once: a name claimed by one is never
// taken from it by another's reclaim, and the losers of a race for one name
// are told it exists.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processStartTime } from '../../src/runtime/proc.js';
import { manifest, peapod, shPod, trackRecord } from './cli-harness.js';
import { freshRootPerTest, isRoot, type TestRoot } from './helpers.js';

describe.skipIf(!isRoot)('concurrent runs on one root', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('a claim whose maker runs survives another run’s reclaim; one whose maker is dead goes', async () => {
    const pods = join(root.dir, 'pods');
    // A claim as a peapod makes it, caught before its record is written: named after its maker.
    const live = join(pods, `.claim-${process.pid}-${processStartTime(process.pid)}-a1b2c3`);
    const gone = spawn('true');
    await new Promise((resolve) => gone.on('exit', resolve));
    const orphan = join(pods, `.claim-${gone.pid}-1-d4e5f6`);
    mkdirSync(live, { recursive: true });
    mkdirSync(orphan);
    expect(await peapod(root, ['run', '-f', manifest(root, 'other', shPod('other', 'true', '\n  restartPolicy: Never'))])).toMatchObject({ code: 0 });
    expect(readdirSync(pods)).toEqual([live.slice(pods.length + 1)]);
    rmSync(live, { recursive: true });
  }, 20_000);

  it('20 run -d at once: every distinct name starts, and of six runs of one name one wins and five are told it exists', async () => {
    const names = Array.from({ length: 14 }, (_, i) => `p${i}`);
    const files = new Map([...names, 'dup'].map((n) => [n, manifest(root, n, shPod(n, 'sleep 600'))]));
    const runs = [...names, 'dup', 'dup', 'dup', 'dup', 'dup', 'dup'].map((n) => peapod(root, ['run', '-d', '-f', files.get(n) as string]).then((r) => ({ n, ...r })));
    const results = await Promise.all(runs);
    const started = [...new Set(results.filter((r) => r.code === 0).map((r) => r.n))];
    for (const n of started) trackRecord(root, n);
    try {
      for (const r of results.filter((x) => x.n !== 'dup')) expect(r).toMatchObject({ code: 0, stderr: '', stdout: `pod/${r.n}\n` });
      const dup = results.filter((r) => r.n === 'dup');
      expect(dup.filter((r) => r.code === 0)).toHaveLength(1);
      for (const r of dup.filter((x) => x.code !== 0)) expect(r.stderr).toMatch(/^peapod: pod "dup" already exists under .* \(supervised by pid \d+\); delete it first/);
    } finally {
      expect(await peapod(root, ['delete', 'pod', ...started, '--force'])).toMatchObject({ code: 0 });
    }
  }, 60_000);
});
