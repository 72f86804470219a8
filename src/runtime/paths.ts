// Where a pod's things live, and how the directories that hold them are
// made. One root per peapod instance, so that tests (and people) can run
// several side by side: --root or PEAPOD_ROOT. The modes are in modes.ts.
import { chownSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { markTopDir } from '../native/addon.js';
import { makeDir, makeOwnDir, MODE } from './modes.js';

export const DEFAULT_STATE_ROOT = '/run/peapod';
export const DEFAULT_DATA_ROOT = '/var/lib/peapod';

export interface RuntimePaths {
  /** Pod state: status, supervisor pid. */
  state: string;
  /** Pod data: overlay layers, volumes, logs. */
  data: string;
  /** The image store. */
  images: string;
  /**
   * The roots the user named (--root, PEAPOD_*): made 0700 when missing,
   * but never chmodded when found, as they may be shared directories (what
   * peapod keeps in them is closed by its own pods/ directory).
   */
  given?: readonly string[];
}

export interface ContainerDirs {
  /** Its data: the writable layer (upper, work) and its termination log, kept on disk. */
  dir: string;
  /** Its runtime state, in the state root (a tmpfs on a host, as /run is): the root's mount point, named pipes. */
  run: string;
  rootfs: string;
  upper: string;
  work: string;
  terminationLog: string;
}

export interface PodPaths {
  /** Runtime state (records, mount points, the files made at each start): the state root's pod directory. */
  state: string;
  /** The supervisor's record: pids and start times (runtime.json). */
  recordFile: string;
  /** The pod as a v1 Pod object with its live status (pod.json). */
  podFile: string;
  /** What happened to the pod, as kubelet events (events.json). */
  eventsFile: string;
  /** What holds user data or must survive a reboot: writable layers, volumes, logs. */
  data: string;
  shm: string;
  etc: { hosts: string; hostname: string; resolvConf: string };
  volume(name: string): string;
  container(name: string): ContainerDirs;
  log(container: string, restart: number): string;
}

/**
 * One root for everything (--root or PEAPOD_ROOT), else state and data
 * apart: PEAPOD_STATE_ROOT (default /run/peapod) and PEAPOD_DATA_ROOT
 * (default /var/lib/peapod). The image store is PEAPOD_IMAGES, else
 * `images` in the data root.
 */
export function runtimePaths(opts: { root?: string | undefined } = {}, env: NodeJS.ProcessEnv = process.env): RuntimePaths {
  const root = opts.root || env.PEAPOD_ROOT;
  const images = env.PEAPOD_IMAGES || undefined;
  const named = (...dirs: Array<string | undefined>): string[] => dirs.filter((d): d is string => !!d);
  if (root) return { state: root, data: root, images: images ?? join(root, 'images'), given: named(root, images) };
  const state = env.PEAPOD_STATE_ROOT || undefined;
  const data = env.PEAPOD_DATA_ROOT || undefined;
  return {
    state: state ?? DEFAULT_STATE_ROOT,
    data: data ?? DEFAULT_DATA_ROOT,
    images: images ?? join(data ?? DEFAULT_DATA_ROOT, 'images'),
    given: named(state, data, images),
  };
}

/**
 * The roots, their pods/ directories and the image store, closed to other
 * host users (see RuntimePaths.given). Each pods/ is marked as the top of
 * unrelated trees (chattr +T), as /home would be: on ext4 every pod then
 * gets block groups of its own (see markTopDir).
 */
export function prepareRoots(paths: RuntimePaths): void {
  const given = new Set(paths.given ?? []);
  const root = (dir: string): void => void (given.has(dir) ? makeDir(dir, MODE.rootDir) : makeOwnDir(dir, MODE.rootDir));
  for (const dir of new Set([paths.state, paths.data])) root(dir);
  for (const dir of new Set([join(paths.state, 'pods'), join(paths.data, 'pods')])) {
    makeOwnDir(dir, MODE.rootDir);
    markTopDir(dir);
  }
  root(paths.images);
}

export function podPaths(paths: RuntimePaths, name: string): PodPaths {
  const state = join(paths.state, 'pods', name);
  const data = join(paths.data, 'pods', name);
  return {
    state,
    recordFile: join(state, 'runtime.json'),
    podFile: join(state, 'pod.json'),
    eventsFile: join(state, 'events.json'),
    data,
    // What each start makes again goes where runtime state goes (containerd's /run/containerd): on a
    // host's tmpfs a file costs microseconds where one on disk (ext4 here) costs 0.1-0.6 ms.
    shm: join(state, 'shm'),
    etc: { hosts: join(state, 'etc', 'hosts'), hostname: join(state, 'etc', 'hostname'), resolvConf: join(state, 'etc', 'resolv.conf') },
    volume: (v) => join(data, 'volumes', v),
    container: (c) => {
      const dir = join(data, 'containers', c);
      const run = join(state, 'containers', c);
      return { dir, run, rootfs: join(run, 'rootfs'), upper: join(dir, 'upper'), work: join(dir, 'work'), terminationLog: join(dir, 'termination-log') };
    },
    log: (c, restart) => join(data, 'logs', c, `${restart}.log`),
  };
}

/**
 * The paths of a pod a peapod made before its runtime state moved to the
 * state root (its /etc files, /dev/shm and its containers' root mount points
 * were in its data directory): adopted by a daemon after an upgrade, its
 * sandbox is addressed where they are. Any other pod's paths as they are.
 */
export function adoptedPodPaths(pp: PodPaths): PodPaths {
  const oldEtc = join(pp.data, 'etc');
  if (pp.state === pp.data || existsSync(dirname(pp.etc.hostname)) || !existsSync(oldEtc)) return pp;
  return {
    ...pp,
    shm: join(pp.data, 'shm'),
    etc: { hosts: join(oldEtc, 'hosts'), hostname: join(oldEtc, 'hostname'), resolvConf: join(oldEtc, 'resolv.conf') },
    container: (c) => {
      const dirs = pp.container(c);
      return { ...dirs, run: dirs.dir, rootfs: join(dirs.dir, 'rootfs') };
    },
  };
}

/**
 * A container instance's directories. The upper layer becomes the
 * container's "/" (overlayfs takes the root's mode from it), so it takes
 * the mode and owner of the image's root, as containerd's snapshotter does.
 */
export function makeContainerDirs(dirs: ContainerDirs, imageRootfs: string): void {
  makeDir(dirs.rootfs, MODE.podDir);
  makeDir(dirs.work, MODE.overlayWork);
  const root = statSync(imageRootfs);
  makeDir(dirs.upper, root.mode & 0o7777);
  chownSync(dirs.upper, root.uid, root.gid);
}
