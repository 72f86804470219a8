// The CRI's requests as the runtime layer takes them, and the runtime's
// statuses as the CRI gives them back: names and shapes only. What a field
// means is the runtime's (src/runtime); what is refused here is what the
// CRI itself says must be refused (a group without a user) or what peapod
// cannot do, said by name.
import { existsSync, realpathSync } from 'node:fs';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import type {
  ContainerConfig,
  ContainerStatus,
  LinuxContainerResources,
  LinuxContainerSecurityContext,
  Mount,
  NamespaceMode,
  NamespaceOption,
  PodSandboxConfig,
  PodSandboxStatus,
  PortMapping,
  SecurityProfile,
} from '../runtime/api.js';
import type { WireContainerConfig, WireContainerStatus, WireNamespaceOption, WirePodSandboxConfig, WirePodSandboxStatus, WireResources, WireSecurityProfile } from './wire.js';

/** A request the CRI or peapod refuses: gRPC's INVALID_ARGUMENT, with the field named. */
export class CriArgumentError extends Error {
  override name = 'CriArgumentError';
}

/** What the CRI asks that peapod does not do: gRPC's UNIMPLEMENTED, said by name. */
export class CriUnsupportedError extends Error {
  override name = 'CriUnsupportedError';
}

function mode(value: WireNamespaceOption['pid'] | undefined, field: string): NamespaceMode {
  if (value === 'TARGET') throw new CriUnsupportedError(`${field}: TARGET (another container's namespace) is not supported by peapod; use POD or CONTAINER`);
  return value ?? 'POD';
}

export function namespaceOptions(wire: WireNamespaceOption | null | undefined, field: string): NamespaceOption {
  return { network: mode(wire?.network, `${field}.network`), pid: mode(wire?.pid, `${field}.pid`), ipc: mode(wire?.ipc, `${field}.ipc`) };
}

/** A cgroupfs path as the runtime joins it: no leading or trailing slash; empty means the runtime's own parent. */
export function cgroupParent(wire: string, fallback: string): string {
  const trimmed = wire.replace(/^\/+|\/+$/g, '');
  if (trimmed.split('/').includes('..')) throw new CriArgumentError(`linux.cgroup_parent: ${JSON.stringify(wire)} must not contain ".."`);
  if (trimmed.endsWith('.slice')) throw new CriUnsupportedError(`linux.cgroup_parent: ${JSON.stringify(wire)} is a systemd slice; peapod manages cgroups as cgroupfs (RuntimeConfig says CGROUPFS): give a path such as /kubepods`);
  return trimmed === '' ? fallback : trimmed;
}

export function resources(wire: WireResources | null | undefined): LinuxContainerResources {
  if (!wire) return {};
  return {
    ...(wire.cpuPeriod > 0 ? { cpuPeriod: wire.cpuPeriod } : {}),
    ...(wire.cpuQuota > 0 ? { cpuQuota: wire.cpuQuota } : {}),
    ...(wire.cpuShares > 0 ? { cpuShares: wire.cpuShares } : {}),
    ...(wire.memoryLimitInBytes > 0 ? { memoryLimitInBytes: wire.memoryLimitInBytes } : {}),
    ...(wire.oomScoreAdj !== 0 ? { oomScoreAdj: wire.oomScoreAdj } : {}),
  };
}

/** How the directory of a CRI pod under pods/ starts: dot-first, so peapod's own pod listings never take it for one of theirs. */
export const CRI_POD_PREFIX = '.cri-';

/** The directory name of a CRI pod under pods/. */
export function criPodDirectory(meta: { name: string; namespace: string; uid: string }): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${CRI_POD_PREFIX}${clean(meta.namespace)}_${clean(meta.name)}_${clean(meta.uid)}`;
}

export interface SandboxDefaults {
  /** Where pods' cgroups go when the request names no parent. */
  cgroupParent: string;
  /** Where containers' logs go when the request names no log directory. */
  logRoot: string;
}

export function podSandboxConfig(wire: WirePodSandboxConfig | null, defaults: SandboxDefaults): PodSandboxConfig {
  if (!wire) throw new CriArgumentError('config: a PodSandboxConfig is required');
  const meta = wire.metadata;
  if (!meta || meta.name === '') throw new CriArgumentError('config.metadata.name: required');
  const linux = wire.linux;
  const sc = linux?.securityContext;
  const ns = namespaceOptions(sc?.namespaceOptions, 'config.linux.security_context.namespace_options');
  if (ns.pid === 'CONTAINER') ns.pid = 'POD';
  const portMappings: PortMapping[] = wire.portMappings
    .filter((p) => p.hostPort > 0)
    .map((p) => ({ protocol: p.protocol.toLowerCase() as PortMapping['protocol'], containerPort: p.containerPort, hostPort: p.hostPort, ...(p.hostIp ? { hostIP: p.hostIp } : {}) }));
  const dir = criPodDirectory(meta);
  return {
    metadata: { name: meta.name, uid: meta.uid, namespace: meta.namespace, attempt: meta.attempt },
    // No name asked (a pod on the host's network): the host's, as a new UTS namespace would copy it.
    hostname: wire.hostname || hostHostname(),
    logDirectory: wire.logDirectory || join(defaults.logRoot, dir),
    ...(wire.logDirectory ? {} : { ownLogDirectory: true }),
    ...(wire.dnsConfig ? { dnsConfig: { servers: wire.dnsConfig.servers, searches: wire.dnsConfig.searches, options: wire.dnsConfig.options } } : {}),
    portMappings,
    labels: wire.labels,
    annotations: wire.annotations,
    podDirectory: dir,
    linux: {
      cgroupParent: cgroupParent(linux?.cgroupParent ?? '', defaults.cgroupParent),
      securityContext: { namespaceOptions: ns },
      resources: resources(linux?.resources),
      ...(linux && Object.keys(linux.sysctls).length > 0 ? { sysctls: linux.sysctls } : {}),
    },
  };
}

/**
 * The seccomp profile asked for. Unset is unconfined, as the CRI defines
 * it (the kubelet always says which it wants: RuntimeDefault with
 * --seccomp-default, else Unconfined explicitly); the deprecated path form
 * is still read.
 */
export function seccompProfile(profile: WireSecurityProfile | null | undefined, path: string, field: string): SecurityProfile {
  if (profile) {
    if (profile.profileType !== 'Localhost') return { profileType: profile.profileType };
    if (!profile.localhostRef.startsWith('/')) throw new CriArgumentError(`${field}.localhost_ref: must be the absolute path of the profile, got ${JSON.stringify(profile.localhostRef)}`);
    return { profileType: 'Localhost', localhostRef: profile.localhostRef, field };
  }
  if (path === '' || path === 'unconfined') return { profileType: 'Unconfined' };
  if (path === 'runtime/default' || path === 'docker/default') return { profileType: 'RuntimeDefault' };
  if (path.startsWith('localhost/')) return seccompProfile({ profileType: 'Localhost', localhostRef: path.slice('localhost/'.length) }, '', field);
  throw new CriArgumentError(`${field}_profile_path: ${JSON.stringify(path)} is not runtime/default, unconfined or localhost/<path>`);
}

/** What the runtime needs to know of the image for the request: its user names, resolved where it has them. */
export interface ImageUsers {
  uidOf(username: string): number;
}

function securityContext(wire: WireContainerConfig['linux'], sandboxPrivileged: boolean, users: ImageUsers): LinuxContainerSecurityContext {
  const sc = wire?.securityContext;
  const field = 'config.linux.security_context';
  if (sc?.privileged && !sandboxPrivileged) {
    throw new CriArgumentError(`${field}.privileged: a privileged container needs a privileged sandbox (the sandbox's linux.security_context.privileged)`);
  }
  if (sc?.runAsUser && sc.runAsUsername !== '') throw new CriArgumentError(`${field}: run_as_user and run_as_username are exclusive; give one`);
  if (sc?.runAsGroup && !sc.runAsUser && sc.runAsUsername === '') {
    throw new CriArgumentError(`${field}.run_as_group: needs run_as_user or run_as_username (the CRI says a group alone is an error)`);
  }
  if (sc && sc.capabilities && sc.capabilities.addAmbientCapabilities.length > 0) {
    throw new CriUnsupportedError(`${field}.capabilities.add_ambient_capabilities: not supported by peapod; use add_capabilities (a non-root user keeps those as ambient)`);
  }
  if (sc?.apparmor && sc.apparmor.profileType === 'Localhost') {
    throw new CriUnsupportedError(`${field}.apparmor: peapod does not load AppArmor profiles; leave it unset or RuntimeDefault`);
  }
  const runAsUser = sc?.runAsUser ? sc.runAsUser.value : sc && sc.runAsUsername !== '' ? users.uidOf(sc.runAsUsername) : undefined;
  return {
    capabilities: { addCapabilities: sc?.capabilities?.addCapabilities ?? [], dropCapabilities: sc?.capabilities?.dropCapabilities ?? [] },
    privileged: sc?.privileged ?? false,
    namespaceOptions: namespaceOptions(sc?.namespaceOptions, `${field}.namespace_options`),
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(sc?.runAsGroup ? { runAsGroup: sc.runAsGroup.value } : {}),
    readonlyRootfs: sc?.readonlyRootfs ?? false,
    supplementalGroups: sc?.supplementalGroups ?? [],
    noNewPrivs: sc?.noNewPrivs ?? false,
    seccomp: seccompProfile(sc?.seccomp, sc?.seccompProfilePath ?? '', `${field}.seccomp`),
    ...(sc && sc.maskedPaths.length > 0 ? { maskedPaths: sc.maskedPaths } : {}),
    ...(sc && sc.readonlyPaths.length > 0 ? { readonlyPaths: sc.readonlyPaths } : {}),
  };
}

/** A host path as the kernel will mount it: a symlink followed (the CRI says so), a missing one refused. */
function hostPath(path: string, field: string): string {
  if (!path.startsWith('/')) throw new CriArgumentError(`${field}: must be an absolute path, got ${JSON.stringify(path)}`);
  if (!existsSync(path)) throw new CriArgumentError(`${field}: ${path} does not exist on the host`);
  return realpathSync(path);
}

function mounts(wire: WireContainerConfig): Mount[] {
  const volumes = wire.mounts.map((m, i): Mount => {
    if (m.recursiveReadOnly) throw new CriUnsupportedError(`config.mounts[${i}].recursive_read_only: not supported by peapod (Status reports it); use readonly`);
    return {
      containerPath: m.containerPath,
      hostPath: hostPath(m.hostPath, `config.mounts[${i}].host_path`),
      readonly: m.readonly,
      propagation: m.propagation,
      what: `mount ${m.hostPath}`,
      field: `mounts[${i}]`,
    };
  });
  // A device is its host node bound in (peapod has no devices cgroup): without "w", read-only.
  const devices = wire.devices.map((d, i): Mount => ({
    containerPath: d.containerPath,
    hostPath: hostPath(d.hostPath, `config.devices[${i}].host_path`),
    readonly: !d.permissions.includes('w'),
    propagation: 'PROPAGATION_PRIVATE',
    what: `device ${d.hostPath}`,
    field: `devices[${i}]`,
    kind: 'file',
  }));
  return [...volumes, ...devices];
}

export function containerConfig(wire: WireContainerConfig | null, ctx: { image: string; imageRef: string; sandboxPrivileged: boolean; users: ImageUsers }): ContainerConfig {
  if (!wire) throw new CriArgumentError('config: a ContainerConfig is required');
  const meta = wire.metadata;
  if (!meta || meta.name === '') throw new CriArgumentError('config.metadata.name: required');
  if (wire.tty) throw new CriUnsupportedError('config.tty: peapod does not give a container a terminal of its own (exec -t does get one); make the container without tty');
  const spec = wire.image;
  return {
    metadata: { name: meta.name, attempt: meta.attempt },
    image: { image: ctx.image, ...(spec?.userSpecifiedImage ? { userSpecifiedImage: spec.userSpecifiedImage } : { userSpecifiedImage: spec?.image ?? '' }) },
    command: wire.command,
    args: wire.args,
    workingDir: wire.workingDir,
    envs: wire.envs,
    mounts: mounts(wire),
    labels: wire.labels,
    annotations: wire.annotations,
    logPath: wire.logPath || join(meta.name, `${meta.attempt}.log`),
    // The kubelet rotates CRI logs itself (ReopenContainerLog): a rotation of the runtime's would race it.
    rotateLogs: false,
    imageRef: ctx.imageRef,
    stdin: wire.stdin,
    stdinOnce: wire.stdinOnce,
    // The command is PID 1 of its own PID namespace, as the CRI's clients expect.
    pidInit: false,
    tty: wire.tty,
    linux: { resources: resources(wire.linux?.resources), securityContext: securityContext(wire.linux, ctx.sandboxPrivileged, ctx.users) },
  };
}

// ---- back to the wire ----

export function podSandboxStatus(s: PodSandboxStatus, runtimeHandler: string): WirePodSandboxStatus {
  return {
    id: s.id,
    metadata: s.metadata,
    state: s.state,
    createdAt: s.createdAt,
    network: { ip: s.network.ip, additionalIps: s.network.additionalIps.map((ip) => ({ ip })) },
    linux: { namespaces: { options: s.linux.namespaces.options } },
    labels: s.labels,
    annotations: s.annotations,
    runtimeHandler,
  };
}

export function containerStatus(s: ContainerStatus, extra: { imageRef: string; resources: LinuxContainerResources; user?: { uid: number; gid: number; groups: number[] } }): WireContainerStatus {
  return {
    id: s.id,
    metadata: s.metadata,
    state: s.state,
    createdAt: s.createdAt,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    exitCode: s.exitCode,
    image: { image: s.image.userSpecifiedImage || s.image.image },
    imageRef: extra.imageRef,
    imageId: s.imageRef,
    reason: s.reason,
    message: s.message,
    labels: s.labels,
    annotations: s.annotations,
    mounts: s.mounts.map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readonly, propagation: m.propagation })),
    logPath: s.logPath,
    resources: {
      linux: {
        cpuPeriod: extra.resources.cpuPeriod ?? 0,
        cpuQuota: extra.resources.cpuQuota ?? 0,
        cpuShares: extra.resources.cpuShares ?? 0,
        memoryLimitInBytes: extra.resources.memoryLimitInBytes ?? 0,
        oomScoreAdj: extra.resources.oomScoreAdj ?? 0,
      },
    },
    ...(extra.user ? { user: { linux: { uid: extra.user.uid, gid: extra.user.gid, supplementalGroups: extra.user.groups } } } : {}),
  };
}
