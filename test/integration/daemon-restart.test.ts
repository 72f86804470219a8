// The node daemon killed with SIGKILL while five pods run (issue 12): the
// pods outlive it, and the next daemon takes them over as the kubelet does
// after a restart. During the outage one container exits 3 and another pod
// is half-way through its termination; after the restart all five are
// listed, the exit code is there, the termination starts again with its
// whole grace period, a crash-looping container goes on restarting with its
// back-off, and nothing is left at the end.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifest, peapod, shPod } from './cli-harness.js';
import { daemonInfo, gatedPod, getPod, killDaemon, podPids, recordOf, runDetached } from './daemon-harness.js';
import { freshRootPerTest, isAlive, isRoot, type TestRoot, waitFor } from './helpers.js';

/** Times of the CRI log records whose text is `text`, in the order written. */
function logTimes(root: TestRoot, pod: string, text: string): number[] {
  try {
    return readFileSync(join(root.dir, 'pods', pod, 'logs', 'c', '0.log'), 'utf8')
      .split('\n')
      .filter((l) => l.endsWith(` ${text}`))
      .map((l) => Date.parse(l.split(' ')[0] as string));
  } catch {
    return [];
  }
}

describe.skipIf(!isRoot)('the node daemon killed while pods run', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('SIGKILL with 5 pods: all adopted, an exit 3 during the outage recorded, a termination resumed with its full 3 s, back-off going on, nothing leaked', async () => {
    const env = { PEAPOD_BACKOFF_BASE: '1' };
    const files = {
      calm: manifest(root, 'calm', shPod('calm', 'sleep 3600', '\n  restartPolicy: Never')),
      exiter: manifest(root, 'exiter', gatedPod('exiter', 'exit 3')),
      ender: manifest(root, 'ender', shPod('ender', 'trap "echo TERM" TERM; echo ready; while true; do sleep 0.1; done', '\n  terminationGracePeriodSeconds: 3')),
      crasher: manifest(root, 'crasher', shPod('crasher', 'sleep 0.3; exit 1')),
      quiet: manifest(root, 'quiet', shPod('quiet', 'while true; do sleep 1; done')),
    };
    for (const file of Object.values(files)) await runDetached(root, file, env);
    const first = daemonInfo(root);
    const pids = Object.fromEntries(Object.keys(files).map((n) => [n, podPids(root, n)]));
    // One daemon holds them all: no process per pod but pause and the containers.
    for (const name of Object.keys(files)) expect(recordOf(root, name).supervisor.pid).toBe(first.pid);
    await waitFor('ender to trap TERM', () => logTimes(root, 'ender', 'ready').length === 1, 5000);
    await waitFor('crasher to have restarted', () => JSON.parse(readFileSync(join(root.dir, 'pods', 'crasher', 'pod.json'), 'utf8')).status.containerStatuses[0].restartCount >= 1, 10_000);

    // ender is being deleted (grace 3 s) when the daemon dies, one second in.
    expect(await peapod(root, ['delete', 'pod', 'ender', '--wait=false'])).toMatchObject({ code: 0 });
    await waitFor('ender to get its TERM', () => logTimes(root, 'ender', 'TERM').length === 1, 5000);
    await new Promise((r) => setTimeout(r, 1000));
    await killDaemon(root);

    // Every pause and container outlives the daemon (crasher's container may be between two runs).
    for (const [name, list] of Object.entries(pids)) {
      const [pause, ...containers] = list as number[];
      expect(isAlive(pause as number), `${name}'s pause`).toBe(true);
      if (name !== 'crasher') for (const pid of containers) expect(isAlive(pid), `${name}'s containers`).toBe(true);
    }
    // During the outage exiter's container exits 3; no daemon is there to see it.
    writeFileSync(join(root.dir, 'pods', 'exiter', 'volumes', 'v', 'go'), '');
    const exiterPid = recordOf(root, 'exiter').containers.c!.pid;
    await waitFor('exiter to exit', () => !isAlive(exiterPid), 5000);

    // Any command starts the next daemon, which takes them all over.
    const list = await peapod(root, ['get', 'pods'], env);
    expect(list.code).toBe(0);
    const second = daemonInfo(root);
    expect(second.pid).not.toBe(first.pid);
    for (const name of Object.keys(files)) expect(list.stdout).toMatch(new RegExp(`^${name}\\s`, 'm'));
    expect(list.stdout).toMatch(/^ender\s+\S+\s+Terminating\s/m);
    for (const name of ['calm', 'exiter', 'quiet', 'crasher']) expect(recordOf(root, name).supervisor.pid).toBe(second.pid);
    // The same processes, adopted: nothing was started again.
    expect(recordOf(root, 'calm').sandbox.pid).toBe(pids.calm?.[0]);
    expect(isAlive(pids.calm?.[1] as number)).toBe(true);

    // The exit code the kernel gave only to the dead daemon's reaper.
    // (Its keeper keeps the pod running, so it stays to be looked at.)
    const exiter = await getPod(root, 'exiter', env);
    expect(exiter.status.containerStatuses.find((c) => c.name === 'c')?.state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(exiter.status.phase).toBe('Running');

    // ender: TERM again from the new daemon, then its whole grace period before the SIGKILL (not the 2 s it had left).
    await waitFor('ender to get its second TERM', () => logTimes(root, 'ender', 'TERM').length === 2, 10_000);
    const resent = logTimes(root, 'ender', 'TERM')[1] as number;
    const [enderPause, enderContainer] = pids.ender as [number, number];
    await waitFor('ender to be gone', () => !isAlive(enderContainer) && !isAlive(enderPause), 10_000);
    const took = (Date.now() - resent) / 1000;
    expect(took).toBeGreaterThanOrEqual(2.9);
    expect(took).toBeLessThan(6);
    await waitFor('ender deleted', () => !readFileSync('/proc/self/mounts', 'utf8').includes(join(root.dir, 'pods', 'ender')), 5000);
    expect((await peapod(root, ['get', 'pod', 'ender'])).stderr).toBe('Error from server (NotFound): pods "ender" not found\n');

    // crasher goes on restarting under the new daemon, back-off included.
    const before = (await getPod(root, 'crasher', env)).status.containerStatuses[0]?.restartCount ?? 0;
    await waitFor('crasher to restart again', () => JSON.parse(readFileSync(join(root.dir, 'pods', 'crasher', 'pod.json'), 'utf8')).status.containerStatuses[0].restartCount > before, 15_000);

    for (const name of ['calm', 'exiter', 'crasher', 'quiet']) {
      podPids(root, name);
      expect(await peapod(root, ['delete', 'pod', name, '--force'])).toMatchObject({ code: 0 });
    }
  }, 90_000);
});
