// What the node daemon keeps to take pods over, without root: the reapers'
// logs as the next daemon reads them, and the kubelet's checkpoint of a
// container (its attempts, states and back-off) as it is restored.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Backoff } from '../../src/kubelet/backoff.js';
import { ContainerState } from '../../src/kubelet/container-state.js';
import { appendExit, readReaperLog, ReaperLogs } from '../../src/node/reaper-logs.js';
import { processStartTime } from '../../src/runtime/proc.js';

describe('the reapers’ logs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-reapers-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads who wrote it and every exit by pid and start time; a torn or foreign line is skipped', () => {
    const log = join(dir, '1.log');
    writeFileSync(log, 'reaper 100 5000\n200 5001 exit 3\n201 5002 signal 9\ngarbage\n202 50');
    const read = readReaperLog(log);
    expect(read.reaper).toEqual({ pid: 100, startTime: 5000 });
    expect([...read.exits]).toEqual([
      ['200:5001', { code: 3 }],
      ['201:5002', { signal: 9 }],
    ]);
  });

  it('the same pid with another start time is another process: never matched', async () => {
    writeFileSync(join(dir, 'a.log'), 'reaper 1 1\n300 7000 exit 0\n');
    const logs = new ReaperLogs(dir, 50);
    expect(logs.find(300, 7000)).toEqual({ code: 0 });
    expect(logs.find(300, 7001)).toBeUndefined();
    expect(await logs.exitOf(300, 7001)).toBeUndefined();
  });

  it('waits for an exit its reaper has not written yet, in any reaper’s log, and for a line the daemon journals itself', async () => {
    const logs = new ReaperLogs(dir, 2000);
    writeFileSync(join(dir, 'b.log'), 'reaper 2 2\n');
    const pending = logs.exitOf(400, 8000);
    setTimeout(() => appendFileSync(join(dir, 'b.log'), '400 8000 signal 15\n'), 100);
    expect(await pending).toEqual({ signal: 15 });
    appendExit(join(dir, 'c.log'), 401, 8001, { code: 7 });
    expect(await logs.exitOf(401, 8001)).toEqual({ code: 7 });
  });

  it('prunes the logs of reapers that are gone, never the one it is told to keep or a live one’s', () => {
    writeFileSync(join(dir, 'dead.log'), 'reaper 999999999 1\n');
    writeFileSync(join(dir, 'mine.log'), 'reaper 999999998 1\n');
    writeFileSync(join(dir, 'live.log'), `reaper ${process.pid} ${processStartTime(process.pid)}\n`);
    new ReaperLogs(dir).prune(join(dir, 'mine.log'));
    expect(new ReaperLogs(dir).logs().map((l) => l.path.slice(dir.length + 1)).sort()).toEqual(['live.log', 'mine.log']);
  });
});

describe('the kubelet’s checkpoint of a container', () => {
  const backoff = { baseSeconds: 10, capSeconds: 300, resetSeconds: 600 };

  it('round-trips its attempts, states, pending restart and back-off, so the next daemon goes on where the last stopped', () => {
    const before = new ContainerState({ name: 'c', image: 'busybox' }, false, backoff);
    before.recordStart('a1', 11, new Date('2026-11-30T10:00:00Z'));
    before.running = false;
    before.obs.current = { ...before.obs.current!, finishedAt: '2026-11-30T10:00:01Z', exitCode: 1 };
    before.backoff.next(1);
    before.backoff.next(1);
    before.restartAt = 1_800_000_000_000;
    const cp = JSON.parse(JSON.stringify(before.checkpoint()));
    const after = new ContainerState({ name: 'c', image: 'busybox' }, false, backoff);
    after.restore(cp);
    expect(after.status()).toEqual(before.status());
    expect(after).toMatchObject({ id: 'a1', attempts: 1, restartAt: 1_800_000_000_000, running: false });
    // The third restart's delay, as the back-off before the restart would have given it.
    expect(after.backoff.next(1)).toBe(new Backoff(backoff).next(0) + 20);
    after.recordStart('a2', 12, new Date());
    expect(after.obs.restartCount).toBe(1);
    expect(after.status().lastState.terminated).toMatchObject({ exitCode: 1 });
  });
});
