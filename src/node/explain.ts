// A pod as the list of system calls that would make it, without root and
// without running anything (`peapod explain`, and the steps `peapod ui`
// shows). It goes the way `run` goes, through the same functions: the
// kubelet's translation (podContext, sandboxConfig, containerConfig, with
// the volumes and DNS described as the pod worker would make them), then
// the runtime's planners (planSandbox, planContainer) with the cgroups the
// runtime would make. What only a running pod knows is a placeholder:
// <pause pid>, <pod uid>, and `<image NAME>/rootfs` for an image that is
// not in the store yet. test/unit/explain-is-run.test.ts holds it to that.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFromSimple } from '../image/config.js';
import { findLocalImage, isBuiltinName, type Image } from '../image/store.js';
import { containerConfig, imageFacts, podContext, podDnsConfig, sandboxConfig, type ImageFacts } from '../kubelet/container-config.js';
import type { PreparedVolume } from '../kubelet/types.js';
import { describeVolumes } from '../kubelet/volumes.js';
import { networkOptionsFromEnv, type NetworkOptions } from '../network/options.js';
import { packageRoot, pauseBinary as defaultPauseBinary } from '../package.js';
import { PAUSE_PID } from '../plan/describe.js';
import type { FsView } from '../plan/scoped-path.js';
import type { SpawnPlan } from '../plan/types.js';
import type { ContainerConfig, PodSandboxConfig } from '../runtime/api.js';
import { detectDriver } from '../runtime/cgroups/detect.js';
import { containerCgroupPath, pauseCgroupPath } from '../runtime/cgroups/layout.js';
import type { CgroupDriver } from '../runtime/cgroups/types.js';
import { planContainer } from '../runtime/container.js';
import { podPaths, type RuntimePaths } from '../runtime/paths.js';
import { planSandbox, sandboxFacts } from '../runtime/sandbox.js';
import type { Pod } from '../manifest/index.js';

export { PAUSE_PID };

/**
 * Stands for pause's pid while building plans: above PID_MAX_LIMIT (2^22),
 * so no real process has it; every `/proc/4194305/` becomes `/proc/<pause pid>/`.
 */
const PAUSE_PID_SENTINEL = 4194305;
const POD_UID = '<pod uid>';

/** A filesystem with nothing in it: for an image that is not in the store. */
const emptyFs: FsView = { readlink: () => null, exists: () => false, isFile: () => false };

export interface ExplainedProcess {
  role: 'sandbox' | 'init' | 'container';
  name: string;
  image?: { ref: string; rootfs: string; inStore: boolean };
  /** What the kubelet's half asks the runtime for (the CRI's PodSandboxConfig or ContainerConfig). */
  request?: PodSandboxConfig | ContainerConfig;
  plan?: SpawnPlan;
  /** Why no plan could be made (what `peapod run` would refuse). */
  error?: string;
}

export interface PodExplanation {
  apiVersion: 'peapod/v1alpha1';
  kind: 'PodPlan';
  metadata: { name: string };
  stateRoot: RuntimePaths;
  placeholders: Record<string, string>;
  notes: string[];
  processes: ExplainedProcess[];
}

interface FoundImage {
  image: Pick<Image, 'ref' | 'rootfs' | 'config'> & Partial<Pick<Image, 'id' | 'layers' | 'links'>>;
  inStore: boolean;
  /** What the kubelet sends of an image that is here (its ID): the request names it so. */
  facts?: ImageFacts;
  fs: FsView;
  note?: string;
}

/** The image as the runtime would find it, never building or pulling it. */
function findImage(store: string, ref: string): FoundImage {
  const present = findLocalImage(store, ref);
  if (present) return { image: present, inStore: true, fs: present.fs, facts: imageFacts(present) };
  const rootfs = `<image ${ref}>/rootfs`;
  if (isBuiltinName(ref)) {
    return {
      image: { ref, rootfs, config: configFromSimple(JSON.parse(readFileSync(join(packageRoot, 'rootfs', 'busybox', 'config.json'), 'utf8'))) },
      inStore: false,
      fs: emptyFs,
      note: `image "${ref}" is not built yet in ${store} (peapod builds it on first run); its config is rootfs/busybox/config.json`,
    };
  }
  return {
    image: { ref, rootfs, config: { entrypoint: [], cmd: [], env: [], workingDir: '/' } },
    inStore: false,
    fs: emptyFs,
    note: `image "${ref}" is not in ${store}: \`peapod run\` pulls it first (peapod pull ${ref}); planned with an empty image config`,
  };
}

/** Every string in the plan with the pause pid sentinel written as its placeholder. */
function withPlaceholders<T>(value: T): T {
  const sentinel = `/proc/${PAUSE_PID_SENTINEL}/`;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.split(sentinel).join(`/proc/${PAUSE_PID}/`);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

export interface ExplainOptions {
  paths: RuntimePaths;
  pauseBinary?: string;
  /** The pod network's DNS settings (default: PEAPOD_NETWORK, PEAPOD_CLUSTER_*, as `run` reads them). */
  network?: NetworkOptions;
  /** The cgroup driver (default: the host's, detected read-only; null: none). */
  cgroups?: CgroupDriver | null;
}

/**
 * The pod as `run` makes it: the kubelet's requests (container-config.ts),
 * then the runtime's plans from them (planSandbox, planContainer), with
 * what only a running pod knows written as placeholders.
 */
export function explainPod(pod: Pod, options: ExplainOptions): PodExplanation {
  const pp = podPaths(options.paths, pod.metadata.name);
  const pauseBinary = options.pauseBinary ?? defaultPauseBinary;
  const driver = options.cgroups === undefined ? detectDriver() : options.cgroups;
  const notes: string[] = [];
  const processes: ExplainedProcess[] = [];
  let volumes: Map<string, PreparedVolume> | undefined;
  let volumeError: string | undefined;
  try {
    volumes = describeVolumes(pod.spec.volumes ?? [], (v) => pp.volume(v));
  } catch (err) {
    volumeError = (err as Error).message;
  }
  const dns = podDnsConfig(pod, options.network ?? networkOptionsFromEnv());
  for (const w of dns.warnings) notes.push(`${w.reason}: ${w.message}`);
  const ctx = podContext(pod, { uid: pod.metadata.uid ?? POD_UID, paths: pp, volumes: volumes ?? new Map(), dns: dns.settings });

  const sandbox = sandboxConfig(ctx, 0);
  try {
    const procs = driver?.open(pauseCgroupPath(sandbox)).procsFiles ?? [];
    processes.push({ role: 'sandbox', name: 'pause', request: sandbox, plan: planSandbox(sandbox, pauseBinary, procs) });
  } catch (err) {
    processes.push({ role: 'sandbox', name: 'pause', request: sandbox, error: (err as Error).message });
  }

  const images = new Map<string, FoundImage>();
  const containers = [
    ...(pod.spec.initContainers ?? []).map((c) => ({ c, role: 'init' as const })),
    ...pod.spec.containers.map((c) => ({ c, role: 'container' as const })),
  ];
  for (const { c, role } of containers) {
    let found: FoundImage | undefined;
    let request: ContainerConfig | undefined;
    try {
      found = images.get(c.image) ?? findImage(options.paths.images, c.image);
      if (!images.has(c.image) && found.note) notes.push(found.note);
      images.set(c.image, found);
      if (!volumes) throw new Error(volumeError);
      request = containerConfig(ctx, c, 0, found.facts);
      const { plan } = planContainer({
        config: request,
        image: found.image,
        sandbox: sandboxFacts(pp, ctx.hostname, PAUSE_PID_SENTINEL),
        dirs: pp.container(c.name),
        fs: found.fs,
        launcher: pauseBinary,
        cgroupProcs: driver?.open(containerCgroupPath(sandbox, c.name)).procsFiles ?? [],
        stateRoot: options.paths.state,
      });
      processes.push({ role, name: c.name, image: imageInfo(c.image, found), request, plan: withPlaceholders(plan) });
    } catch (err) {
      processes.push({ role, name: c.name, ...(found ? { image: imageInfo(c.image, found) } : {}), ...(request ? { request } : {}), error: (err as Error).message });
    }
  }
  return {
    apiVersion: 'peapod/v1alpha1',
    kind: 'PodPlan',
    metadata: { name: pod.metadata.name },
    stateRoot: options.paths,
    placeholders: usedPlaceholders(processes),
    notes,
    processes,
  };
}

/** The placeholders the plans use, and what each stands for. */
function usedPlaceholders(processes: ExplainedProcess[]): Record<string, string> {
  const text = JSON.stringify(processes);
  const meanings: Record<string, string> = {
    [PAUSE_PID]: "pause's pid on the host, known once it runs",
    [POD_UID]: 'the uid the pod gets when it is created',
    '<image ': 'an image that is not in the store yet (<image NAME>/rootfs: its root filesystem)',
  };
  return Object.fromEntries(
    Object.entries(meanings)
      .filter(([k]) => text.includes(k))
      .map(([k, v]) => [k === '<image ' ? '<image NAME>' : k, v]),
  );
}

function imageInfo(ref: string, found: FoundImage): ExplainedProcess['image'] {
  return { ref, rootfs: found.image.rootfs, inStore: found.inStore };
}
