// What the pod worker's unit tests share: a state root in a temp dir, an
// image that is only a directory with the programs a pod names, and a pod
// worker started on the fake runtime (fake-runtime.ts). No root needed.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { imageDir } from '../../src/image/store.js';
import { PodWorker, type PodOptions } from '../../src/kubelet/pod-worker.js';
import { prepareRoots, runtimePaths, type RuntimePaths } from '../../src/runtime/paths.js';
import type { Pod } from '../../src/manifest/types.js';
import { FakeRuntime } from './fake-runtime.js';

export function tempRoot(): { root: string; paths: RuntimePaths } {
  const root = mkdtempSync(join(tmpdir(), 'peapod-worker-'));
  // Its own image store: never the suite's shared one ($PEAPOD_IMAGES).
  const paths = runtimePaths({ root }, {});
  prepareRoots(paths);
  return { root, paths };
}

/** A fresh state root for each test of the calling suite, removed after it: read `.paths` in the test. */
export function tempRootPerTest(): { readonly paths: RuntimePaths } {
  let current: { root: string; paths: RuntimePaths } | undefined;
  beforeEach(() => {
    current = tempRoot();
  });
  afterEach(() => {
    if (current) rmSync(current.root, { recursive: true, force: true });
  });
  return {
    get paths(): RuntimePaths {
      if (!current) throw new Error('no state root outside a test');
      return current.paths;
    },
  };
}

/**
 * Directory images in the store (`<store>/NAME/rootfs` and its config.json,
 * peapod's hand-laid format: found, never pulled) for every image the pods
 * name, each with /bin/sh and every program their containers name. As far
 * as the worker and explain look, that is an image.
 */
export function fakeImages(paths: RuntimePaths, pods: readonly Pod[]): void {
  const programs = new Map<string, Set<string>>();
  const containers = pods.flatMap((p) => [...(p.spec.initContainers ?? []), ...p.spec.containers]);
  for (const ref of new Set(containers.map((c) => c.image))) programs.set(ref, new Set(['/bin/sh']));
  for (const c of containers) {
    // The image's entrypoint is empty: the command, else the first arg, is the program.
    const argv0 = c.command?.[0] ?? c.args?.[0];
    if (argv0) programs.get(c.image)?.add(argv0.startsWith('/') ? argv0 : `/bin/${argv0}`);
  }
  for (const [ref, files] of programs) {
    const dir = imageDir(paths.images, ref);
    for (const program of files) {
      const path = join(dir, 'rootfs', program);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, '');
      chmodSync(path, 0o755);
    }
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ entrypoint: [], cmd: ['sh'], env: ['PATH=/bin:/usr/bin:/sbin:/usr/sbin'], workingDir: '/' }));
  }
}

/** A pod worker on a fake runtime; `setUp` scripts the fake before the first call. */
export async function startOnFake(
  pod: Pod,
  paths: RuntimePaths,
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
      runtime: (runtimeOptions) => {
        fake = new FakeRuntime(runtimeOptions);
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
