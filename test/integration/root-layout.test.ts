// Which of a pod's entries go in which root, with the roots apart as peapod's
// defaults put them (/run/peapod, a tmpfs on a host; /var/lib/peapod, disk):
// what each start makes again (the /etc files, /dev/shm's mount point, each
// container's root mount point) is runtime state; the data root holds only
// what keeps user data (writable layers, termination logs, logs, volumes).
// Each entry on disk costs 0.1-0.6 ms on this host's ext4 (bench/README.md).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/image/store.js';
import { podPaths, type RuntimePaths } from '../../src/runtime/paths.js';
import type { PodRecord } from '../../src/node/state.js';
import { bin } from './cli-harness.js';
import { execIn, expectNothingLeft, isAlive, isRoot, mountsUnder, pod, sh, waitFor, type TestRoot } from './helpers.js';
import { containerPid, start } from './pods.js';

/** Every entry below `dir`, as paths relative to it (directories end in /). */
function entries(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const isDir = statSync(path).isDirectory();
      out.push(`${relative(dir, path)}${isDir ? '/' : ''}`);
      if (isDir) walk(path);
    }
  };
  walk(dir);
  return out.sort();
}

/** The top layer of the busybox image that has an etc/ (whose attributes its containers see). */
function imageEtcLayer(): string {
  const image = resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox');
  const layer = (image.layers ?? [image.rootfs]).find((l) => existsSync(join(l, 'etc')));
  if (!layer) throw new Error('the busybox image has no /etc');
  return layer;
}

describe.skipIf(!isRoot)('the state root and the data root apart', () => {
  let root: TestRoot;
  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), 'peapod-test-'));
    const paths: RuntimePaths = { state: join(dir, 'run'), data: join(dir, 'lib'), images: process.env.PEAPOD_IMAGES as string };
    root = { dir, paths, pids: new Set(), runtimes: [], stops: [], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  });
  afterEach(async () => {
    try {
      await expectNothingLeft(root);
      for (const dir of [root.paths.state, root.paths.data]) expect(readdirSync(join(dir, 'pods'))).toEqual([]);
    } finally {
      root.cleanup();
    }
  });

  it("a 2-container pod's runtime state is in the state root; on disk only its layers, termination logs and logs", async () => {
    const s = await start(root, pod('apart', [sh('a', 'echo up; exec sleep 1000'), sh('b', 'echo up; exec sleep 1000')]));
    await waitFor('both containers to print', () => ['a', 'b'].every((c) => s.lines(c).includes('up')), 10_000);
    const pp = podPaths(root.paths, 'apart');

    // On disk: per container its directory, writable layer (empty: the mount points of /etc are in a
    // shared read-only layer, not copied up), overlay work directory and termination log, and its log.
    const data = entries(pp.data).filter((e) => !/^containers\/[ab]\/work\/./.test(e));
    expect(data).toEqual([
      'containers/',
      'containers/a/',
      'containers/a/termination-log',
      'containers/a/upper/',
      'containers/a/work/',
      'containers/b/',
      'containers/b/termination-log',
      'containers/b/upper/',
      'containers/b/work/',
      'logs/',
      'logs/a/',
      'logs/a/0.log',
      'logs/b/',
      'logs/b/0.log',
    ]);

    // The mount-point layer: one for the image, kept in the state root, its /etc as the image's.
    const layers = readdirSync(join(root.paths.state, 'mount-points'));
    expect(layers).toHaveLength(1);
    const etc = statSync(join(root.paths.state, 'mount-points', layers[0] as string, 'etc'));
    const image = statSync(join(imageEtcLayer(), 'etc'));
    expect([etc.mode, etc.uid, etc.gid]).toEqual([image.mode, image.uid, image.gid]);
    // The image's mtime cut to the millisecond (a layer's name holds it so), against a stat whose double may round it up.
    expect(Math.abs(etc.mtimeMs - image.mtimeMs)).toBeLessThanOrEqual(1);
    expect(readdirSync(join(root.paths.state, 'mount-points', layers[0] as string, 'etc')).sort()).toEqual(['hostname', 'hosts', 'resolv.conf']);
    for (const c of ['a', 'b']) expect((await execIn(containerPid(s, c), ['cat', '/etc/hostname'])).stdout).toBe('apart\n');

    // Runtime state: the records, the pod's /etc files, /dev/shm (a tmpfs mounted there), the roots' mount points.
    const state = entries(pp.state).filter((e) => !/^shm\/./.test(e));
    for (const e of ['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'shm/', 'containers/a/rootfs/', 'containers/b/rootfs/', 'runtime.json']) expect(state).toContain(e);
    expect(mountsUnder(pp.state)).toEqual([pp.shm]);
    expect(mountsUnder(pp.data)).toEqual([]);

    await s.runtime.stop({ force: true });
  });

  it("a daemon's pod of the layout before (its /etc files, /dev/shm and root's mount point in its data directory), adopted by a daemon of now: its container restarts onto the same /dev/shm", async () => {
    const env = { ...process.env, PEAPOD_STATE_ROOT: root.paths.state, PEAPOD_DATA_ROOT: root.paths.data, PEAPOD_BACKOFF_BASE: '1' };
    const cli = (args: string[]): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        for (const s of [child.stdout, child.stderr]) s.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
    const file = join(root.dir, 'legacy.yaml');
    // Each run counts the runs the pod's /dev/shm has seen.
    writeFileSync(file, `{apiVersion: v1, kind: Pod, metadata: {name: legacy}, spec: {containers: [{name: c, image: busybox, command: [sh, -c, 'echo run >> /dev/shm/runs; echo "runs $(wc -l < /dev/shm/runs)"; sleep 0.5; exit 1']}]}}`);
    root.stops.push(async () => void (await cli(['delete', 'pod', 'legacy', '--force'])));
    expect(await cli(['run', '-d', '-f', file])).toMatchObject({ code: 0 });
    const pp = podPaths(root.paths, 'legacy');
    const record = (): PodRecord => JSON.parse(readFileSync(pp.recordFile, 'utf8')) as PodRecord;
    const logs = (): string => (existsSync(join(pp.data, 'logs', 'c')) ? readdirSync(join(pp.data, 'logs', 'c')).map((f) => readFileSync(join(pp.data, 'logs', 'c', f), 'utf8')).join('') : '');
    await waitFor('the first run', () => logs().includes('runs 1'), 10_000);
    const daemon = record().supervisor.pid;
    root.pids.add(record().sandbox?.pid ?? 0);
    // Its reaper too: it ends once the pod below it is gone.
    root.pids.add((JSON.parse(readFileSync(join(root.paths.state, 'daemon', 'daemon.json'), 'utf8')) as { reaper: { pid: number } }).reaper.pid);
    process.kill(daemon, 'SIGKILL');
    await waitFor('the daemon to be gone', () => !isAlive(daemon), 5000);

    // The layout of the peapod before: moved while no daemon runs (the running container's own mounts do not change).
    const old = join(pp.data, 'containers', 'c', 'rootfs');
    renameSync(join(pp.state, 'etc'), join(pp.data, 'etc'));
    mkdirSync(join(pp.data, 'shm'));
    execFileSync('mount', ['--move', pp.shm, join(pp.data, 'shm')]);
    rmdirSync(pp.shm);
    renameSync(pp.container('c').rootfs, old);
    rmSync(join(pp.state, 'containers'), { recursive: true });

    // A command starts the next daemon, which adopts the pod; the container goes on restarting, on the pod's /dev/shm.
    expect(await cli(['get', 'pods'])).toMatchObject({ code: 0 });
    await waitFor('a run under the new daemon, on the same /dev/shm', () => /runs [3-9]/.test(logs()), 15_000);
    expect(logs()).not.toContain('CreateContainerError');
    expect(existsSync(pp.shm)).toBe(false);
    root.pids.add(record().sandbox?.pid ?? 0);
    expect(await cli(['delete', 'pod', 'legacy', '--force'])).toMatchObject({ code: 0 });
  }, 40_000);
});

