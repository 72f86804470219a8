// `explain -f X` shows what `run -f X` does: for every manifest in
// examples/ and every good fixture, the requests explain plans from (the
// CRI's PodSandboxConfig and each ContainerConfig) are the very requests the
// pod worker sends its runtime when it runs the pod, and explain's plans are
// the runtime's planners applied to them. The runtime here is the fake
// (nothing runs); the worker is the real one. Where explain cannot plan a
// process, run must refuse the pod.
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { explainPod, PAUSE_PID } from '../../src/node/explain.js';
import type { NetworkOptions } from '../../src/network/options.js';
import type { SpawnPlan } from '../../src/plan/types.js';
import type { ContainerConfig, PodSandboxConfig } from '../../src/runtime/api.js';
import type { RuntimePaths } from '../../src/runtime/paths.js';
import { readPodFile } from '../../src/manifest/read.js';
import type { Pod } from '../../src/manifest/types.js';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import type { FakeRuntime } from './fake-runtime.js';
import { fakeImages, startOnFake, tempRoot, until } from './worker-harness.js';

const manifests = [
  ...readdirSync('examples').map((f) => join('examples', f)),
  ...readdirSync('test/fixtures/manifests/good')
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => join('test/fixtures/manifests/good', f)),
].filter((f) => /\.(ya?ml|json)$/.test(f));

let root: string;
let paths: RuntimePaths;

beforeEach(() => {
  ({ root, paths } = tempRoot());
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The pod with a known uid, images of the test's, and its hostPaths moved under the test's directory (made as their type asks to find them). */
function onThisHost(pod: Pod): Pod {
  const copy = structuredClone(pod);
  copy.metadata.uid = '6b1b6a4e-0000-4000-8000-000000000001';
  // Images by names of the test's own (directory images in its store): never the built-in busybox, never a pull.
  for (const c of [...(copy.spec.initContainers ?? []), ...copy.spec.containers]) c.image = `unit.test/${c.image.replace(/[^a-z0-9]+/g, '-')}:1`;
  for (const v of copy.spec.volumes ?? []) {
    if (!v.hostPath) continue;
    const path = join(root, 'host', v.hostPath.path);
    v.hostPath.path = path;
    const type = v.hostPath.type ?? '';
    if (type === 'File') {
      mkdirSync(join(path, '..'), { recursive: true });
      closeSync(openSync(path, 'a'));
    } else if (type === '' || type === 'Directory') {
      mkdirSync(path, { recursive: true });
    }
  }
  return copy;
}

/** The network settings both are given: no CNI, a resolver of the test's. */
function network(): NetworkOptions {
  const resolvConf = join(root, 'resolv.conf');
  writeFileSync(resolvConf, 'nameserver 192.0.2.53\nsearch example.test\n');
  return { mode: 'none', confDir: join(root, 'cni'), pluginDirs: [], clusterDNS: [], clusterDomain: 'cluster.local', resolvConf };
}

interface RunRequests {
  sandbox: PodSandboxConfig;
  containers: Map<string, ContainerConfig>;
  /** The plans, with pause's pid written as explain writes it. */
  plans: Map<string, SpawnPlan>;
}

const created = (f: FakeRuntime): Map<string, ContainerConfig> =>
  new Map(f.requests.flatMap((r) => ('container' in r ? [[r.container.metadata.name, r.container] as const] : [])));

/** Runs the pod on the fake until every container has been asked for once (init containers succeed in turn). */
async function runOnFake(pod: Pod, net: NetworkOptions): Promise<{ worker: PodWorker; fake: FakeRuntime }> {
  const { worker, fake } = await startOnFake(pod, paths, { network: net });
  for (const c of pod.spec.initContainers ?? []) {
    await until(() => created(fake).has(c.name), `init container ${c.name}`);
    fake.exit(c.name, 0);
  }
  await until(() => pod.spec.containers.every((c) => created(fake).has(c.name)), 'every app container');
  return { worker, fake };
}

/** What the worker asked for, and the plans the runtime's planners made of it. */
async function requestsOfRun(pod: Pod, net: NetworkOptions): Promise<RunRequests> {
  const { worker, fake } = await runOnFake(pod, net);
  await worker.stop({ force: true });
  const sandbox = fake.requests.find((r) => 'sandbox' in r);
  if (!sandbox || !('sandbox' in sandbox)) throw new Error('no RunPodSandbox');
  const pausePid = worker.sandbox.pid;
  const plans = new Map(fake.plans.map((p) => [p.name, JSON.parse(JSON.stringify(p.plan).split(`/proc/${pausePid}/`).join(`/proc/${PAUSE_PID}/`)) as SpawnPlan]));
  return { sandbox: sandbox.sandbox, containers: created(fake), plans };
}

describe('explain shows what run does', () => {
  const pods = manifests.flatMap((file) => readPodFile(file).pods.map((pod) => [`${file}: ${pod.metadata.name}`, pod] as const));

  it('covers every example and good fixture', () => {
    expect(manifests).toContain('examples/two-containers.yaml');
    expect(pods.length).toBeGreaterThanOrEqual(manifests.length);
  });

  it.each(pods)('%s', async (_name, original) => {
    const pod = onThisHost(original);
    const net = network();
    fakeImages(paths, [pod]);
    const explained = explainPod(pod, { paths, network: net, cgroups: null });
    const refused = explained.processes.filter((p) => p.error !== undefined);
    const first = refused[0];
    if (first) {
      // explain says run would refuse it: the pod's first start throws, or (a container
      // started later, after init containers) it waits in CreateContainerError, with the same reason.
      const why = first.error as string;
      const started = await runOnFake(pod, net).catch((err: Error) => err);
      if (started instanceof Error) {
        expect(started.message).toContain(why);
        return;
      }
      const state = started.worker.containers.get(first.name);
      await until(() => state?.obs.waiting?.reason === 'CreateContainerError', `${first.name} in CreateContainerError`);
      expect(state?.obs.waiting?.message).toContain(why);
      await started.worker.stop({ force: true });
      return;
    }
    const run = await requestsOfRun(pod, net);
    const [sandbox, ...containers] = explained.processes;
    expect(sandbox?.request).toEqual(run.sandbox);
    expect(sandbox?.plan).toEqual(run.plans.get('pause'));
    expect(containers.map((p) => p.name)).toEqual([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name));
    for (const p of containers) {
      expect(p.request, `the request for container ${p.name}`).toEqual(run.containers.get(p.name));
      expect(p.plan, `the plan of container ${p.name}`).toEqual(run.plans.get(p.name));
    }
  });
});
