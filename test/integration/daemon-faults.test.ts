// Faults of the node daemon (issue 12, item 4), each on the real kernel:
// killed mid-start of a pod, killed as a container exits, its state files
// truncated or corrupt, two daemons started at once, its socket removed by
// hand, a record written by a newer peapod. Every test ends with nothing
// left (processes, mounts, cgroups, state).
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonPaths } from '../../src/node/daemon-paths.js';
import { cgroupDirs, manifest, peapod, shPod } from './cli-harness.js';
import { childrenOf, daemonInfo, foregroundDaemon, gatedPod, getPod, killDaemon, podPids, recordOf, runDetached } from './daemon-harness.js';
import { freshRootPerTest, isAlive, isRoot, type TestRoot, waitFor } from './helpers.js';

/** Every pid in the pod's cgroups (the kernel's word on what is left of it). */
function cgroupPids(podPath: string | undefined): number[] {
  return cgroupDirs(podPath).flatMap((dir) => {
    const pids: number[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
      pids.push(...readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    };
    try {
      walk(dir);
    } catch {
      // Removed meanwhile.
    }
    return pids;
  });
}

describe.skipIf(!isRoot)('faults of the node daemon', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('SIGKILLed the moment a pod’s pause is being made, 12 times: each pod either runs or is removed with a StartInterrupted event, nothing of it left', async () => {
    const file = manifest(root, 'p', shPod('p', 'sleep 3600'));
    let interrupted = 0;
    let caught = 0;
    let previous: string | undefined;
    for (let i = 0; i < 12; i++) {
      // The next daemon: it takes over (or removes) what the killed one left.
      const daemon = await foregroundDaemon(root);
      const pid = daemonInfo(root).pid;
      if (previous) {
        const p = await getPod(root, 'p');
        if (p.status.phase === 'Running') {
          for (const c of p.status.containerStatuses) expect(c.state.running, previous).toBeDefined();
          for (const q of podPids(root, 'p')) expect(isAlive(q)).toBe(true);
        } else {
          interrupted++;
          expect(p.status).toMatchObject({ phase: 'Failed', reason: 'StartInterrupted' });
          expect((await peapod(root, ['describe', 'pod', 'p'])).stdout).toMatch(/Warning\s+StartInterrupted\s.*stopped while it was starting the pod/);
        }
        expect(await peapod(root, ['delete', 'pod', 'p', '--force'])).toMatchObject({ code: 0 });
        expect(cgroupPids(previous)).toEqual([]);
        expect(cgroupDirs(previous)).toEqual([]);
      }
      // run -d, and the daemon killed as soon as pause's spawn child (a clone of it) exists.
      const run = peapod(root, ['run', '-d', '-f', file]);
      let child: number | undefined;
      for (const deadline = Date.now() + 10_000; child === undefined && Date.now() < deadline; ) child = childrenOf(pid)[0];
      await killDaemon(root);
      await run;
      await daemon.exited;
      if (child !== undefined) {
        root.pids.add(child);
        caught++;
      }
      previous = JSON.parse(readFileSync(join(root.dir, 'pods', 'p', 'runtime.json'), 'utf8')).cgroups?.pod;
      expect(previous).toBeDefined();
    }
    expect(caught).toBeGreaterThan(6);
    expect(interrupted).toBeGreaterThan(0);
    // The last one's leftovers, through the next daemon.
    const last = await foregroundDaemon(root);
    expect(await peapod(root, ['delete', 'pod', 'p', '--force'])).toMatchObject({ code: 0 });
    expect(cgroupPids(previous)).toEqual([]);
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
  }, 120_000);

  it('SIGKILLed as a container exits (0 to 50 ms after, 8 times): the exit code is never lost', async () => {
    const delays = [0, 0, 0, 0, 2, 5, 20, 50];
    for (const i of delays.keys()) await runDetached(root, manifest(root, `x${i}`, gatedPod(`x${i}`, 'exit 7')));
    for (const [i, ms] of delays.entries()) {
      const name = `x${i}`;
      podPids(root, name);
      const container = recordOf(root, name).containers.c!.pid;
      writeFileSync(join(root.dir, 'pods', name, 'volumes', 'v', 'go'), '');
      // Polled, not slept: the kill lands right around the exit, on either side of the daemon's reaping.
      for (const t = Date.now(); Date.now() - t < ms || isAlive(container); ) await new Promise((r) => setImmediate(r));
      await killDaemon(root);
      const pod = await getPod(root, name);
      expect(pod.status.containerStatuses.find((c) => c.name === 'c')?.state.terminated, `${name} (${ms} ms)`).toMatchObject({ exitCode: 7 });
    }
    for (const i of delays.keys()) expect(await peapod(root, ['delete', 'pod', `x${i}`, '--force'])).toMatchObject({ code: 0 });
  }, 60_000);

  it('SIGKILLed during a delete that waits: the delete says so, a new daemon ends the pod with its full grace period, and the delete returns when it is gone', async () => {
    await runDetached(root, manifest(root, 'slow', shPod('slow', 'trap "" TERM; while true; do sleep 0.1; done', '\n  terminationGracePeriodSeconds: 3')));
    const [pause, container] = podPids(root, 'slow') as [number, number];
    const deleting = peapod(root, ['delete', 'pod', 'slow']);
    await waitFor('slow terminating', () => readFileSync(join(root.dir, 'pods', 'slow', 'pod.json'), 'utf8').includes('deletionTimestamp'), 5000);
    const killed = await killDaemon(root);
    const t0 = Date.now();
    const result = await deleting;
    const seconds = (Date.now() - t0) / 1000;
    expect(result).toMatchObject({ code: 0, stdout: 'pod "slow" deleted\n' });
    expect(result.stderr).toContain('went away before it answered while pod "slow" was being deleted; a new daemon takes the pod over and ends it with its full grace period');
    expect(daemonInfo(root).pid).not.toBe(killed.pid);
    expect(seconds).toBeGreaterThanOrEqual(2.9);
    expect(seconds).toBeLessThan(8);
    expect(isAlive(pause) || isAlive(container)).toBe(false);
  }, 60_000);

  it('its reaper killed with it: the pods run on (under PID 1), and an exit nobody could record is ContainerStatusUnknown, 137', async () => {
    await runDetached(root, manifest(root, 'orphan', gatedPod('orphan', 'exit 5')));
    const [pause, container, keeper] = podPids(root, 'orphan') as [number, number, number];
    const info = daemonInfo(root);
    process.kill(info.reaper.pid, 'SIGKILL');
    await killDaemon(root);
    await waitFor('the reaper gone', () => !isAlive(info.reaper.pid), 5000);
    expect(isAlive(pause) && isAlive(container) && isAlive(keeper)).toBe(true);
    writeFileSync(join(root.dir, 'pods', 'orphan', 'volumes', 'v', 'go'), '');
    await waitFor('the container to end', () => !isAlive(container), 5000);
    const c = (await getPod(root, 'orphan')).status.containerStatuses.find((s) => s.name === 'c');
    expect(c?.state.terminated).toMatchObject({ exitCode: 137, reason: 'ContainerStatusUnknown' });
    expect(await peapod(root, ['delete', 'pod', 'orphan'])).toMatchObject({ code: 0 });
  }, 60_000);

  it('state files truncated or corrupt: each named in a clear error, the other pods adopted, and delete removes what is left', async () => {
    for (const name of ['a', 'b', 'c']) await runDetached(root, manifest(root, name, shPod(name, 'sleep 3600')));
    const pids = Object.fromEntries(['a', 'b', 'c'].map((n) => [n, podPids(root, n)]));
    const cgroups = Object.fromEntries(['a', 'b', 'c'].map((n) => [n, recordOf(root, n).cgroups?.pod]));
    await killDaemon(root);
    const recordB = join(root.dir, 'pods', 'b', 'runtime.json');
    truncateSync(recordB, Math.floor(readFileSync(recordB).length / 2));
    writeFileSync(join(root.dir, 'pods', 'c', 'runtime.json'), '{"garbage":');
    writeFileSync(join(root.dir, 'pods', 'a', 'events.json'), 'not json at all');

    const list = await peapod(root, ['get', 'pods']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^a\s+1\/1\s+Running\s/m);
    expect(list.stdout).toMatch(/^b\s+0\/1\s+RecordUnreadable\s/m);
    expect(list.stdout).toMatch(/^c\s+0\/1\s+RecordUnreadable\s/m);
    for (const name of ['b', 'c']) {
      const pod = await getPod(root, name);
      expect(pod.status.phase).toBe('Unknown');
      expect(pod.status.message).toContain(join(root.dir, 'pods', name, 'runtime.json'));
    }
    expect(readFileSync(daemonPaths(root.paths).log, 'utf8')).toMatch(/pod b not taken over: its record cannot be read \(.*pods\/b\/runtime\.json/);
    // Nothing was killed for a record it could not read.
    for (const name of ['a', 'b', 'c']) for (const pid of pids[name] ?? []) expect(isAlive(pid), name).toBe(true);
    expect(recordOf(root, 'a').supervisor.pid).toBe(daemonInfo(root).pid);

    for (const name of ['b', 'c', 'a']) expect(await peapod(root, ['delete', 'pod', name, '--force']), name).toMatchObject({ code: 0 });
    for (const name of ['a', 'b', 'c']) {
      await waitFor(`${name}'s processes gone`, () => (pids[name] ?? []).every((p) => !isAlive(p)), 5000);
      expect(cgroupDirs(cgroups[name])).toEqual([]);
    }
  }, 60_000);

  it('two daemons started at once for one root: one serves, the other exits 1 saying which one runs', async () => {
    const [one, two] = await Promise.all([foregroundDaemon(root), foregroundDaemon(root)]);
    const serving = [one, two].filter((d) => /serving /.test(d.output()));
    const refused = [one, two].filter((d) => !/serving /.test(d.output()));
    expect(serving).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(await refused[0]!.exited).toBe(1);
    const winner = daemonInfo(root).pid;
    // Said once: by `peapod daemon`, not again by the daemon it started on the same terminal.
    expect(refused[0]!.output().split(`peapod: another peapod daemon (pid ${winner}) already serves ${root.dir}`)).toHaveLength(2);
    serving[0]!.child.kill('SIGTERM');
    expect(await serving[0]!.exited).toBe(0);
  }, 60_000);

  it('its socket removed by hand: the next command says so and starts a daemon that adopts the pods (same processes)', async () => {
    await runDetached(root, manifest(root, 'p', shPod('p', 'sleep 3600')));
    const [pause, container] = podPids(root, 'p') as [number, number];
    const first = daemonInfo(root);
    rmSync(daemonPaths(root.paths).socket);
    const list = await peapod(root, ['get', 'pods']);
    expect(list.stderr).toContain(`the daemon (pid ${first.pid}) of ${root.dir} does not answer on ${daemonPaths(root.paths).socket} (the socket is gone: removed?); starting a new daemon, which takes its pods over`);
    expect(list.stdout).toMatch(/^p\s+1\/1\s+Running\s/m);
    const second = daemonInfo(root);
    expect(second.pid).not.toBe(first.pid);
    expect(isAlive(first.pid)).toBe(false);
    expect(recordOf(root, 'p').supervisor.pid).toBe(second.pid);
    expect(isAlive(pause) && isAlive(container)).toBe(true);
    expect(recordOf(root, 'p').sandbox.pid).toBe(pause);
    expect(await peapod(root, ['delete', 'pod', 'p'])).toMatchObject({ code: 0 });
  }, 60_000);

  it('a record of a newer peapod is refused clearly and left running; the same record at this version is adopted', async () => {
    await runDetached(root, manifest(root, 'p', shPod('p', 'sleep 3600')));
    const [pause, container] = podPids(root, 'p') as [number, number];
    const record = join(root.dir, 'pods', 'p', 'runtime.json');
    const version = (JSON.parse(readFileSync(record, 'utf8')) as { version: number }).version;
    expect(version).toBe(1);
    await killDaemon(root);
    const text = readFileSync(record, 'utf8');
    writeFileSync(record, text.replace('"version": 1,', '"version": 99,'));
    const pod = await getPod(root, 'p');
    expect(pod.status.phase).toBe('Unknown');
    expect(pod.status.message).toContain(`${record}: written by a newer peapod (record version 99; this peapod reads up to 1)`);
    expect(isAlive(pause) && isAlive(container)).toBe(true);
    expect(await peapod(root, ['daemon', '--stop'])).toMatchObject({ code: 0 });
    writeFileSync(record, text);
    expect((await getPod(root, 'p')).status.phase).toBe('Running');
    expect(recordOf(root, 'p').sandbox.pid).toBe(pause);
    expect(await peapod(root, ['delete', 'pod', 'p'])).toMatchObject({ code: 0 });
  }, 60_000);
});
