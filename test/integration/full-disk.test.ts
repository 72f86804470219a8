// A full state root (a 20 MiB tmpfs, filled by the pod itself or by the
// test): the supervisor keeps its status in memory and retries, the grace
// period holds, delete tells the truth, and a run that cannot start leaves
// nothing behind.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cgroupDirs, manifest, peapod, shPod } from './cli-harness.js';
import { freshRootPerTest, isAlive, isRoot, mountsUnder, runStops, stopDaemon, type TestRoot, waitFor } from './helpers.js';
import { runDetached } from './pods.js';
import { waitForFile } from './waits.js';

const full = (dir: string): boolean => statfsSync(dir).bavail === 0;

describe.skipIf(!isRoot)('a full state root', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));
  beforeEach(() => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m,mode=0755', 'tmpfs', root.dir]);
  });
  afterEach(async () => {
    // The pods are deleted here, while the tmpfs is there to check.
    await runStops(root);
    // The node daemon run -d started keeps its files on the tmpfs until it stops.
    await stopDaemon(root);
    // What the pods left on the tmpfs is checked before it goes (the shared check would see the empty directory under it).
    const pods = join(root.dir, 'pods');
    const left = existsSync(pods) ? readdirSync(pods) : [];
    const mounts = mountsUnder(root.dir).filter((m) => m !== root.dir);
    execFileSync('umount', [root.dir]);
    expect(left).toEqual([]);
    expect(mounts).toEqual([]);
  });

  it('a graceful delete on a full disk keeps its grace period, writes the status once there is room, and reports the truth', async () => {
    // It takes SIGTERM and goes on (so the grace period runs out); it marks
    // the TERM in the pod's /dev/shm, a tmpfs of its own that is not full.
    const script = "trap 'touch /dev/shm/term' TERM; until [ -e /v/go ]; do sleep 0.05; done; dd if=/dev/zero of=/v/fill bs=64k 2>/dev/null; while true; do sleep 0.1; done";
    const yaml = shPod('fill', script, '\n  terminationGracePeriodSeconds: 3\n  volumes: [{name: v, emptyDir: {}}]').replace('    command:', '    volumeMounts: [{name: v, mountPath: /v}]\n    command:');
    const { record, paths } = await runDetached(root, 'fill', yaml);
    const podDir = join(root.dir, 'pods', 'fill');
    // The pod's record is on disk: now the container fills it.
    writeFileSync(join(podDir, 'volumes', 'v', 'go'), '');
    await waitFor('the disk full', () => full(root.dir), 10_000);

    const t0 = Date.now();
    const deleted = peapod(root, ['delete', 'pod', 'fill']);
    // The grace period has begun on the full disk (the supervisor wrote the
    // Terminating status, and failed, as it sent the TERM): the supervisor
    // and the container must both outlive it.
    await waitForFile(join(paths.shm, 'term'), '', 10_000);
    expect(isAlive(record.supervisor.pid)).toBe(true);
    expect(isAlive(record.containers.c!.pid)).toBe(true);
    // Room again: the status kept in memory reaches the disk, with the event that says what failed.
    rmSync(join(podDir, 'volumes', 'v', 'fill'));
    await waitFor('the status written again', () => readFileSync(join(podDir, 'pod.json'), 'utf8').includes('deletionTimestamp'), 3000);
    expect(readFileSync(join(podDir, 'events.json'), 'utf8')).toMatch(/"reason": "FailedToWriteStatus",\s*"message": "cannot write .*ENOSPC/);
    const result = await deleted;
    const seconds = (Date.now() - t0) / 1000;
    expect(result).toMatchObject({ code: 0, stdout: 'pod "fill" deleted\n' });
    expect(seconds).toBeGreaterThanOrEqual(2.9);
    expect(seconds).toBeLessThan(10);
    expect(cgroupDirs(record.cgroups?.pod)).toEqual([]);
  }, 40_000);

  it('a run that finds no room fails naming the file, and leaves no claim behind', async () => {
    const file = manifest(root, 'fill', shPod('fill', 'true'));
    const filler = openSync(join(root.dir, 'filler'), 'w');
    const block = Buffer.alloc(1 << 16);
    try {
      for (;;) writeSync(filler, block);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(filler);
    }
    const run = await peapod(root, ['run', '-f', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/runtime\.json.*ENOSPC|ENOSPC.*runtime\.json/);
    const pods = join(root.dir, 'pods');
    expect(existsSync(pods) ? readdirSync(pods) : []).toEqual([]);
    rmSync(join(root.dir, 'filler'));
  }, 20_000);
});
