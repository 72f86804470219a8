// A spawn plan: one process of a pod as plain data, the kernel steps in the
// order the cloned child performs them. Plans are built by pure functions and
// executed by the addon; `peapod explain` prints them.
import type { Capability } from './capabilities.js';
import type { BpfInstruction } from './seccomp.js';

export type Namespace = 'pid' | 'net' | 'ipc' | 'uts' | 'mnt' | 'cgroup';

export type MountFlag =
  | 'rdonly' | 'nosuid' | 'nodev' | 'noexec' | 'bind' | 'rec' | 'remount'
  | 'private' | 'slave' | 'shared' | 'relatime' | 'strictatime';

export type Step =
  | { op: 'setns'; path: string; ns: Namespace }
  | { op: 'unshare'; ns: Namespace[] }
  | { op: 'mount'; source: string; target: string; fstype?: string; flags: MountFlag[]; data?: string }
  | { op: 'umount'; target: string; detach: boolean }
  | { op: 'mkdir'; path: string; mode: number }
  | { op: 'mknod'; path: string; mode: number; major: number; minor: number }
  | { op: 'touch'; path: string; mode: number }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'pivot_root'; root: string }
  | { op: 'chdir'; path: string }
  | { op: 'sethostname'; name: string }
  | { op: 'loopback_up' }
  | { op: 'pdeathsig'; signal: 'SIGKILL' | 'SIGTERM' }
  | { op: 'setsid'; controllingTerminal?: boolean }
  | { op: 'setgroups'; gids: number[] }
  | { op: 'setgid'; gid: number }
  | { op: 'setuid'; uid: number }
  | { op: 'no_new_privs' }
  | { op: 'write_file'; path: string; content: string }
  | { op: 'umask'; mask: number }
  // File descriptors the plan opens by number (see PLAN_FDS), so that later
  // steps can name them: `/proc/self/fd/N` as a mount source, or exec by fd.
  /** open(path, O_PATH|O_CLOEXEC), moved to `fd`. */
  | { op: 'open'; path: string; fd: number }
  /**
   * `path` under `base`, never leaving it: openat2(RESOLVE_BENEATH |
   * RESOLVE_NO_MAGICLINKS); where openat2 is missing, component by component
   * with O_NOFOLLOW, refusing every symlink. With mkdirMode, missing
   * directories are made on the way (each one opened O_NOFOLLOW after mkdirat).
   */
  | { op: 'open_beneath'; base: string; path: string; fd: number; mkdirMode?: number; what?: string }
  /** open_tree(OPEN_TREE_CLONE|AT_RECURSIVE): a detached copy of the mounts at `path`, keeping their peers. */
  | { op: 'open_tree'; path: string; fd: number }
  /** move_mount: attach the detached tree of `fd` at `target`. */
  | { op: 'move_mount'; fd: number; target: string }
  /** MS_REMOUNT|MS_BIND|MS_RDONLY, keeping the mount's nosuid/nodev/noexec/atime flags (statfs). */
  | { op: 'remount_ro'; target: string }
  /** OCI masked path: `nullDevice` bound over a file, an empty read-only tmpfs over a directory, nothing if missing. */
  | { op: 'mask'; path: string; nullDevice: string }
  /** OCI read-only path: bound onto itself, then remount_ro; nothing if missing. */
  | { op: 'readonly_path'; path: string }
  /** PR_CAPBSET_DROP of every capability not in `keep`. */
  | { op: 'capbset'; keep: Capability[] }
  /** PR_SET_KEEPCAPS, around the uid change. */
  | { op: 'keepcaps'; on: boolean }
  /**
   * capset(permitted, effective, inheritable), then the ambient set cleared and
   * `ambient` raised. limitToHeld: intersect with what this process holds.
   */
  | {
      op: 'capset';
      permitted: Capability[];
      effective: Capability[];
      inheritable: Capability[];
      ambient: Capability[];
      limitToHeld: boolean;
    }
  /** seccomp(SECCOMP_SET_MODE_FILTER) with this BPF program. */
  | { op: 'seccomp'; filter: BpfInstruction[]; profile?: string }
  /** execve of the first candidate that exists; with `fd`, execveat(fd, "", AT_EMPTY_PATH) instead. */
  | { op: 'exec'; candidates: string[]; argv: string[]; env: string[]; fd?: number };

/**
 * The numbers a plan gives the descriptors it opens: high enough to stay out
 * of the way of stdio, low enough for any RLIMIT_NOFILE. The child's fd
 * table is its own (no CLONE_FILES), and every one of them is CLOEXEC.
 */
export const PLAN_FDS = { base: 100, max: 999 } as const;

export interface SpawnPlan {
  /** Who this process is: "pause" or the container's name. */
  name: string;
  /** Namespaces created by clone() itself. */
  newNamespaces: Namespace[];
  /** A PID namespace to join: set for children before clone(), by the parent. */
  joinPidNamespace?: string;
  /** Signals stay blocked across exec (pause waits for them with rt_sigtimedwait). */
  keepSignalsBlocked: boolean;
  steps: Step[];
}
