// The pod as the kernel sees it, read live from /proc: for pause and every
// process of every container, its pids (on the host and in the pod) and the
// inode of each of its namespaces, its seccomp mode; the mounts of each
// container, and which seccomp profile it was given; the pod's volumes with
// their host paths, the cgroup limits of the pod and of each container, and
// the pod's IP when it has one. Two
// processes share a namespace exactly when /proc/PID/ns/KIND has the same
// inode for both: that is the whole trick of a pod, and what `peapod
// inspect` shows. Never writes, never signals.
import { readFileSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { describeSeccomp, describeProfile } from '../plan/seccomp.js';
import { containerSecurityContext } from '../kubelet/security-context.js';
import type { Container } from '../manifest/types.js';
import { DEFAULT_TERMINATION_MESSAGE_PATH } from '../kubelet/container-config.js';
import { cgroupLimitsOf, type CgroupLimits } from './inspect-cgroups.js';
import { podPaths, type RuntimePaths } from '../runtime/paths.js';
import type { PodObject } from '../kubelet/types.js';
import { parseMountinfo, type MountinfoEntry } from '../runtime/mountinfo.js';
import { isSameProcess, namespaceInode, pidsInNamespace } from '../runtime/proc.js';
import { getStoredPod, type StoredPod } from './store.js';
import type { ContainerStatus } from '../kubelet/status/types.js';

/** The security context the kubelet would ask for, or none when the spec cannot give one. */
function safeSecurityContext(c: Container, spec: PodObject['spec']): ReturnType<typeof containerSecurityContext> | null {
  try {
    return containerSecurityContext(c, spec);
  } catch {
    return null;
  }
}

/** Every kind of namespace Linux has, in the order inspect shows them. */
export const NAMESPACE_KINDS = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup', 'user', 'time'] as const;
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number];

/** Inode of each namespace (null: the kernel has no such kind, or the process is gone). */
export type NamespaceInodes = Record<NamespaceKind, number | null>;

/**
 * Who else has this namespace: "host" (the inspecting peapod's own, so not
 * isolated at all), "pause" (shared by the pod), "main" (the container's
 * main process: a namespace of the container), or null (its own).
 */
export type SharedWith = 'host' | 'pause' | 'main' | null;

export interface ProcessView {
  /** pid as the host (this /proc) sees it. */
  hostPid: number;
  /** pid in each PID namespace, outermost first (/proc/PID/status NSpid). */
  nsPids: number[];
  /** pid inside the pod: in its innermost PID namespace. */
  podPid: number;
  /** cmdline, or [comm] when it has none. */
  command: string;
  uid: number | null;
  gid: number | null;
  /** Effective capabilities, as /proc/PID/status writes them (hex). */
  capEff: string | null;
  /** /proc/PID/status Seccomp (0 none, 1 strict, 2 filter) and Seccomp_filters (how many are stacked). */
  seccomp: { mode: number | null; filters: number | null };
  namespaces: NamespaceInodes;
  sharedWith: Record<NamespaceKind, SharedWith>;
}

export type MountKind =
  | 'rootfs' | 'proc' | 'sys' | 'dev' | 'devpts' | 'shm' | 'pod-file' | 'termination-log'
  | 'volume' | 'masked' | 'readonly' | 'binary' | 'other';

export interface MountView {
  /** Where the process sees it (relative to its root, after pivot_root). */
  mountPoint: string;
  kind: MountKind;
  /** For kind volume: the pod's volume name, and its source. */
  volume?: { name: string; source: 'emptyDir' | 'hostPath' | 'unknown' };
  fsType: string;
  /** The mount's source as the kernel records it ("overlay", "shm", "/dev/vda"). */
  source: string;
  /** The directory of the source filesystem that is mounted (a bind's root). */
  root: string;
  /** Per-mount options (rw/ro, nosuid, ...). */
  options: string[];
  /** Filesystem options (overlay's lowerdir/upperdir, tmpfs size, ...). */
  superOptions: string[];
  readOnly: boolean;
  /** What it is on the host, when the host sees the same filesystem (binds of pod directories). */
  hostPath: string | null;
}

export interface ContainerView {
  name: string;
  init: boolean;
  /** The container's state in the pod's status (running, waiting, terminated). */
  state: 'running' | 'waiting' | 'terminated' | 'unknown';
  reason?: string;
  /** The seccomp profile its spec asks for: "RuntimeDefault", "Localhost /path", "Unconfined (privileged)". */
  seccompProfile: string;
  /** The main process, when it runs. */
  mainPid: number | null;
  /** The main process first, then every other process in its mount namespace, by pid. */
  processes: ProcessView[];
  mounts: MountView[];
  /** The limits of the cgroup its main process is in (null: not running, or the pod has no cgroups). */
  cgroup: CgroupLimits | null;
}

/** A volume of the pod: where it is on the host, and who mounts it where. */
export interface VolumeView {
  name: string;
  source: 'emptyDir' | 'hostPath' | 'unknown';
  /** emptyDir's medium: "Memory" is a tmpfs. */
  medium?: string;
  /** The directory (or file) on the host. */
  hostPath: string | null;
  mounts: Array<{ container: string; mountPath: string; readOnly: boolean; subPath?: string }>;
}

export interface Sharing {
  /** Kinds every running container shares with pause (and pause not with the host). */
  pod: NamespaceKind[];
  /** Kinds each container has for itself. */
  own: NamespaceKind[];
  /** Kinds that are the host's, for pause and every container. */
  host: NamespaceKind[];
  /** Anything else (e.g. shareProcessNamespace: false makes pid differ for some). */
  mixed: NamespaceKind[];
}

export interface PodInspection {
  apiVersion: 'peapod/v1alpha1';
  kind: 'PodInspection';
  metadata: { name: string; namespace: string; uid: string };
  phase: string;
  supervisorPid: number;
  /** The inspecting process's own namespaces: the host's, for comparison. */
  host: { pid: number; namespaces: NamespaceInodes };
  pause: ProcessView & { mounts: MountView[] };
  containers: ContainerView[];
  sharing: Sharing;
  volumes: VolumeView[];
  /** status.podIP: null while the pod has only its own loopback. */
  podIP: string | null;
  /** The pod's cgroup (its containers' parent) and its limits; null when the pod has none. */
  cgroup: CgroupLimits | null;
}

export class PodNotRunningError extends Error {
  override name = 'PodNotRunningError';
}

// ---------------------------------------------------------------- /proc readers

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function namespacesOf(pid: number | 'self'): NamespaceInodes {
  const out = {} as NamespaceInodes;
  for (const ns of NAMESPACE_KINDS) out[ns] = pid === 'self' ? selfInode(ns) : namespaceInode(pid, ns);
  return out;
}

function selfInode(ns: NamespaceKind): number | null {
  try {
    // "pid:[4026531836]": readlink works on our own links without privileges.
    const m = /\[(\d+)\]$/.exec(readlinkSync(`/proc/self/ns/${ns}`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The fields of /proc/PID/status inspect needs. */
export function parseStatus(text: string): {
  state: string;
  nsPids: number[];
  uid: number | null;
  gid: number | null;
  capEff: string | null;
  seccomp: ProcessView['seccomp'];
} {
  const field = (name: string): string[] | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}:`));
    return line?.slice(name.length + 1).trim().split(/\s+/);
  };
  const nsPids = (field('NSpid') ?? []).map(Number).filter((n) => Number.isInteger(n));
  // Uid: real, effective, saved, fs. The effective one decides.
  const uid = field('Uid')?.[1];
  const gid = field('Gid')?.[1];
  const int = (name: string): number | null => {
    const v = field(name)?.[0];
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  };
  return {
    state: field('State')?.[0] ?? '?',
    nsPids,
    uid: uid === undefined ? null : Number(uid),
    gid: gid === undefined ? null : Number(gid),
    capEff: field('CapEff')?.[0] ?? null,
    seccomp: { mode: int('Seccomp'), filters: int('Seccomp_filters') },
  };
}

function commandOf(pid: number): string {
  const cmdline = readText(`/proc/${pid}/cmdline`);
  if (cmdline) {
    const argv = cmdline.split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    if (argv.length > 0) return argv.join(' ');
  }
  const comm = readText(`/proc/${pid}/comm`)?.trim();
  return comm ? `[${comm}]` : '?';
}

/** What /proc says of one process, or null if it is gone (or a zombie: it has no namespaces left). */
function readProcess(pid: number): Omit<ProcessView, 'sharedWith'> | null {
  const statusText = readText(`/proc/${pid}/status`);
  if (statusText === null) return null;
  const status = parseStatus(statusText);
  if (status.state === 'Z' || status.state === 'X') return null;
  const namespaces = namespacesOf(pid);
  return {
    hostPid: pid,
    nsPids: status.nsPids,
    podPid: status.nsPids[status.nsPids.length - 1] ?? pid,
    command: commandOf(pid),
    uid: status.uid,
    gid: status.gid,
    capEff: status.capEff,
    seccomp: status.seccomp,
    namespaces,
  };
}

function sharing(ns: NamespaceInodes, host: NamespaceInodes, pause: NamespaceInodes | null, main: NamespaceInodes | null): Record<NamespaceKind, SharedWith> {
  const out = {} as Record<NamespaceKind, SharedWith>;
  for (const kind of NAMESPACE_KINDS) {
    const inode = ns[kind];
    out[kind] =
      inode === null ? null
      : inode === host[kind] ? 'host'
      : pause && inode === pause[kind] ? 'pause'
      : main && inode === main[kind] ? 'main'
      : null;
  }
  return out;
}

// ---------------------------------------------------------------- mountinfo

/**
 * The host path of a container's mount, when the host has the same
 * filesystem mounted: the host mount of that device whose root holds the
 * container mount's root (a bind of a pod directory, the pod's shm).
 */
export function hostPathOf(m: MountinfoEntry, host: readonly MountinfoEntry[]): string | null {
  let best: MountinfoEntry | undefined;
  for (const h of host) {
    if (h.dev !== m.dev) continue;
    const within = h.root === '/' || m.root === h.root || m.root.startsWith(`${h.root}/`);
    if (within && (!best || h.root.length > best.root.length)) best = h;
  }
  if (!best) return null;
  return posix.join(best.mountPoint, posix.relative(best.root, m.root));
}

interface MountContext {
  /** Normalized mountPath -> the volume mounted there. */
  volumes: Map<string, { name: string; source: 'emptyDir' | 'hostPath' | 'unknown' }>;
  terminationLog?: string;
  /** pause's own program, bound into its otherwise empty root. */
  binary?: string;
}

function classify(m: MountinfoEntry, ctx: MountContext): Pick<MountView, 'kind' | 'volume'> {
  const p = m.mountPoint;
  const volume = ctx.volumes.get(p);
  if (volume) return { kind: 'volume', volume };
  switch (p) {
    case '/':
      return { kind: 'rootfs' };
    case '/proc':
      return { kind: 'proc' };
    case '/sys':
      return { kind: 'sys' };
    case '/dev':
      return { kind: 'dev' };
    case '/dev/pts':
      return { kind: 'devpts' };
    case '/dev/shm':
      return { kind: 'shm' };
    case '/etc/hosts':
    case '/etc/hostname':
    case '/etc/resolv.conf':
      return { kind: 'pod-file' };
  }
  if (p === ctx.terminationLog) return { kind: 'termination-log' };
  if (p === ctx.binary) return { kind: 'binary' };
  if (p.startsWith('/proc/') || p.startsWith('/sys/')) {
    // OCI masked paths: an empty tmpfs over a directory, /dev/null over a file.
    const masked = m.fsType === 'tmpfs' || m.root.endsWith('/null');
    return { kind: masked ? 'masked' : 'readonly' };
  }
  return { kind: 'other' };
}

function mountsOf(pid: number, ctx: MountContext, host: readonly MountinfoEntry[]): MountView[] {
  const text = readText(`/proc/${pid}/mountinfo`);
  if (text === null) return [];
  return parseMountinfo(text).map((m) => ({
    mountPoint: m.mountPoint,
    ...classify(m, ctx),
    fsType: m.fsType,
    source: m.source,
    root: m.root,
    options: m.options,
    superOptions: m.superOptions,
    readOnly: m.options.includes('ro'),
    hostPath: hostPathOf(m, host),
  }));
}

function mountContext(container: Container, volumes: ReadonlyArray<{ name: string; emptyDir?: unknown; hostPath?: unknown }>): MountContext {
  const map: MountContext['volumes'] = new Map();
  for (const vm of container.volumeMounts ?? []) {
    const v = volumes.find((x) => x.name === vm.name);
    const source = v?.emptyDir ? 'emptyDir' : v?.hostPath ? 'hostPath' : 'unknown';
    map.set(posix.normalize(posix.join('/', vm.mountPath)), { name: vm.name, source });
  }
  return { volumes: map, terminationLog: container.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH };
}

// ---------------------------------------------------------------- the pod

function stateOf(status: ContainerStatus | undefined): Pick<ContainerView, 'state' | 'reason'> {
  const s = status?.state;
  if (s?.running) return { state: 'running' };
  if (s?.terminated) return { state: 'terminated', reason: s.terminated.reason };
  if (s?.waiting) return { state: 'waiting', reason: s.waiting.reason };
  return { state: 'unknown' };
}

function summarize(host: NamespaceInodes, pause: NamespaceInodes, mains: NamespaceInodes[]): Sharing {
  const out: Sharing = { pod: [], own: [], host: [], mixed: [] };
  for (const kind of NAMESPACE_KINDS) {
    const p = pause[kind];
    const inodes = mains.map((m) => m[kind]);
    if (p === null) continue;
    if (p === host[kind] && inodes.every((i) => i === host[kind])) out.host.push(kind);
    else if (p !== host[kind] && inodes.every((i) => i === p)) out.pod.push(kind);
    else if (inodes.every((i) => i !== p && i !== host[kind]) && new Set(inodes).size === inodes.length) out.own.push(kind);
    else out.mixed.push(kind);
  }
  return out;
}

/**
 * The live kernel view of a running pod. Throws PodNotFoundError (kubectl's
 * NotFound) for an unknown pod and PodNotRunningError for one that has
 * ended (a tombstone) or whose sandbox is not running.
 */
export function inspectPod(paths: RuntimePaths, name: string, stored: StoredPod = getStoredPod(paths, name)): PodInspection {
  const record = stored.record;
  const object: PodObject | null = stored.pod;
  const phase = object?.status?.phase ?? 'Unknown';
  if (!stored.live || !record) {
    const reason = object?.status?.reason ? `, ${object.status.reason}` : '';
    throw new PodNotRunningError(
      `pod "${name}" is not running (${phase}${reason}): its processes are gone, there are no namespaces to inspect; \`peapod get pod ${name}\` shows its last status`,
    );
  }
  const sandbox = record.sandbox;
  if (!sandbox || !isSameProcess(sandbox.pid, sandbox.startTime)) {
    throw new PodNotRunningError(`pod "${name}": its sandbox (pause) is not running right now; try again in a moment`);
  }
  const hostNs = namespacesOf('self');
  const pauseProc = readProcess(sandbox.pid);
  if (!pauseProc) throw new PodNotRunningError(`pod "${name}": pause (pid ${sandbox.pid}) exited while being inspected`);
  if (pauseProc.namespaces.net === null) {
    throw new PodNotRunningError(`pod "${name}": cannot read /proc/${sandbox.pid}/ns: inspect needs root (the pod's processes are not yours to look into)`);
  }
  const hostMounts = parseMountinfo(readText('/proc/self/mountinfo') ?? '');
  const spec = (object ?? record.pod).spec;
  const volumes = spec.volumes ?? [];
  const pause = {
    ...pauseProc,
    sharedWith: sharing(pauseProc.namespaces, hostNs, null, null),
    mounts: mountsOf(sandbox.pid, { volumes: new Map(), binary: '/pause' }, hostMounts),
  };

  const statuses = new Map<string, ContainerStatus>();
  for (const s of [...(object?.status?.initContainerStatuses ?? []), ...(object?.status?.containerStatuses ?? [])]) statuses.set(s.name, s);
  const all = [...(spec.initContainers ?? []).map((c) => ({ c, init: true })), ...spec.containers.map((c) => ({ c, init: false }))];
  const containers: ContainerView[] = [];
  for (const { c, init } of all) {
    // What was applied (the record keeps it), else what the spec asks for.
    const applied = record.containers[c.name]?.security?.seccomp;
    const seccompProfile = applied ? describeSeccomp(applied) : describeProfile(safeSecurityContext(c, spec));
    const view: ContainerView = { name: c.name, init, ...stateOf(statuses.get(c.name)), seccompProfile, mainPid: null, processes: [], mounts: [], cgroup: null };
    containers.push(view);
    const main = record.containers[c.name];
    if (!main || !isSameProcess(main.pid, main.startTime)) continue;
    const mainProc = readProcess(main.pid);
    if (!mainProc) continue;
    view.mainPid = main.pid;
    view.state = 'running';
    delete view.reason;
    view.processes.push({ ...mainProc, sharedWith: sharing(mainProc.namespaces, hostNs, pause.namespaces, null) });
    // The container's processes: everything in its mount namespace (as ContainerRunner.kill finds them).
    const mnt = mainProc.namespaces.mnt;
    if (mnt !== null) {
      for (const pid of pidsInNamespace('mnt', mnt).sort((a, b) => a - b)) {
        if (pid === main.pid) continue;
        const p = readProcess(pid);
        if (p) view.processes.push({ ...p, sharedWith: sharing(p.namespaces, hostNs, pause.namespaces, mainProc.namespaces) });
      }
    }
    view.mounts = mountsOf(main.pid, mountContext(c, volumes), hostMounts);
    if (record.cgroups) view.cgroup = cgroupLimitsOf(main.pid, hostMounts);
  }

  const mains = containers.flatMap((c) => (c.processes[0] ? [c.processes[0].namespaces] : []));
  return {
    apiVersion: 'peapod/v1alpha1',
    kind: 'PodInspection',
    metadata: { name, namespace: object?.metadata.namespace ?? 'default', uid: record.uid },
    phase,
    supervisorPid: record.supervisor.pid,
    host: { pid: process.pid, namespaces: hostNs },
    pause,
    containers,
    sharing: summarize(hostNs, pause.namespaces, mains),
    volumes: volumeViews(spec, podPaths(paths, name).volume),
    podIP: object?.status?.podIP ?? null,
    cgroup: podCgroup(sandbox.pid, record.cgroups?.pod, hostMounts),
  };
}

/** The pod's volumes as the spec declares them, with the host side each is made from. */
function volumeViews(spec: PodObject['spec'], emptyDirPath: (name: string) => string): VolumeView[] {
  const containers = [...(spec.initContainers ?? []), ...spec.containers];
  return (spec.volumes ?? []).map((v) => ({
    name: v.name,
    source: v.emptyDir ? 'emptyDir' : v.hostPath ? 'hostPath' : 'unknown',
    ...(v.emptyDir?.medium ? { medium: v.emptyDir.medium } : {}),
    hostPath: v.emptyDir ? emptyDirPath(v.name) : (v.hostPath?.path ?? null),
    mounts: containers.flatMap((c) =>
      (c.volumeMounts ?? [])
        .filter((m) => m.name === v.name)
        .map((m) => ({ container: c.name, mountPath: m.mountPath, readOnly: m.readOnly === true, ...(m.subPath ? { subPath: m.subPath } : {}) })),
    ),
  }));
}

/** The pod's cgroup: pause's parent, when that is the cgroup peapod made for the pod (`peapod/pod<uid>`). */
function podCgroup(pausePid: number, recorded: string | undefined, mounts: readonly MountinfoEntry[]): CgroupLimits | null {
  if (!recorded) return null;
  const limits = cgroupLimitsOf(pausePid, mounts, 1);
  return limits && `${limits.path}/`.includes(`/${recorded}/`) ? limits : null;
}
