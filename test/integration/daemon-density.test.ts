// 100 detached pods on one node daemon (issue 12, item 3): what exists
// because of each pod (its pause, any helper, the daemon's growth), resident,
// on average at most 1 MiB; no process per pod beyond pause and the
// container; one reaper for all. The pods are handed to the daemon over its
// socket, as `run -d` does, without a CLI process each.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ask } from '../../src/node/daemon-client.js';
import { daemonPaths } from '../../src/node/daemon-paths.js';
import { childrenOf, daemonInfo, foregroundDaemon } from './daemon-harness.js';
import { freshRootPerTest, isAlive, isRoot, pod, type TestRoot, waitFor } from './helpers.js';

const N = 100;

/** VmRSS of a process, in KiB. */
function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

describe.skipIf(!isRoot)('100 detached pods on one daemon', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it(`${N} pods: at most 1 MiB resident per pod for pause, helpers and the daemon's growth together; 2 processes per pod`, async () => {
    const daemon = await foregroundDaemon(root);
    const info = daemonInfo(root);
    const socket = daemonPaths(root.paths).socket;
    // One pod first, so that what every pod pays for once (the image read, the code paths run) is not counted.
    const warm = await ask(socket, { op: 'run', pod: pod('warm', [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }]), settings: {} });
    expect(warm).toMatchObject({ ok: true });
    const before = rssKiB(info.pid);
    const t0 = Date.now();
    for (let i = 0; i < N; i++) {
      const reply = await ask(socket, { op: 'run', pod: pod(`d${i}`, [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }]), settings: {} });
      expect(reply, `d${i}`).toMatchObject({ ok: true });
    }
    const perPodMs = (Date.now() - t0) / N;
    const children = childrenOf(info.pid);
    for (const pid of children) root.pids.add(pid);
    const pauses = children.filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pause');
    // pause and the container of every pod, the daemon's children; nothing else runs for them.
    expect(children).toHaveLength(2 * (N + 1));
    expect(pauses).toHaveLength(N + 1);
    expect(childrenOf(info.reaper.pid)).toEqual([info.pid]);
    const growth = rssKiB(info.pid) - before;
    const pauseTotal = pauses.reduce((sum, pid) => sum + rssKiB(pid), 0);
    const reaper = rssKiB(info.reaper.pid);
    const perPod = (growth + (pauseTotal * N) / (N + 1) + reaper) / N;
    process.stdout.write(
      `density: ${N} pods, ${perPodMs.toFixed(1)} ms each; per pod ${perPod.toFixed(0)} KiB resident (daemon growth ${(growth / N).toFixed(0)} KiB, pause ${(pauseTotal / (N + 1)).toFixed(0)} KiB, the reaper ${reaper} KiB for all)\n`,
    );
    expect(perPod).toBeLessThanOrEqual(1024);

    // Deleted all at once, as a user deleting them from many terminals would.
    const names = ['warm', ...Array.from({ length: N }, (_, i) => `d${i}`)];
    const deleted = await Promise.all(names.map((name) => ask(socket, { op: 'delete', name, force: true, wait: true }, (r) => 'accepted' in r)));
    for (const reply of deleted) expect(reply).toMatchObject({ done: true });
    await waitFor('every pod process gone', () => children.every((pid) => !isAlive(pid)), 20_000);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 180_000);
});
