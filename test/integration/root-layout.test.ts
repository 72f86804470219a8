// Which of a pod's entries go in which root, with the roots apart as peapod's
// defaults put them (/run/peapod, a tmpfs on a host; /var/lib/peapod, disk):
// what each start makes again (the /etc files, /dev/shm's mount point, each
// container's root mount point) is runtime state; the data root holds only
// what keeps user data (writable layers, termination logs, logs, volumes).
// Each entry on disk costs 0.1-0.6 ms on this host's ext4 (bench/README.md).
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/image/store.js';
import { podPaths, type RuntimePaths } from '../../src/runtime/paths.js';
import { execIn, expectNothingLeft, isRoot, mountsUnder, pod, sh, waitFor, type TestRoot } from './helpers.js';
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
    expect([etc.mode, etc.uid, etc.gid, Math.trunc(etc.mtimeMs)]).toEqual([image.mode, image.uid, image.gid, Math.trunc(image.mtimeMs)]);
    expect(readdirSync(join(root.paths.state, 'mount-points', layers[0] as string, 'etc')).sort()).toEqual(['hostname', 'hosts', 'resolv.conf']);
    for (const c of ['a', 'b']) expect((await execIn(containerPid(s, c), ['cat', '/etc/hostname'])).stdout).toBe('apart\n');

    // Runtime state: the records, the pod's /etc files, /dev/shm (a tmpfs mounted there), the roots' mount points.
    const state = entries(pp.state).filter((e) => !/^shm\/./.test(e));
    for (const e of ['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'shm/', 'containers/a/rootfs/', 'containers/b/rootfs/', 'runtime.json']) expect(state).toContain(e);
    expect(mountsUnder(pp.state)).toEqual([pp.shm]);
    expect(mountsUnder(pp.data)).toEqual([]);

    await s.runtime.stop({ force: true });
  });
});
