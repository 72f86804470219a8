// A container of the pod: join pause's namespaces, build a private mount
// namespace around an overlay of the image, pivot into it, enter the pod's
// PID namespace, give up every privilege the container is not granted, exec.
//
// The order, and why:
//   1. setns net, ipc, uts: pause's (which are the host's for hostNetwork/hostIPC);
//      open pause's PID namespace (joined in 6); a session keyring of its own;
//      pause opened through a private read-only mount (the process execs it
//      last, and pause execs the command: CVE-2019-5736).
//   2. open what comes from the host, each as an fd: subPaths (beneath their
//      volume, never through a symlink out of it), copies (open_tree) of the
//      volumes with mount propagation, taken while they keep their peers;
//      then, with / made private, copies of every other volume, the pod's
//      /dev/shm and /etc files.
//   3. the overlay root, and pivot_root into it: from here no path leads to
//      the host, and a symlink in the image or a volume resolves inside.
//   4. /sys (read-only), /dev, then every copy from 2 attached by fd onto a
//      mount point opened in the root (RESOLVE_IN_ROOT, no magic links) or
//      beneath its parent volume; read-only and propagation set by fd.
//   5. enter the pod's PID namespace: the rest runs in a process born there
//      now, so nothing in the pod ever sees it with the host's root.
//   6. /proc with the masked and read-only paths; the working directory; a
//      read-only root if asked.
//   7. seccomp, no_new_privs, capabilities and ids (security.ts), chdir.
//   8. PR_SET_PDEATHSIG (after the uid change, which clears it), setsid,
//      exec of pause --exec, which execs the command.
import { posix } from 'node:path';
import type { Container, PodSpec, VolumeMount } from '../spec/types.js';
import type { Image } from '../image/store.js';
import { overlayRootSteps, type OverlayImage } from '../image/lowerdir.js';
import { pauseBinary } from '../native/addon.js';
import { buildEnv, expandReferences, resolveCommand } from './command.js';
import { execThroughPause, openPause } from './launch.js';
import { scopedJoin, type FsView } from './scoped-path.js';
import { checkSubPath, resolveSecurity, SecurityError, securitySteps, type ProcessSecurity } from './security.js';
import { PLAN_FDS, type MountFlag, type SpawnPlan, type Step } from './types.js';

/** A volume as the runtime prepared it on the host. */
export interface PreparedVolume {
  hostPath: string;
  kind: 'dir' | 'file';
  /** The mode of the volume's root: a missing subPath is made with it (the kubelet's rule). */
  mode?: number;
}

export interface ContainerInputs {
  container: Container;
  image: Pick<Image, 'rootfs' | 'config'> & OverlayImage;
  hostname: string;
  /** pause's pid, as seen from the host. */
  sandboxPid: number;
  /** Host directories of this container instance. */
  dirs: { rootfs: string; upper: string; work: string };
  /** Host paths shared by the pod. */
  pod: { shm: string; hosts: string; hostname: string; resolvConf: string };
  volumes: ReadonlyMap<string, PreparedVolume>;
  fs: FsView;
  /**
   * The pod's spec, for its securityContext (runAsUser, fsGroup, ...),
   * hostPID/hostIPC and shareProcessNamespace. Without it: no pod-level
   * settings, the pod's own namespaces, a shared PID namespace.
   */
  podSpec?: PodSpec | undefined;
  /** pause: what every process is started through, and the init of a container with its own PID namespace. Default: the built one. */
  initBinary?: string | undefined;
  /** Node's process.arch, for the seccomp filter. Default: this process's. */
  arch?: string | undefined;
}

export class PlanError extends Error {
  override name = 'PlanError';
}

/** The mount the runtime adds for a container's termination message (not a DNS label: never a user's volume). */
export const TERMINATION_LOG_VOLUME = 'peapod:termination-log';

const DEVICES: ReadonlyArray<{ name: string; major: number; minor: number }> = [
  { name: 'null', major: 1, minor: 3 },
  { name: 'zero', major: 1, minor: 5 },
  { name: 'full', major: 1, minor: 7 },
  { name: 'random', major: 1, minor: 8 },
  { name: 'urandom', major: 1, minor: 9 },
  { name: 'tty', major: 5, minor: 0 },
];

/**
 * The OCI default (containerd's, and runc's): what of /proc and /sys would
 * show or change the host. Masked: /dev/null over a file, an empty read-only
 * tmpfs over a directory. Read-only: bound onto itself, read-only.
 */
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
] as const;
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

/** Mount destinations refused, as runc refuses them: /proc/self/root and its kind lead to the host. */
const FORBIDDEN_MOUNT_ROOTS = ['/proc', '/sys'] as const;

/** /dev, made after pivot_root: a fresh tmpfs, nothing of the image's or the host's. */
function devSteps(): Step[] {
  const steps: Step[] = [
    { op: 'mkdir', path: '/dev', mode: 0o755 },
    { op: 'mount', source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: ['nosuid', 'strictatime'], data: 'mode=755,size=65536k' },
    { op: 'umask', mask: 0 },
  ];
  for (const d of DEVICES) {
    steps.push({ op: 'mknod', path: `/dev/${d.name}`, mode: 0o666, major: d.major, minor: d.minor });
  }
  steps.push(
    { op: 'mkdir', path: '/dev/pts', mode: 0o755 },
    { op: 'mount', source: 'devpts', target: '/dev/pts', fstype: 'devpts', flags: ['nosuid', 'noexec'], data: 'newinstance,ptmxmode=0666,mode=0620,gid=5' },
    { op: 'symlink', target: 'pts/ptmx', path: '/dev/ptmx' },
    { op: 'mkdir', path: '/dev/shm', mode: 0o1777 },
    { op: 'symlink', target: '/proc/self/fd', path: '/dev/fd' },
    { op: 'symlink', target: '/proc/self/fd/0', path: '/dev/stdin' },
    { op: 'symlink', target: '/proc/self/fd/1', path: '/dev/stdout' },
    { op: 'symlink', target: '/proc/self/fd/2', path: '/dev/stderr' },
    { op: 'umask', mask: 0o022 },
  );
  return steps;
}

/** Hands out the plan's fd numbers in order. */
class Fds {
  private next: number = PLAN_FDS.base;
  take(): number {
    if (this.next > PLAN_FDS.max) throw new PlanError(`too many open steps in one plan (more than ${PLAN_FDS.max - PLAN_FDS.base + 1})`);
    return this.next++;
  }
}

/** A mount of the container: a host source copied before pivot_root, attached after it. */
interface MountPlan {
  /** Opened before / is made private (propagation copies, subPaths). */
  early: Step[];
  /** Opened after / is private, before pivot_root. */
  copy: Step[];
  /** Attached inside the new root. */
  attach: Step[];
}

function subPathOf(m: VolumeMount, env: ReadonlyMap<string, string>, where: string): string | undefined {
  if (m.subPath) return checkSubPath(m.subPath, `${where}.subPath`);
  if (m.subPathExpr) {
    // Kubernetes expands $(VAR) from the container's environment.
    const expanded = expandReferences(m.subPathExpr, env);
    return checkSubPath(expanded, `${where}.subPathExpr (${JSON.stringify(m.subPathExpr)} expanded to ${JSON.stringify(expanded)})`);
  }
  return undefined;
}

/** A mount already attached in the container: where it shows, and its tree's fd. */
interface Placed {
  mountPath: string;
  fd: number;
  name: string;
}

/** The innermost attached mount that holds `path`, if any. */
function holder(path: string, placed: readonly Placed[]): Placed | undefined {
  return placed
    .filter((p) => path.startsWith(p.mountPath === '/' ? '/' : `${p.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

/**
 * The mount point of `mountPath`, opened (and made if missing) as fd.
 * Inside a mount already attached there (a volume, the pod's /dev/shm):
 * beneath that mount's own fd, no link leading out of it, since another
 * container may plant links in it. Elsewhere, in the container's root: the
 * image's links resolved first (in the image, never on the host), then
 * opened with RESOLVE_IN_ROOT, magic links (/proc/self/root) refused.
 */
function mountPointStep(mountPath: string, kind: 'dir' | 'file', image: ImageView, placed: readonly Placed[], fd: number, what: string): { step: Step; path: string } {
  const make = kind === 'file' ? 'file' : 'dirs';
  const beneath = (path: string, parent: Placed): { step: Step; path: string } => ({
    step: { op: 'open_beneath', base: parent.mountPath, baseFd: parent.fd, path: posix.relative(parent.mountPath, path), fd, make, mode: 0o755, what: `${what}: mountPath ${mountPath} inside ${parent.name}` },
    path,
  });
  const parent = holder(mountPath, placed);
  if (parent) return beneath(mountPath, parent);
  const resolved = `/${posix.relative(image.rootfs, scopedJoin(image.rootfs, mountPath, image.fs))}`;
  const resolvedParent = holder(resolved, placed);
  if (resolvedParent) return beneath(resolved, resolvedParent);
  return { step: { op: 'open_beneath', base: '/', path: resolved.slice(1), fd, make, mode: 0o755, inRoot: true, what }, path: resolved };
}

/** The image's root on the host, and how to read its links. */
interface ImageView {
  rootfs: string;
  fs: FsView;
}

function checkMountPath(mountPath: string, where: string): string {
  const path = posix.resolve('/', mountPath);
  for (const root of FORBIDDEN_MOUNT_ROOTS) {
    if (path === root || path.startsWith(`${root}/`)) {
      throw new PlanError(`${where}: ${JSON.stringify(mountPath)} is under ${root}; peapod refuses mounts there, as runc does (through ${root} a path can lead to the host); choose another path`);
    }
  }
  return path;
}

/** One mount: copy the source's tree (by path or fd), then attach it onto an opened mount point. */
function mountSteps(
  source: { path: string } | { fd: number; path: string },
  target: { path: string; kind: 'dir' | 'file' },
  opts: { early: boolean; readOnly: boolean; propagation: 'private' | 'slave' | 'shared'; what: string },
  where: { image: ImageView; placed: Placed[]; fds: Fds },
): MountPlan {
  const { placed, fds } = where;
  const tree = fds.take();
  const point = fds.take();
  const copy: Step = 'fd' in source ? { op: 'open_tree', fromFd: source.fd, fd: tree } : { op: 'open_tree', path: source.path, fd: tree };
  const what = `${opts.what} (${source.path}) on ${target.path}`;
  const at = mountPointStep(target.path, target.kind, where.image, placed, point, what);
  const attach: Step[] = [at.step, { op: 'move_mount', fd: tree, toFd: point, what }];
  // Copies taken after / went private are private already.
  if (opts.early) attach.push({ op: 'mount_setattr', fd: tree, propagation: opts.propagation, recursive: true });
  // Like a bind with MS_RDONLY: the volume's own mount, not those under it.
  if (opts.readOnly) attach.push({ op: 'mount_setattr', fd: tree, readOnly: true });
  placed.push({ mountPath: at.path, fd: tree, name: opts.what });
  return opts.early ? { early: [copy], copy: [], attach } : { early: [], copy: [copy], attach };
}

function concat(plans: MountPlan[]): MountPlan {
  return { early: plans.flatMap((p) => p.early), copy: plans.flatMap((p) => p.copy), attach: plans.flatMap((p) => p.attach) };
}

function volumeSteps(input: ContainerInputs, security: ProcessSecurity, ctx: { image: ImageView; placed: Placed[]; fds: Fds }): MountPlan {
  const { fds } = ctx;
  const { container, volumes, fs } = input;
  const env = buildEnv(input.image.config, container, input.hostname);
  // Parents before children, so a nested mountPath lands on its parent volume.
  const mounts = (container.volumeMounts ?? [])
    .map((m, i) => ({
      m,
      where: m.name === TERMINATION_LOG_VOLUME ? `container "${container.name}": terminationMessagePath` : `container "${container.name}": volumeMounts[${i}] (${m.name})`,
    }))
    .sort((a, b) => a.m.mountPath.length - b.m.mountPath.length);
  const plans: MountPlan[] = [];
  for (const { m, where } of mounts) {
    const volume = volumes.get(m.name);
    if (!volume) throw new PlanError(`container "${container.name}": volume "${m.name}" was not prepared`);
    const mountPath = checkMountPath(m.mountPath, m.name === TERMINATION_LOG_VOLUME ? where : `${where}.mountPath`);
    const propagation = m.mountPropagation ?? 'None';
    if (propagation === 'Bidirectional' && !security.privileged) {
      throw new PlanError(
        `${where}.mountPropagation: Bidirectional propagation needs a privileged container (securityContext.privileged: true); use HostToContainer or None`,
      );
    }
    let source: { path: string } | { fd: number; path: string } = { path: volume.hostPath };
    let kind = volume.kind;
    const early: Step[] = [];
    const sub = subPathOf(m, env, where);
    if (sub !== undefined && sub !== '.') {
      if (volume.kind !== 'dir') throw new PlanError(`${where}: subPath needs a directory volume; ${volume.hostPath} is a file`);
      // Never the path string: the fd of what was found beneath the volume,
      // so a symlink planted in it cannot aim the mount at the host.
      const fd = fds.take();
      kind = fs.isFile(posix.join(volume.hostPath, sub)) ? 'file' : 'dir';
      early.push({
        op: 'open_beneath',
        base: volume.hostPath,
        path: sub,
        fd,
        ...(kind === 'dir' ? { make: 'dirs' as const, mode: volume.mode ?? 0o755 } : {}),
        what: `subPath ${JSON.stringify(sub)} of volume ${JSON.stringify(m.name)}`,
      });
      source = { fd, path: posix.join(volume.hostPath, sub) };
    }
    // A copy taken before / went private keeps its peers on the host:
    // HostToContainer makes it their slave, Bidirectional their peer.
    const plan = mountSteps(
      source,
      { path: mountPath, kind },
      {
        early: propagation !== 'None',
        readOnly: m.readOnly === true,
        propagation: propagation === 'Bidirectional' ? 'shared' : propagation === 'HostToContainer' ? 'slave' : 'private',
        what: m.name === TERMINATION_LOG_VOLUME ? 'the termination log' : `volume ${JSON.stringify(m.name)}`,
      },
      ctx,
    );
    plans.push({ early: [...early, ...plan.early], copy: plan.copy, attach: plan.attach });
  }
  return concat(plans);
}

/** The PID namespace a container lives in: pause's (joined), or one of its own with pause as init. */
function pidNamespace(input: ContainerInputs): { join?: string; own: boolean } {
  const podSpec = input.podSpec;
  const pauseNs = `/proc/${input.sandboxPid}/ns/pid`;
  // hostPID: pause is in the host's namespace, and so is everyone.
  if (podSpec?.hostPID) return { join: pauseNs, own: false };
  if (podSpec?.shareProcessNamespace === false) return { own: true };
  return { join: pauseNs, own: false };
}

export function containerPlan(input: ContainerInputs): SpawnPlan {
  const { container, image, dirs, pod, podSpec } = input;
  const command = resolveCommand(image.config, container, input.hostname);
  let security: ProcessSecurity;
  try {
    security = resolveSecurity({ container, podSpec, rootfs: image.rootfs, fs: input.fs });
  } catch (err) {
    if (err instanceof SecurityError) throw new PlanError(err.message);
    throw err;
  }
  const ns = (name: string): string => `/proc/${input.sandboxPid}/ns/${name}`;
  const pid = pidNamespace(input);
  const fds = new Fds();
  const pidNsFd = pid.join ? fds.take() : undefined;
  const pause = openPause(input.initBinary ?? pauseBinary, fds.take());
  const hostProc = fds.take();
  const where = { image: { rootfs: image.rootfs, fs: input.fs }, placed: [] as Placed[], fds };
  const private_ = { early: false, readOnly: false, propagation: 'private' as const };
  // hostIPC: the host's IPC namespace, and the host's /dev/shm with it.
  const shm = mountSteps({ path: podSpec?.hostIPC ? '/dev/shm' : pod.shm }, { path: '/dev/shm', kind: 'dir' }, { ...private_, what: "the pod's /dev/shm" }, where);
  const etc = concat(
    (['hosts', 'hostname', 'resolv.conf'] as const).map((file) =>
      mountSteps({ path: file === 'hosts' ? pod.hosts : file === 'hostname' ? pod.hostname : pod.resolvConf }, { path: `/etc/${file}`, kind: 'file' }, { ...private_, what: `/etc/${file}` }, where),
    ),
  );
  const volumes = volumeSteps(input, security, where);
  // Kubernetes gives a privileged container a writable /sys.
  const sysFlags: MountFlag[] = security.privileged ? ['nosuid', 'nodev', 'noexec'] : ['rdonly', 'nosuid', 'nodev', 'noexec'];

  const steps: Step[] = [
    { op: 'setns', path: ns('net'), ns: 'net' },
    { op: 'setns', path: ns('ipc'), ns: 'ipc' },
    { op: 'setns', path: ns('uts'), ns: 'uts' },
    ...(pidNsFd !== undefined && pid.join ? [{ op: 'open' as const, path: pid.join, fd: pidNsFd, read: true }] : []),
    { op: 'new_session_keyring' },
    pause.open,
    // Who the parent is, for the PR_SET_PDEATHSIG check (step 8).
    { op: 'open', path: '/proc', fd: hostProc },
    // Directories made on the way to a subPath get the volume's mode exactly.
    { op: 'umask', mask: 0 },
    ...volumes.early,
    // Nothing mounted from here on may propagate back to the host.
    { op: 'mount', source: '', target: '/', flags: ['rec', 'private'] },
    ...shm.copy,
    ...etc.copy,
    ...volumes.copy,
    // The image's layers, top first (issue 13: image/lowerdir.ts keeps the mount data within a page).
    ...overlayRootSteps(image, dirs),
    { op: 'pivot_root', root: dirs.rootfs },
    { op: 'mkdir', path: '/sys', mode: 0o555 },
    { op: 'mount', source: 'sysfs', target: '/sys', fstype: 'sysfs', flags: sysFlags },
    ...devSteps(),
    ...shm.attach,
    ...etc.attach,
    ...volumes.attach,
  ];
  if (pidNsFd !== undefined) steps.push({ op: 'enter_pid_ns', fd: pidNsFd });
  steps.push({ op: 'mkdir', path: '/proc', mode: 0o555 }, { op: 'mount', source: 'proc', target: '/proc', fstype: 'proc', flags: ['nosuid', 'nodev', 'noexec'] });
  if (!security.privileged) {
    for (const p of MASKED_PATHS) steps.push({ op: 'mask', path: p, nullDevice: '/dev/null' });
    for (const p of READONLY_PATHS) steps.push({ op: 'readonly_path', path: p });
  }
  // runc creates a missing working directory; so do we, inside the new root.
  const cwd = posix.resolve('/', command.workingDir);
  for (const dir of ancestorsAndSelf(cwd)) steps.push({ op: 'mkdir', path: dir, mode: 0o755 });
  if (security.readOnlyRootFilesystem) steps.push({ op: 'remount_ro', target: '/' });
  steps.push(
    ...securitySteps(security, input.arch ?? process.arch),
    // As the container's user, like runc: a directory it may not enter fails here.
    { op: 'chdir', path: cwd },
    { op: 'pdeathsig', signal: 'SIGKILL', procFd: hostProc },
    { op: 'setsid' },
    // PID 1 of the container's own namespace is pause --init, which starts the
    // command as its child, reaps every orphan, and exits as the command does.
    execThroughPause(pause.fd, command, pid.own ? 'init' : 'exec'),
  );
  return {
    name: container.name,
    newNamespaces: pid.own ? ['mnt', 'pid'] : ['mnt'],
    // pause as init takes its signals with sigwaitinfo: blocked across exec, none is lost.
    keepSignalsBlocked: pid.own,
    steps,
  };
}

/** "/a/b" -> ["/a", "/a/b"]; "/" -> []. */
function ancestorsAndSelf(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}
