// A pod made before runtime state moved to the state root, adopted by a
// daemon after an upgrade: its sandbox's files are found where that peapod
// put them (the data directory); every other pod keeps today's paths.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adoptedPodPaths, podPaths, type RuntimePaths } from '../../src/runtime/paths.js';

describe('adoptedPodPaths', () => {
  let dir: string;
  let paths: RuntimePaths;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-adopted-'));
    paths = { state: join(dir, 'run'), data: join(dir, 'lib'), images: join(dir, 'images') };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a pod of the old layout (etc/ in its data directory, none in its state's): /etc files, /dev/shm and roots' mount points there", () => {
    const pp = podPaths(paths, 'old');
    mkdirSync(join(pp.data, 'etc'), { recursive: true });
    mkdirSync(pp.state, { recursive: true });
    const old = adoptedPodPaths(pp);
    expect(old.shm).toBe(join(pp.data, 'shm'));
    expect(old.etc).toEqual({ hosts: join(pp.data, 'etc', 'hosts'), hostname: join(pp.data, 'etc', 'hostname'), resolvConf: join(pp.data, 'etc', 'resolv.conf') });
    const c = old.container('a');
    expect(c).toEqual({ ...pp.container('a'), run: join(pp.data, 'containers', 'a'), rootfs: join(pp.data, 'containers', 'a', 'rootfs') });
    // What was always on the data root stays where it is.
    expect([old.recordFile, old.log('a', 0), old.volume('v'), c.upper, c.terminationLog]).toEqual([pp.recordFile, pp.log('a', 0), pp.volume('v'), pp.container('a').upper, pp.container('a').terminationLog]);
  });

  it("today's pods (etc/ in the state directory), and one root for both, keep their paths", () => {
    const pp = podPaths(paths, 'new');
    mkdirSync(join(pp.state, 'etc'), { recursive: true });
    mkdirSync(join(pp.data, 'etc'), { recursive: true });
    expect(adoptedPodPaths(pp)).toBe(pp);
    const fresh = podPaths(paths, 'fresh');
    expect(adoptedPodPaths(fresh)).toBe(fresh);
    const one = podPaths({ state: dir, data: dir, images: dir }, 'one');
    mkdirSync(join(one.data, 'etc'), { recursive: true });
    expect(adoptedPodPaths(one)).toBe(one);
  });
});
