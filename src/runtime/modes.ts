// Who on the host may reach what peapod keeps: every mode peapod gives a
// file or directory, by name, and the few functions that create things with
// them. A mode is always set explicitly (chmod after create): the umask can
// only make a new entry tighter for a moment, never looser, so a host umask
// of 0 loosens nothing.
//
// The rule, as the kubelet's and containerd's: the roots and the pod
// directories are closed to other host users; what a container must use as
// any uid (emptyDir, the termination log, /dev/shm, its writable layer)
// keeps the open mode it needs inside, and a host user cannot traverse to it.
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const MODE = {
  /** The state, data and image roots, and the pods/ and sockets/ directories in them. */
  rootDir: 0o700,
  /** A pod's directories and every directory peapod makes in them (the kubelet's pod directories are 0750). */
  podDir: 0o750,
  /** runtime.json, pod.json, events.json: pids, the pod's spec and env (secrets included). */
  record: 0o600,
  /** Container logs and the supervisor's log (containerd's are 0640). */
  log: 0o640,
  /** The control socket: connecting needs write permission, so only root may ask for a delete. */
  socket: 0o600,
  /** /etc/hosts, /etc/hostname, /etc/resolv.conf: bind-mounted into every container, read by any uid. */
  podEtcFile: 0o644,
  /** emptyDir: any uid of the pod may use it (the kubelet's 0777), 2777 with an fsGroup. */
  emptyDir: 0o777,
  emptyDirFsGroup: 0o2777,
  /** The termination log: any uid the container runs as may write its message. */
  terminationLog: 0o666,
  /** The pod's /dev/shm, as on any Linux host. */
  shm: 0o1777,
  /** overlayfs' work directory: never seen by the container. */
  overlayWork: 0o700,
  /** hostPath DirectoryOrCreate and FileOrCreate, as the kubelet makes them. */
  hostPathDir: 0o755,
  hostPathFile: 0o644,
} as const;

export class LayoutError extends Error {
  override name = 'LayoutError';
}

/** `0o1777` -> `1777`, for mount options and messages. */
export function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * Runs `use` on the directory itself, opened without following a symbolic
 * link at its end: a chmod by name could be sent elsewhere by a link
 * swapped in meanwhile (a hostPath's parent may be writable by others).
 */
function withDir<T>(dir: string, follow: boolean, use: (fd: number) => T): T {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | (follow ? 0 : constants.O_NOFOLLOW));
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes `dir` and any missing parents, each with exactly `mode`. Directories
 * that exist are left as they are. Returns the first directory created.
 */
export function makeDir(dir: string, mode: number): string | undefined {
  const first = mkdirSync(dir, { recursive: true, mode });
  if (first === undefined) return undefined;
  for (let p = dir; ; p = dirname(p)) {
    withDir(p, false, (fd) => fchmodSync(fd, mode));
    if (p === first || dirname(p) === p) break;
  }
  return first;
}

/**
 * A directory peapod owns outright (a default root, pods/, sockets/, a
 * default image store): made with `mode`, and tightened to it when found
 * looser, as an older peapod (or a umask of 0) may have left it; containerd
 * did the same on upgrade for CVE-2021-41103. It must be root's: one that
 * another user made (in a shared parent such as /tmp) could be read or
 * changed by that user, so peapod refuses it.
 */
export function makeOwnDir(dir: string, mode: number): void {
  try {
    if (makeDir(dir, mode) !== undefined) return;
  } catch (err) {
    // Something else is there: said below.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const uid = process.getuid?.() ?? 0;
  const link = lstatSync(dir);
  if (!link.isSymbolicLink() && !link.isDirectory()) throw new LayoutError(`${dir} is not a directory; peapod keeps its state there: remove it or choose another root`);
  const refuse = (what: string, owner: number): never => {
    throw new LayoutError(
      `${dir}: ${what} belongs to uid ${owner}, not to uid ${uid} that runs peapod; that user could read or change what peapod keeps there: remove it, or choose another root (--root)`,
    );
  };
  if (link.uid !== uid) refuse(link.isSymbolicLink() ? 'the symbolic link to it' : 'it', link.uid);
  // Checked and changed through one fd: the directory looked at is the one chmodded.
  withDir(dir, true, (fd) => {
    const st = fstatSync(fd);
    if (st.uid !== uid) refuse('it', st.uid);
    const current = st.mode & 0o7777;
    if ((current & ~mode) !== 0) fchmodSync(fd, current & mode);
  });
}

/** Opens (creating if needed) a file whose mode is exactly `mode`, whatever the umask or its old mode. */
export function openWithMode(path: string, flags: 'w' | 'a' | 'ax', mode: number): number {
  const fd = openSync(path, flags, mode);
  try {
    fchmodSync(fd, mode);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Writes a whole file whose mode is exactly `mode`. */
export function writeFileWithMode(path: string, data: string | Uint8Array, mode: number): void {
  const fd = openWithMode(path, 'w', mode);
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs `make` (which must create its file synchronously, as a unix socket's
 * bind does) under a umask that leaves only `mode`: for the files whose mode
 * cannot be given at creation. The umask is restored before returning.
 */
export function withUmaskFor<T>(mode: number, make: () => T): T {
  const old = process.umask(0o777 & ~mode);
  try {
    return make();
  } finally {
    process.umask(old);
  }
}
