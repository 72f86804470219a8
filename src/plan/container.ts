// A container of the pod: join pause's namespaces, build a private mount
// namespace around an overlay of the image, pivot into it, exec.
import { posix } from 'node:path';
import type { Container } from '../spec/types.js';
import type { Image } from '../image/store.js';
import { resolveCommand } from './command.js';
import { ancestorsWithin, scopedJoin, type FsView } from './scoped-path.js';
import type { MountFlag, SpawnPlan, Step } from './types.js';

/** A volume as the runtime prepared it on the host. */
export interface PreparedVolume {
  hostPath: string;
  kind: 'dir' | 'file';
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
}

const DEVICES: ReadonlyArray<{ name: string; major: number; minor: number }> = [
  { name: 'null', major: 1, minor: 3 },
  { name: 'zero', major: 1, minor: 5 },
  { name: 'full', major: 1, minor: 7 },
  { name: 'random', major: 1, minor: 8 },
  { name: 'urandom', major: 1, minor: 9 },
  { name: 'tty', major: 5, minor: 0 },
];

/** Steps that make `path` (inside the rootfs) exist as a dir or file, and the resolved target. */
function mountPoint(rootfs: string, containerPath: string, kind: 'dir' | 'file', fs: FsView): { steps: Step[]; target: string } {
  const target = scopedJoin(rootfs, containerPath, fs);
  const steps: Step[] = ancestorsWithin(rootfs, target).map((path) => ({ op: 'mkdir', path, mode: 0o755 }));
  steps.push(kind === 'dir' ? { op: 'mkdir', path: target, mode: 0o755 } : { op: 'touch', path: target, mode: 0o644 });
  return { steps, target };
}

function bind(source: string, target: string, readOnly: boolean): Step[] {
  const steps: Step[] = [{ op: 'mount', source, target, flags: ['bind', 'rec'] }];
  // MS_RDONLY is ignored on the first bind: it takes a remount.
  if (readOnly) steps.push({ op: 'mount', source: '', target, flags: ['bind', 'remount', 'rdonly', 'rec'] });
  return steps;
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

function volumeSteps(input: ContainerInputs): Step[] {
  const { container, dirs, volumes, fs } = input;
  // Parents before children, so a nested mountPath lands on its parent volume.
  const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => a.mountPath.length - b.mountPath.length);
  const steps: Step[] = [];
  for (const m of mounts) {
    const volume = volumes.get(m.name);
    if (!volume) throw new Error(`container "${container.name}": volume "${m.name}" was not prepared`);
    const point = mountPoint(dirs.rootfs, m.mountPath, volume.kind, fs);
    steps.push(...point.steps, ...bind(volume.hostPath, point.target, m.readOnly === true));
  }
  return steps;
}

export function containerPlan(input: ContainerInputs): SpawnPlan {
  const { container, image, dirs, pod, fs } = input;
  const command = resolveCommand(image.config, container, input.hostname);
  const root = dirs.rootfs;
  const ns = (name: string): string => `/proc/${input.sandboxPid}/ns/${name}`;
  const etc = (file: string, source: string): Step[] => {
    const point = mountPoint(root, posix.join('/etc', file), 'file', fs);
    return [...point.steps, { op: 'mount', source, target: point.target, flags: ['bind'] }];
  };
  const fixed: Array<{ fstype: string; path: string; flags: MountFlag[] }> = [
    { fstype: 'proc', path: 'proc', flags: ['nosuid', 'nodev', 'noexec'] },
    { fstype: 'sysfs', path: 'sys', flags: ['rdonly', 'nosuid', 'nodev', 'noexec'] },
  ];

  const steps: Step[] = [
    { op: 'setns', path: ns('net'), ns: 'net' },
    { op: 'setns', path: ns('ipc'), ns: 'ipc' },
    { op: 'setns', path: ns('uts'), ns: 'uts' },
    // Nothing mounted from here on may propagate back to the host.
    { op: 'mount', source: '', target: '/', flags: ['rec', 'private'] },
    {
      op: 'mount', source: 'overlay', target: root, fstype: 'overlay', flags: [],
      data: `lowerdir=${image.rootfs},upperdir=${dirs.upper},workdir=${dirs.work}`,
    },
  ];
  for (const m of fixed) {
    const target = posix.join(root, m.path);
    steps.push({ op: 'mkdir', path: target, mode: 0o555 }, { op: 'mount', source: m.fstype, target, fstype: m.fstype, flags: m.flags });
  }
  steps.push(
    ...devSteps(root, pod.shm),
    ...etc('hosts', pod.hosts),
    ...etc('hostname', pod.hostname),
    ...etc('resolv.conf', pod.resolvConf),
    ...volumeSteps(input),
    { op: 'pivot_root', root },
  );
  // runc creates a missing working directory; so do we, inside the new root.
  const cwd = posix.resolve('/', command.workingDir);
  for (const dir of [...ancestorsWithin('/', cwd), cwd]) {
    if (dir !== '/') steps.push({ op: 'mkdir', path: dir, mode: 0o755 });
  }
  steps.push(
    { op: 'chdir', path: cwd },
    { op: 'pdeathsig', signal: 'SIGKILL' },
    { op: 'setsid' },
    { op: 'exec', candidates: command.candidates, argv: command.argv, env: command.env },
  );
  return {
    name: container.name,
    newNamespaces: ['mnt'],
    joinPidNamespace: ns('pid'),
    keepSignalsBlocked: false,
    steps,
  };
}
