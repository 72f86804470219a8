// The unit tests' way into the plans from a pod's manifest: the kubelet's
// translation (src/kubelet/container-config.ts, security-context.ts) then the
// runtime's planners, as `run` and `explain` go, from the inputs the tests
// write: a container and its pod's spec, host paths for the pod's files.
import type { PreparedVolume } from '../../src/kubelet/types.js';
import { containerConfig, type PodContext } from '../../src/kubelet/container-config.js';
import { containerSecurityContext } from '../../src/kubelet/security-context.js';
import { resolveCommand } from '../../src/plan/command.js';
import { containerPlan as planFromConfig } from '../../src/plan/container.js';
import type { FsView } from '../../src/plan/scoped-path.js';
import type { HostFileReader } from '../../src/plan/seccomp.js';
import { resolveSecurity, type ProcessSecurity } from '../../src/plan/security.js';
import type { SpawnPlan } from '../../src/plan/types.js';
import type { PodPaths } from '../../src/runtime/paths.js';
import type { Container, PodSpec } from '../../src/manifest/types.js';

export interface ContainerInputs {
  container: Container;
  image: { rootfs: string; config: { entrypoint: string[]; cmd: string[]; env: string[]; workingDir: string } };
  hostname: string;
  sandboxPid: number;
  dirs: { rootfs: string; upper: string; work: string };
  pod: { shm: string; hosts: string; hostname: string; resolvConf: string };
  volumes: ReadonlyMap<string, PreparedVolume>;
  fs: FsView;
  podSpec?: PodSpec | undefined;
  initBinary?: string | undefined;
  arch?: string | undefined;
}

function paths(input: ContainerInputs): PodPaths {
  const data = '/d';
  return {
    state: '/s',
    recordFile: '/s/runtime.json',
    podFile: '/s/pod.json',
    eventsFile: '/s/events.json',
    data,
    shm: input.pod.shm,
    etc: { hosts: input.pod.hosts, hostname: input.pod.hostname, resolvConf: input.pod.resolvConf },
    volume: (v) => `${data}/volumes/${v}`,
    container: (c) => ({ dir: `${data}/containers/${c}`, run: `/s/containers/${c}`, ...input.dirs, terminationLog: `${data}/containers/${c}/termination-log` }),
    log: (c, n) => `${data}/logs/${c}/${n}.log`,
  };
}

/** A container's plan as the runtime makes it, from the kubelet's request. */
export function containerPlan(input: ContainerInputs): SpawnPlan {
  const pp = paths(input);
  const ctx: PodContext = {
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod1' }, spec: input.podSpec ?? { containers: [input.container] } },
    uid: 'uid',
    hostname: input.hostname,
    paths: pp,
    volumes: input.volumes,
    cgroupParent: 'peapod',
    podPidsLimit: 4096,
  };
  return planFromConfig({
    config: containerConfig(ctx, input.container, 0),
    image: input.image,
    sandbox: { pid: input.sandboxPid, hostname: input.hostname, shm: input.pod.shm, etc: { hostname: input.pod.hostname, resolvConf: input.pod.resolvConf } },
    dirs: input.dirs,
    fs: input.fs,
    launcher: input.initBinary,
    arch: input.arch,
  });
}

/** A container's identity and privileges from its manifest, through the kubelet's security context. */
export function secure(input: { container: Container; podSpec?: PodSpec | undefined; rootfs: string; fs: FsView; seccompRoot?: string; readProfile?: HostFileReader }): ProcessSecurity {
  const sc = containerSecurityContext(input.container, input.podSpec, input.seccompRoot === undefined ? {} : { seccompRoot: input.seccompRoot });
  return resolveSecurity({ sc, rootfs: input.rootfs, fs: input.fs, where: `container "${input.container.name}"`, ...(input.readProfile ? { readProfile: input.readProfile } : {}) });
}

/** What a container runs, from its manifest: the kubelet's expansion, then the runtime's resolution. */
export function commandOf(image: ContainerInputs['image']['config'], container: Container, hostname: string): ReturnType<typeof resolveCommand> {
  const ctx: PodContext = {
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod1' }, spec: { containers: [container] } },
    uid: 'uid',
    hostname,
    paths: paths({ container, image: { rootfs: '/image', config: image }, hostname, sandboxPid: 1, dirs: { rootfs: '/r', upper: '/u', work: '/w' }, pod: { shm: '/shm', hosts: '/h', hostname: '/hn', resolvConf: '/rc' }, volumes: new Map(), fs: { readlink: () => null, exists: () => false, isFile: () => false } }),
    volumes: new Map(),
    cgroupParent: 'peapod',
    podPidsLimit: 4096,
  };
  return resolveCommand(image, { ...containerConfig(ctx, container, 0), name: container.name }, hostname);
}
