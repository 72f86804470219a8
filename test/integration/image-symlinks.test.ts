// An image is not trusted: a symlink in it must never make the runtime
// create or mount anything on the host before pivot_root (the child builds
// the root on host paths until then).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/image/store.js';
import { execIn, freshRootPerTest, isRoot, pod, sh, type TestRoot } from './helpers.js';
import { start } from './pods.js';
import { waitForState } from './waits.js';

describe.skipIf(!isRoot)('hostile image symlinks (root, real kernel)', () => {
  let root: TestRoot;
  let store: string;
  let target: string;
  freshRootPerTest((r) => (root = r));
  beforeEach(() => {
    // An image "evil": busybox plus /data and /etc pointing at a host directory.
    store = mkdtempSync(join(tmpdir(), 'peapod-evil-store-'));
    target = mkdtempSync(join(tmpdir(), 'peapod-evil-target-'));
    const image = join(store, 'evil');
    mkdirSync(image);
    cpSync(resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox').rootfs, join(image, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(image, 'config.json'), JSON.stringify({ cmd: ['sh'], env: ['PATH=/bin'] }));
    symlinkSync(target, join(image, 'rootfs', 'data'));
    rmSync(join(image, 'rootfs', 'etc'), { recursive: true });
    symlinkSync(target, join(image, 'rootfs', 'etc'));
    root.paths = { ...root.paths, images: store };
  });
  afterEach(() => {
    rmSync(store, { recursive: true, force: true });
    rmSync(target, { recursive: true, force: true });
  });

  it('mounts under /data and /etc land inside the container, and nothing is created on the host', async () => {
    const s = await start(
      root,
      pod('evil', [{ ...sh('c', 'sleep 30'), image: 'evil', volumeMounts: [{ name: 'v', mountPath: '/data/created-on-host/sub' }] }], [{ name: 'v', emptyDir: {} }]),
    );
    const pid = s.runtime.containers.get('c')!.pid;
    expect(readdirSync(target)).toEqual([]);
    // Inside, the link resolves within the container's root: the volume is there.
    const inside = await execIn(pid, ['sh', '-c', `ls -d ${target}/created-on-host/sub && cat /etc/hostname`]);
    expect(inside.stdout).toBe(`${target}/created-on-host/sub\nevil\n`);
    await s.runtime.stop({ force: true });
    expect(readdirSync(target)).toEqual([]);
  });

  it('a symlink planted in a shared volume cannot aim a nested mount point at the host', async () => {
    // The init container plants /data/x -> a host directory in the shared
    // volume; the app mounts another volume at /data/x/y, inside it.
    const p = pod('planted', [sh('app', 'sleep 30', { volumeMounts: [{ name: 'v', mountPath: '/data' }, { name: 'w', mountPath: '/data/x/y' }] })], [
      { name: 'v', emptyDir: {} },
      { name: 'w', emptyDir: {} },
    ]);
    p.spec.restartPolicy = 'Always';
    p.spec.initContainers = [sh('plant', `ln -s ${target} /data/x`, { volumeMounts: [{ name: 'v', mountPath: '/data' }] })];
    const s = await start(root, p);
    const waiting = await waitForState(s.runtime, 'app', 'waiting', 'CreateContainerError', 15_000);
    expect(waiting.message).toMatch(/^app: open beneath \/data: x\/y: (EXDEV|ELOOP) .*mountPath \/data\/x\/y inside volume "v" leads out of the volume/);
    expect(readdirSync(target)).toEqual([]);
    await s.runtime.stop({ force: true });
    expect(readdirSync(target)).toEqual([]);
  });
});
