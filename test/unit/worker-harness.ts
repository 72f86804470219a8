// What the pod worker's unit tests share: a state root in a temp dir, an
// image that is only a directory with the programs a pod names, and a pod
// worker started on the fake runtime (fake-runtime.ts). No root needed.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Image } from '../../src/image/store.js';
import { PodWorker, type PodOptions } from '../../src/kubelet/pod-worker.js';
import { prepareRoots, runtimePaths, type RuntimePaths } from '../../src/runtime/paths.js';
import type { Pod } from '../../src/spec/types.js';
import { FakeRuntime } from './fake-runtime.js';

export function tempRoot(): { root: string; paths: RuntimePaths } {
  const root = mkdtempSync(join(tmpdir(), 'peapod-worker-'));
  const paths = runtimePaths({ root });
  prepareRoots(paths);
  return { root, paths };
}

/** An image whose root has /bin/sh and every program the pod's containers name (as far as the worker looks, that is an image). */
export function fakeImage(root: string, pods: readonly Pod[] = []): Image {
  const rootfs = join(root, 'image', 'rootfs');
  const programs = new Set(['/bin/sh']);
  for (const pod of pods) {
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      const argv0 = c.command?.[0];
      if (argv0) programs.add(argv0.startsWith('/') ? argv0 : `/bin/${argv0}`);
    }
  }
  for (const program of programs) {
    const path = join(rootfs, program);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
    chmodSync(path, 0o755);
  }
  return { ref: 'busybox', dir: join(root, 'image'), rootfs, config: { entrypoint: [], cmd: ['sh'], env: ['PATH=/bin:/usr/bin:/sbin:/usr/sbin'], workingDir: '/' } };
}

/** A pod worker on a fake runtime; `setUp` scripts the fake before the first call. */
export async function startOnFake(
  pod: Pod,
  paths: RuntimePaths,
  image: Image,
  options: Partial<PodOptions> = {},
  setUp?: (f: FakeRuntime) => void,
): Promise<{ worker: PodWorker; fake: FakeRuntime }> {
  let fake: FakeRuntime | undefined;
  const made = (): FakeRuntime => {
    if (!fake) throw new Error('the worker made no runtime');
    return fake;
  };
  try {
    const worker = await PodWorker.start(pod, {
      paths,
      cgroups: null,
      backoff: { baseSeconds: 0.05, capSeconds: 0.2, resetSeconds: 600 },
      network: { mode: 'none' },
      resolveImage: () => image,
      runtime: (runtimeOptions) => {
        fake = new FakeRuntime(runtimeOptions, () => image);
        setUp?.(fake);
        return fake;
      },
      ...options,
    });
    return { worker, fake: made() };
  } catch (err) {
    // A start that throws has rolled back: the test still wants to look at the fake.
    if (err instanceof Error) Object.assign(err, { fake });
    throw err;
  }
}

/** Waits until `cond` holds, turning the event loop (the worker reacts to exits on later turns). */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
