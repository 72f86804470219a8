// The kubelet's translation of a pod into what the runtime is asked for
// (kuberuntime's generatePodSandboxConfig and generateContainerConfig):
// names, hostname, log directory, namespaces and the pod's limits for the
// sandbox; for each container its command and args and env with every
// $(VAR) and fieldRef resolved, its mounts as host paths (volumes, the
// pod's /etc/hosts, the termination log), its resources and its effective
// security context. `run` and `explain` both go through here.
import { existsSync, readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { posix } from 'node:path';
import { resolveImageUser } from '../image/config.js';
import type { Image } from '../image/store.js';
import type { ContainerConfig, DNSConfig, KeyValue, LinuxContainerResources, Mount, PodSandboxConfig } from '../runtime/api.js';
import { portMappings } from '../network/host-ports.js';
import type { NetworkOptions } from '../network/options.js';
import { podDns, type DnsWarning } from '../network/resolv-conf.js';
import type { PodPaths } from '../runtime/paths.js';
import { bytes, cpuMillis } from '../manifest/quantity.js';
import type { Container, Pod } from '../manifest/types.js';
import { cgroupParentFromEnv, podLimits, podPidsLimitFromEnv } from './resources.js';
import { resolveEnv } from './env.js';
import { expandReferences } from './expansion.js';
import { containerSecurityContext, namespaceOptions } from './security-context.js';
import type { PreparedVolume } from './types.js';

export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
const CFS_PERIOD_US = 100_000;

export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

/** Everything of a pod the translation needs besides its manifest. */
export interface PodContext {
  /** The resolver configuration the kubelet computed from dnsPolicy and dnsConfig (none: the node's). */
  dns?: DNSConfig | undefined;
  pod: Pod;
  uid: string;
  hostname: string;
  paths: PodPaths;
  volumes: ReadonlyMap<string, PreparedVolume>;
  /** The cgroup every pod's cgroup goes under. */
  cgroupParent: string;
  podPidsLimit: number;
  /** Where Localhost seccomp profiles are (default: $PEAPOD_SECCOMP_ROOT or /var/lib/peapod/seccomp). */
  seccompRoot?: string;
}

/** The kubelet's hostname rule: the host's on its network, else spec.hostname or the name cut to 63 (and any '-' or '.' left at the end). */
export function podHostname(pod: Pod): string {
  return pod.spec.hostNetwork ? osHostname() : (pod.spec.hostname ?? pod.metadata.name.slice(0, 63).replace(/[-.]+$/, ''));
}

/** The kubelet's DNS configurer: dnsPolicy and dnsConfig over the node's resolver or the cluster's. */
export function podDnsConfig(pod: Pod, network: NetworkOptions): { settings: DNSConfig; warnings: DnsWarning[] } {
  return podDns({
    spec: pod.spec,
    namespace: pod.metadata.namespace ?? 'default',
    hostResolvConf: existsSync(network.resolvConf) ? readFileSync(network.resolvConf, 'utf8') : '',
    clusterDNS: network.clusterDNS,
    clusterDomain: network.clusterDomain,
  });
}

/**
 * The one way a PodContext is made, by `run` (the pod worker) and `explain`
 * alike: the hostname rule and the node's defaults are applied here only.
 */
export function podContext(
  pod: Pod,
  inputs: Pick<PodContext, 'uid' | 'paths' | 'volumes' | 'dns'> & { cgroupParent?: string | undefined; podPidsLimit?: number | undefined },
): PodContext {
  return {
    pod,
    uid: inputs.uid,
    hostname: podHostname(pod),
    paths: inputs.paths,
    volumes: inputs.volumes,
    dns: inputs.dns,
    cgroupParent: inputs.cgroupParent ?? cgroupParentFromEnv(),
    podPidsLimit: inputs.podPidsLimit ?? podPidsLimitFromEnv(),
  };
}

/** The pod's containers' logs: <logDirectory>/<container>/<attempt>.log, as the kubelet lays them out. */
export function logDirectory(paths: PodPaths): string {
  return posix.dirname(posix.dirname(paths.log('c', 0)));
}

export function sandboxConfig(ctx: PodContext, attempt: number): PodSandboxConfig {
  const { pod } = ctx;
  const limits = podLimits(pod.spec, ctx.podPidsLimit);
  return {
    metadata: { name: pod.metadata.name, uid: ctx.uid, namespace: pod.metadata.namespace ?? 'default', attempt },
    hostname: ctx.hostname,
    logDirectory: logDirectory(ctx.paths),
    ...(ctx.dns ? { dnsConfig: ctx.dns } : {}),
    portMappings: portMappings(pod.spec),
    labels: { ...(pod.metadata.labels ?? {}), 'io.kubernetes.pod.name': pod.metadata.name, 'io.kubernetes.pod.uid': ctx.uid },
    annotations: { ...(pod.metadata.annotations ?? {}) },
    linux: {
      cgroupParent: ctx.cgroupParent,
      securityContext: { namespaceOptions: namespaceOptions(pod.spec) },
      resources: {
        ...(limits.memoryBytes !== undefined ? { memoryLimitInBytes: limits.memoryBytes } : {}),
        ...(limits.cpuMillis !== undefined ? { cpuPeriod: CFS_PERIOD_US, cpuQuota: (limits.cpuMillis * CFS_PERIOD_US) / 1000 } : {}),
        ...(limits.pids !== undefined ? { pidsLimit: limits.pids } : {}),
      },
    },
  };
}

/** The env the container is given, every $(VAR) of a later entry expanded with the earlier ones (makeEnvironmentVariables). */
function environment(container: Container): { envs: KeyValue[]; vars: Map<string, string> } {
  const vars = new Map<string, string>();
  const envs: KeyValue[] = [];
  for (const v of container.env ?? []) {
    const value = expandReferences(v.value ?? '', vars);
    vars.set(v.name, value);
    envs.push({ key: v.name, value });
  }
  return { envs, vars };
}

function resources(container: Container): LinuxContainerResources {
  const limits = container.resources?.limits ?? {};
  const out: LinuxContainerResources = {};
  if (limits.memory !== undefined) out.memoryLimitInBytes = bytes(limits.memory);
  if (limits.cpu !== undefined) {
    out.cpuPeriod = CFS_PERIOD_US;
    out.cpuQuota = (cpuMillis(limits.cpu) * CFS_PERIOD_US) / 1000;
  }
  return out;
}

const PROPAGATION: Record<string, Mount['propagation']> = {
  None: 'PROPAGATION_PRIVATE',
  HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
  Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
};

/** The container's volumeMounts as host paths (makeMounts), then the pod's /etc/hosts and the termination log. */
function mounts(ctx: PodContext, container: Container, vars: ReadonlyMap<string, string>): Mount[] {
  const out: Mount[] = (container.volumeMounts ?? []).map((m, i) => {
    const volume = ctx.volumes.get(m.name);
    const where = `volumeMounts[${i}] (${m.name})`;
    if (!volume) throw new ContainerConfigError(`container "${container.name}": ${where}: volume "${m.name}" was not prepared`);
    // subPathExpr: $(VAR) of the container's env, as the kubelet expands it.
    const subPath = m.subPath || (m.subPathExpr ? expandReferences(m.subPathExpr, vars) : undefined);
    return {
      containerPath: m.mountPath,
      hostPath: volume.hostPath,
      readonly: m.readOnly === true,
      propagation: PROPAGATION[m.mountPropagation ?? 'None'] ?? 'PROPAGATION_PRIVATE',
      ...(subPath ? { subPath, subPathMode: volume.mode ?? 0o755 } : {}),
      kind: volume.kind,
      what: `volume ${JSON.stringify(m.name)}`,
      field: m.subPathExpr && !m.subPath ? `${where}.subPathExpr (${JSON.stringify(m.subPathExpr)} expanded to ${JSON.stringify(subPath)})` : where,
    };
  });
  if (!out.some((m) => posix.resolve('/', m.containerPath) === '/etc/hosts')) {
    out.push({ containerPath: '/etc/hosts', hostPath: ctx.paths.etc.hosts, readonly: false, propagation: 'PROPAGATION_PRIVATE', kind: 'file', what: '/etc/hosts', field: 'the pod\'s /etc/hosts' });
  }
  out.push({
    containerPath: container.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH,
    hostPath: ctx.paths.container(container.name).terminationLog,
    readonly: false,
    propagation: 'PROPAGATION_PRIVATE',
    kind: 'file',
    what: 'the termination log',
    field: 'terminationMessagePath',
  });
  return out;
}

/** What the kubelet knows of a container's image (its ImageStatus): the ID it asks the runtime for, and the uid its USER runs as. */
export interface ImageFacts {
  id: string;
  uid?: number | undefined;
}

/** The facts of an image the kubelet sends with a container: its ID, and its USER's uid when it can be known (runAsNonRoot). */
export function imageFacts(image: Pick<Image, 'id' | 'ref' | 'rootfs' | 'fs' | 'config'>): ImageFacts {
  const user = image.config.user;
  if (!user) return { id: image.id, uid: 0 };
  try {
    return { id: image.id, uid: resolveImageUser(user, image.rootfs, image.fs, image.ref).uid };
  } catch {
    // The runtime says why when it applies the user.
    return { id: image.id };
  }
}

/** One attempt of a container, as the runtime is asked to create it (by image ID, once the image is here). */
export function containerConfig(ctx: PodContext, container: Container, attempt: number, image?: ImageFacts): ContainerConfig {
  const imageUid = image?.uid;
  const resolved = resolveEnv(container, ctx.pod, ctx.uid);
  const { envs, vars } = environment(resolved);
  const expand = (list: readonly string[] | undefined): string[] => (list ?? []).map((a) => expandReferences(a, vars));
  return {
    metadata: { name: container.name, attempt },
    image: { image: image?.id ?? container.image, userSpecifiedImage: container.image },
    command: expand(container.command),
    args: expand(container.args),
    workingDir: container.workingDir ?? '',
    envs,
    mounts: mounts(ctx, resolved, vars),
    labels: { 'io.kubernetes.container.name': container.name, 'io.kubernetes.pod.name': ctx.pod.metadata.name, 'io.kubernetes.pod.uid': ctx.uid },
    annotations: {},
    logPath: `${container.name}/${attempt}.log`,
    stdin: container.stdin === true,
    tty: container.tty === true,
    linux: {
      resources: resources(container),
      securityContext: containerSecurityContext(container, ctx.pod.spec, {
        ...(ctx.seccompRoot !== undefined ? { seccompRoot: ctx.seccompRoot } : {}),
        ...(imageUid !== undefined ? { imageUid } : {}),
      }),
    },
  };
}
