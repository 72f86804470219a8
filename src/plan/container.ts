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
import { overlayRootSteps, type OverlayImage } from '../image/lowerdir.js';
import type { Image } from '../image/store.js';
import { pauseBinary } from '../package.js';
import type { ContainerConfig, Mount } from '../runtime/api.js';
import { resolveCommand } from './command.js';
import { execThroughPause, openPause } from './launch.js';
import { scopedJoin, type FsView } from './scoped-path.js';
import type { HostFileReader } from './seccomp.js';
import { checkSubPath, resolveSecurity, SecurityError, securitySteps, type ProcessSecurity } from './security.js';
import { PLAN_FDS, type MountFlag, type SpawnPlan, type Step } from './types.js';

/** The sandbox a container joins, as the runtime keeps it. */
export interface SandboxFacts {
  /** pause's pid, as seen from the host. */
  pid: number;
  hostname: string;
  /** The sandbox's /dev/shm (on the host), and its /etc/hostname and /etc/resolv.conf. */
  shm: string;
  etc: { hostname: string; resolvConf: string };
}

export interface ContainerInputs {
  /** What the kubelet asks for (the CRI's ContainerConfig). */
  config: ContainerConfig;
  image: Pick<Image, 'rootfs' | 'config'> & OverlayImage;
  sandbox: SandboxFacts;
  /** Host directories of this container instance. */
  dirs: { rootfs: string; upper: string; work: string };
  /** The image's files and the mounts' host paths, as the plan may look at them. */
  fs: FsView;
  /** pause: what every process is started through, and the init of a container with its own PID namespace. Default: the built one. */
  launcher?: string | undefined;
  /** Node's process.arch, for the seccomp filter. Default: this process's. */
  arch?: string | undefined;
  /** How a Localhost seccomp profile is read. Default: node:fs. */
  readProfile?: HostFileReader | undefined;
  /** The process's identity and privileges, when already resolved (resolveSecurity of the config's). */
  security?: ProcessSecurity | undefined;
  /**
   * It outlives whoever started it (a pod of the node daemon, adopted by the
   * next daemon): no PR_SET_PDEATHSIG. Default: it dies with its supervisor.
   */
  detached?: boolean | undefined;
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

/** The kernel's word for the CRI's propagation. */
const PROPAGATION: Record<Mount['propagation'], 'private' | 'slave' | 'shared'> = {
  PROPAGATION_PRIVATE: 'private',
  PROPAGATION_HOST_TO_CONTAINER: 'slave',
  PROPAGATION_BIDIRECTIONAL: 'shared',
};

function mountsSteps(input: ContainerInputs, security: ProcessSecurity, ctx: { image: ImageView; placed: Placed[]; fds: Fds }): MountPlan {
  const { config, fs } = input;
  const { fds } = ctx;
  // Parents before children, so a nested mount lands on its parent.
  const mounts = config.mounts
    .map((m, i) => ({ m, where: `container "${config.metadata.name}": ${m.field ?? `mounts[${i}]`}` }))
    .sort((a, b) => a.m.containerPath.length - b.m.containerPath.length);
  const plans: MountPlan[] = [];
  for (const { m, where } of mounts) {
    // The field itself names the path (terminationMessagePath); a volume mount says which of its fields.
    const mountPath = checkMountPath(m.containerPath, m.field === 'terminationMessagePath' ? where : `${where}.mountPath`);
    const propagation = PROPAGATION[m.propagation];
    if (propagation === 'shared' && !security.privileged) {
      throw new PlanError(
        `${where}.mountPropagation: Bidirectional propagation needs a privileged container (securityContext.privileged: true); use HostToContainer or None`,
      );
    }
    let source: { path: string } | { fd: number; path: string } = { path: m.hostPath };
    let kind: 'dir' | 'file' = m.kind ?? (fs.isFile(m.hostPath) ? 'file' : 'dir');
    const early: Step[] = [];
    const sub = m.subPath === undefined ? undefined : checkSubPath(m.subPath, m.field?.includes('.subPathExpr') ? where : `${where}.subPath`);
    if (sub !== undefined && sub !== '.') {
      if (kind !== 'dir') throw new PlanError(`${where}: subPath needs a directory volume; ${m.hostPath} is a file`);
      // Never the path string: the fd of what was found beneath the volume,
      // so a symlink planted in it cannot aim the mount at the host.
      const fd = fds.take();
      kind = fs.isFile(posix.join(m.hostPath, sub)) ? 'file' : 'dir';
      early.push({
        op: 'open_beneath',
        base: m.hostPath,
        path: sub,
        fd,
        ...(kind === 'dir' ? { make: 'dirs' as const, mode: m.subPathMode ?? 0o755 } : {}),
        what: `subPath ${JSON.stringify(sub)} of ${m.what ?? m.hostPath}`,
      });
      source = { fd, path: posix.join(m.hostPath, sub) };
    }
    // A copy taken before / went private keeps its peers on the host:
    // HostToContainer makes it their slave, Bidirectional their peer.
    const what = m.what ?? `the mount of ${m.hostPath}`;
    const plan = mountSteps(source, { path: mountPath, kind }, { early: propagation !== 'private', readOnly: m.readonly, propagation, what }, ctx);
    plans.push({ early: [...early, ...plan.early], copy: plan.copy, attach: plan.attach });
  }
  return concat(plans);
}

export function containerPlan(input: ContainerInputs): SpawnPlan {
  const { config, image, dirs, sandbox } = input;
  const name = config.metadata.name;
  const sc = config.linux.securityContext;
  const command = resolveCommand(image.config, { ...config, name }, sandbox.hostname);
  let security: ProcessSecurity;
  try {
    security = input.security ?? resolveSecurity({ sc, rootfs: image.rootfs, fs: input.fs, where: `container "${name}"`, readProfile: input.readProfile });
  } catch (err) {
    if (err instanceof SecurityError) throw new PlanError(err.message);
    throw err;
  }
  const ns = (kind: string): string => `/proc/${sandbox.pid}/ns/${kind}`;
  // Its own PID namespace (pause --init as its PID 1), or the sandbox's
  // (which for hostPID is the host's): joined by a child born in it.
  const ownPid = sc.namespaceOptions.pid === 'CONTAINER';
  // With a PID namespace of its own, pause is its PID 1 unless the command must be (the CRI's containers).
  const init = ownPid && config.pidInit !== false;
  const fds = new Fds();
  const pidNsFd = ownPid ? undefined : fds.take();
  const pause = openPause(input.launcher ?? pauseBinary, fds.take());
  const hostProc = fds.take();
  const where = { image: { rootfs: image.rootfs, fs: input.fs }, placed: [] as Placed[], fds };
  const private_ = { early: false, readOnly: false, propagation: 'private' as const };
  // NODE IPC: the host's IPC namespace, and the host's /dev/shm with it.
  const shm = mountSteps({ path: sc.namespaceOptions.ipc === 'NODE' ? '/dev/shm' : sandbox.shm }, { path: '/dev/shm', kind: 'dir' }, { ...private_, what: "the pod's /dev/shm" }, where);
  const etc = concat(
    (['hostname', 'resolv.conf'] as const).map((file) =>
      mountSteps({ path: file === 'hostname' ? sandbox.etc.hostname : sandbox.etc.resolvConf }, { path: `/etc/${file}`, kind: 'file' }, { ...private_, what: `/etc/${file}` }, where),
    ),
  );
  const mounts = mountsSteps(input, security, where);
  // Kubernetes gives a privileged container a writable /sys.
  const sysFlags: MountFlag[] = security.privileged ? ['nosuid', 'nodev', 'noexec'] : ['rdonly', 'nosuid', 'nodev', 'noexec'];

  const oomScoreAdj = config.linux.resources.oomScoreAdj;
  const steps: Step[] = [
    // Inherited by everything the container starts (the runtime clamped it to what it may write).
    ...(oomScoreAdj !== undefined ? [{ op: 'write_file' as const, path: '/proc/self/oom_score_adj', content: String(oomScoreAdj) }] : []),
    { op: 'setns', path: ns('net'), ns: 'net' },
    { op: 'setns', path: ns('ipc'), ns: 'ipc' },
    { op: 'setns', path: ns('uts'), ns: 'uts' },
    ...(pidNsFd !== undefined ? [{ op: 'open' as const, path: ns('pid'), fd: pidNsFd, read: true }] : []),
    { op: 'new_session_keyring' },
    pause.open,
    // Who the parent is, for the PR_SET_PDEATHSIG check (step 8).
    { op: 'open', path: '/proc', fd: hostProc },
    // Directories made on the way to a subPath get the volume's mode exactly.
    { op: 'umask', mask: 0 },
    ...mounts.early,
    // Nothing mounted from here on may propagate back to the host.
    { op: 'mount', source: '', target: '/', flags: ['rec', 'private'] },
    ...shm.copy,
    ...etc.copy,
    ...mounts.copy,
    // The image's layers, top first (image/lowerdir.ts keeps the mount data within a page).
    ...overlayRootSteps(image, dirs),
    { op: 'pivot_root', root: dirs.rootfs },
    { op: 'mkdir', path: '/sys', mode: 0o555 },
    { op: 'mount', source: 'sysfs', target: '/sys', fstype: 'sysfs', flags: sysFlags },
    ...devSteps(),
    ...shm.attach,
    ...etc.attach,
    ...mounts.attach,
  ];
  if (pidNsFd !== undefined) steps.push({ op: 'enter_pid_ns', fd: pidNsFd });
  steps.push({ op: 'mkdir', path: '/proc', mode: 0o555 }, { op: 'mount', source: 'proc', target: '/proc', fstype: 'proc', flags: ['nosuid', 'nodev', 'noexec'] });
  if (!security.privileged) {
    for (const p of sc.maskedPaths ?? MASKED_PATHS) steps.push({ op: 'mask', path: p, nullDevice: '/dev/null' });
    for (const p of sc.readonlyPaths ?? READONLY_PATHS) steps.push({ op: 'readonly_path', path: p });
  }
  // runc creates a missing working directory; so do we, inside the new root.
  const cwd = posix.resolve('/', command.workingDir);
  for (const dir of ancestorsAndSelf(cwd)) steps.push({ op: 'mkdir', path: dir, mode: 0o755 });
  if (security.readOnlyRootFilesystem) steps.push({ op: 'remount_ro', target: '/' });
  steps.push(
    ...securitySteps(security, input.arch ?? process.arch),
    // As the container's user, like runc: a directory it may not enter fails here.
    { op: 'chdir', path: cwd },
    ...(input.detached ? [] : [{ op: 'pdeathsig' as const, signal: 'SIGKILL' as const, procFd: hostProc }]),
    { op: 'setsid' },
    // PID 1 of the container's own namespace is pause --init, which starts the
    // command as its child, reaps every orphan, and exits as the command does.
    execThroughPause(pause.fd, command, init ? 'init' : 'exec'),
  );
  return {
    name,
    newNamespaces: ownPid ? ['mnt', 'pid'] : ['mnt'],
    // pause as init takes its signals with sigwaitinfo: blocked across exec, none is lost.
    keepSignalsBlocked: init,
    steps,
  };
}

/** "/a/b" -> ["/a", "/a/b"]; "/" -> []. */
function ancestorsAndSelf(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}
