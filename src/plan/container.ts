// A container of the pod: join pause's namespaces, build a private mount
// namespace around an overlay of the image, pivot into it, give up every
// privilege the container is not granted, exec.
//
// The order, and why:
//   1. setns net, ipc, uts: pause's (which are the host's for hostNetwork/hostIPC).
//   2. open what must be opened before anything is mounted: subPaths (beneath
//      their volume, never through a symlink out of it) and, for volumes with
//      mount propagation, a detached copy of the host's mounts that keeps its
//      peers (open_tree). Each is an fd; later steps name it.
//   3. make / private: nothing mounted from here on propagates to the host.
//   4. the overlay root, /proc, /sys (read-only), /dev, the masked and
//      read-only paths of /proc and /sys, the pod's /etc files, the volumes.
//   5. pivot_root; the working directory; a read-only root if asked.
//   6. seccomp, no_new_privs, capabilities and ids (security.ts), chdir.
//   7. PR_SET_PDEATHSIG (after the uid change, which clears it), setsid, exec.
import { posix } from 'node:path';
import type { Container, PodSpec, VolumeMount } from '../spec/types.js';
import type { Image } from '../image/store.js';
import { pauseBinary } from '../native/addon.js';
import { buildEnv, expandReferences, resolveCommand } from './command.js';
import { ancestorsWithin, scopedJoin, type FsView } from './scoped-path.js';
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
  image: Pick<Image, 'rootfs' | 'config'>;
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
  /** The init of a container with its own PID namespace. Default: the pause binary. */
  initBinary?: string | undefined;
  /** Node's process.arch, for the seccomp filter. Default: this process's. */
  arch?: string | undefined;
}

export class PlanError extends Error {
  override name = 'PlanError';
}

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

/**
 * Steps that make `containerPath` exist as a dir or file under `rootfs`, and
 * the resolved target. Symlinks are resolved in the image (`imageRoot`), not
 * in `rootfs`: on the host `rootfs` is an empty directory (the overlay exists
 * only in the child's mount namespace), and the child, before pivot_root,
 * would follow an image link such as /data -> /etc through the host's root.
 * The upper layer is fresh, so what the image says is what the child finds.
 */
function mountPoint(imageRoot: string, rootfs: string, containerPath: string, kind: 'dir' | 'file', fs: FsView): { steps: Step[]; target: string } {
  const target = posix.join(rootfs, posix.relative(imageRoot, scopedJoin(imageRoot, containerPath, fs)));
  const steps: Step[] = ancestorsWithin(rootfs, target).map((path) => ({ op: 'mkdir', path, mode: 0o755 }));
  steps.push(kind === 'dir' ? { op: 'mkdir', path: target, mode: 0o755 } : { op: 'touch', path: target, mode: 0o644 });
  return { steps, target };
}

function devSteps(rootfs: string, shm: string): Step[] {
  const dev = posix.join(rootfs, 'dev');
  const steps: Step[] = [
    { op: 'mkdir', path: dev, mode: 0o755 },
    { op: 'mount', source: 'tmpfs', target: dev, fstype: 'tmpfs', flags: ['nosuid', 'strictatime'], data: 'mode=755,size=65536k' },
    { op: 'umask', mask: 0 },
  ];
  for (const d of DEVICES) {
    steps.push({ op: 'mknod', path: posix.join(dev, d.name), mode: 0o666, major: d.major, minor: d.minor });
  }
  const pts = posix.join(dev, 'pts');
  const shmTarget = posix.join(dev, 'shm');
  steps.push(
    { op: 'mkdir', path: pts, mode: 0o755 },
    { op: 'mount', source: 'devpts', target: pts, fstype: 'devpts', flags: ['nosuid', 'noexec'], data: 'newinstance,ptmxmode=0666,mode=0620,gid=5' },
    { op: 'symlink', target: 'pts/ptmx', path: posix.join(dev, 'ptmx') },
    { op: 'mkdir', path: shmTarget, mode: 0o1777 },
    // One tmpfs for the whole pod: POSIX shm crosses containers like SysV IPC does.
    { op: 'mount', source: shm, target: shmTarget, flags: ['bind'] },
    { op: 'symlink', target: '/proc/self/fd', path: posix.join(dev, 'fd') },
    { op: 'symlink', target: '/proc/self/fd/0', path: posix.join(dev, 'stdin') },
    { op: 'symlink', target: '/proc/self/fd/1', path: posix.join(dev, 'stdout') },
    { op: 'symlink', target: '/proc/self/fd/2', path: posix.join(dev, 'stderr') },
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

interface VolumePlan {
  /** Opened before / is made private. */
  open: Step[];
  /** Mounted inside the new root. */
  mount: Step[];
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

/** A volume already mounted in the container: where it shows, and where it is in the child's tree. */
interface Placed {
  mountPath: string;
  target: string;
  name: string;
}

/**
 * A mountPath inside another volume (a volume at /data, one at /data/x/y):
 * its mount point is made and opened beneath that volume, one component at
 * a time with no symlink followed, and the mount goes onto the opened fd.
 * By path, a link planted in the shared volume by another container could
 * aim the mkdir, before pivot_root, at the host.
 */
function nestedMountPoint(mountPath: string, kind: 'dir' | 'file', placed: readonly Placed[], fds: Fds, where: string): { steps: Step[]; target: string; mountOn: string } | null {
  const path = posix.resolve('/', mountPath);
  const parent = placed.filter((p) => path.startsWith(p.mountPath === '/' ? '/' : `${p.mountPath}/`)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!parent) return null;
  const fd = fds.take();
  const rel = posix.relative(parent.mountPath, path);
  const what = `${where}: mountPath ${path} inside volume ${JSON.stringify(parent.name)}`;
  if (kind === 'dir') {
    return {
      steps: [{ op: 'open_beneath', base: parent.target, path: rel, fd, mkdirMode: 0o755, what }],
      target: posix.join(parent.target, rel),
      mountOn: `/proc/self/fd/${fd}`,
    };
  }
  // A file: its directory opened beneath the volume, the file made there
  // with O_NOFOLLOW (a planted link fails with ELOOP).
  const file = `/proc/self/fd/${fd}/${posix.basename(rel)}`;
  return {
    steps: [
      { op: 'open_beneath', base: parent.target, path: posix.dirname(rel), fd, mkdirMode: 0o755, what },
      { op: 'touch', path: file, mode: 0o644 },
    ],
    target: posix.join(parent.target, rel),
    mountOn: file,
  };
}

function volumeSteps(input: ContainerInputs, security: ProcessSecurity, fds: Fds): VolumePlan {
  const { container, dirs, volumes, fs } = input;
  const env = buildEnv(input.image.config, container, input.hostname);
  // Parents before children, so a nested mountPath lands on its parent volume.
  const mounts = (container.volumeMounts ?? [])
    .map((m, i) => ({ m, where: `container "${container.name}": volumeMounts[${i}] (${m.name})` }))
    .sort((a, b) => a.m.mountPath.length - b.m.mountPath.length);
  const out: VolumePlan = { open: [], mount: [] };
  const placed: Placed[] = [];
  for (const { m, where } of mounts) {
    const volume = volumes.get(m.name);
    if (!volume) throw new PlanError(`container "${container.name}": volume "${m.name}" was not prepared`);
    const propagation = m.mountPropagation ?? 'None';
    if (propagation === 'Bidirectional' && !security.privileged) {
      throw new PlanError(
        `${where}.mountPropagation: Bidirectional propagation needs a privileged container (securityContext.privileged: true); use HostToContainer or None`,
      );
    }
    let source = volume.hostPath;
    let kind = volume.kind;
    const sub = subPathOf(m, env, where);
    if (sub !== undefined && sub !== '.') {
      if (volume.kind !== 'dir') throw new PlanError(`${where}: subPath needs a directory volume; ${volume.hostPath} is a file`);
      // Never the path string: the fd of what was found beneath the volume,
      // so a symlink planted in it cannot aim the mount at the host.
      const fd = fds.take();
      kind = fs.isFile(posix.join(volume.hostPath, sub)) ? 'file' : 'dir';
      out.open.push({
        op: 'open_beneath',
        base: volume.hostPath,
        path: sub,
        fd,
        ...(kind === 'dir' ? { mkdirMode: volume.mode ?? 0o755 } : {}),
        what: `subPath ${JSON.stringify(sub)} of volume ${JSON.stringify(m.name)}`,
      });
      source = `/proc/self/fd/${fd}`;
    }
    const point: { steps: Step[]; target: string; mountOn?: string } =
      nestedMountPoint(m.mountPath, kind, placed, fds, where) ?? mountPoint(input.image.rootfs, dirs.rootfs, m.mountPath, kind, fs);
    placed.push({ mountPath: posix.resolve('/', m.mountPath), target: point.target, name: m.name });
    out.mount.push(...point.steps);
    if (propagation === 'None') {
      out.mount.push({ op: 'mount', source, target: point.mountOn ?? point.target, flags: ['bind', 'rec'] });
    } else {
      // A copy taken before / went private keeps its peers on the host:
      // HostToContainer makes it their slave, Bidirectional their peer.
      const fd = fds.take();
      out.open.push({ op: 'open_tree', path: source, fd });
      out.mount.push(
        { op: 'move_mount', fd, target: point.mountOn ?? point.target },
        { op: 'mount', source: '', target: point.target, flags: ['rec', propagation === 'Bidirectional' ? 'shared' : 'slave'] },
      );
    }
    // MS_RDONLY is ignored on the first bind: it takes a remount.
    if (m.readOnly === true) out.mount.push({ op: 'remount_ro', target: point.target });
  }
  return out;
}

/** The PID namespace a container lives in, and whether it needs an init of its own. */
function pidNamespace(input: ContainerInputs): { join?: string; own: boolean } {
  const podSpec = input.podSpec;
  const pauseNs = `/proc/${input.sandboxPid}/ns/pid`;
  // hostPID: pause is in the host's namespace, and so is everyone.
  if (podSpec?.hostPID) return { join: pauseNs, own: false };
  if (podSpec?.shareProcessNamespace === false) return { own: true };
  return { join: pauseNs, own: false };
}

export function containerPlan(input: ContainerInputs): SpawnPlan {
  const { container, image, dirs, pod, fs, podSpec } = input;
  const command = resolveCommand(image.config, container, input.hostname);
  let security: ProcessSecurity;
  try {
    security = resolveSecurity({ container, podSpec, rootfs: image.rootfs, fs });
  } catch (err) {
    if (err instanceof SecurityError) throw new PlanError(err.message);
    throw err;
  }
  const root = dirs.rootfs;
  const ns = (name: string): string => `/proc/${input.sandboxPid}/ns/${name}`;
  const pid = pidNamespace(input);
  const fds = new Fds();
  const etc = (file: string, source: string): Step[] => {
    const point = mountPoint(image.rootfs, root, posix.join('/etc', file), 'file', fs);
    return [...point.steps, { op: 'mount', source, target: point.target, flags: ['bind'] }];
  };
  const volumes = volumeSteps(input, security, fds);
  // Kubernetes gives a privileged container a writable /sys.
  const sysFlags: MountFlag[] = security.privileged ? ['nosuid', 'nodev', 'noexec'] : ['rdonly', 'nosuid', 'nodev', 'noexec'];

  const steps: Step[] = [
    { op: 'setns', path: ns('net'), ns: 'net' },
    { op: 'setns', path: ns('ipc'), ns: 'ipc' },
    { op: 'setns', path: ns('uts'), ns: 'uts' },
    // Directories made on the way to a subPath get the volume's mode exactly.
    { op: 'umask', mask: 0 },
    ...volumes.open,
    // Nothing mounted from here on may propagate back to the host.
    { op: 'mount', source: '', target: '/', flags: ['rec', 'private'] },
    {
      op: 'mount', source: 'overlay', target: root, fstype: 'overlay', flags: [],
      data: `lowerdir=${image.rootfs},upperdir=${dirs.upper},workdir=${dirs.work}`,
    },
  ];
  for (const m of [
    { fstype: 'proc', path: 'proc', flags: ['nosuid', 'nodev', 'noexec'] as MountFlag[] },
    { fstype: 'sysfs', path: 'sys', flags: sysFlags },
  ]) {
    const target = posix.join(root, m.path);
    steps.push({ op: 'mkdir', path: target, mode: 0o555 }, { op: 'mount', source: m.fstype, target, fstype: m.fstype, flags: m.flags });
  }
  // hostIPC: the host's IPC namespace, and the host's /dev/shm with it.
  steps.push(...devSteps(root, podSpec?.hostIPC ? '/dev/shm' : pod.shm));
  if (!security.privileged) {
    const nullDevice = posix.join(root, 'dev/null');
    for (const p of MASKED_PATHS) steps.push({ op: 'mask', path: posix.join(root, p), nullDevice });
    for (const p of READONLY_PATHS) steps.push({ op: 'readonly_path', path: posix.join(root, p) });
  }
  steps.push(
    ...etc('hosts', pod.hosts),
    ...etc('hostname', pod.hostname),
    ...etc('resolv.conf', pod.resolvConf),
    ...volumes.mount,
  );
  const initFd = pid.own ? fds.take() : undefined;
  if (initFd !== undefined) steps.push({ op: 'open', path: input.initBinary ?? pauseBinary, fd: initFd });
  steps.push({ op: 'pivot_root', root });
  // runc creates a missing working directory; so do we, inside the new root.
  const cwd = posix.resolve('/', command.workingDir);
  for (const dir of [...ancestorsWithin('/', cwd), cwd]) {
    if (dir !== '/') steps.push({ op: 'mkdir', path: dir, mode: 0o755 });
  }
  if (security.readOnlyRootFilesystem) steps.push({ op: 'remount_ro', target: '/' });
  steps.push(
    ...securitySteps(security, input.arch ?? process.arch),
    // As the container's user, like runc: a directory it may not enter fails here.
    { op: 'chdir', path: cwd },
    { op: 'pdeathsig', signal: 'SIGKILL' },
    { op: 'setsid' },
  );
  if (initFd === undefined) {
    steps.push({ op: 'exec', candidates: command.candidates, argv: command.argv, env: command.env });
  } else {
    // PID 1 of the container's own namespace is pause, which starts the
    // command as its child, reaps every orphan, and exits as the command does.
    steps.push({
      op: 'exec',
      candidates: [],
      fd: initFd,
      argv: ['pause', '--init', String(command.candidates.length), ...command.candidates, ...command.argv],
      env: command.env,
    });
  }
  return {
    name: container.name,
    newNamespaces: pid.own ? ['mnt', 'pid'] : ['mnt'],
    ...(pid.join ? { joinPidNamespace: pid.join } : {}),
    // pause as init takes its signals with sigwaitinfo: blocked across exec, none is lost.
    keepSignalsBlocked: pid.own,
    steps,
  };
}
