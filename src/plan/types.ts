// A spawn plan: one process of a pod as plain data, the kernel steps in the
// order the cloned child performs them. Plans are built by pure functions and
// executed by the addon; `peapod explain` prints them.
import type { Capability } from './capabilities.js';
import type { StepOp } from './ops.js';
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
  /**
   * PR_SET_PDEATHSIG; with `procFd` (the host's /proc, opened before the
   * root or PID namespace changed), then a check that the parent is still
   * the spawner: if it died first, no signal would ever come, so fail now.
   */
  | { op: 'pdeathsig'; signal: 'SIGKILL' | 'SIGTERM'; procFd?: number }
  | { op: 'setsid'; controllingTerminal?: boolean }
  | { op: 'setgroups'; gids: number[] }
  | { op: 'setgid'; gid: number }
  | { op: 'setuid'; uid: number }
  | { op: 'no_new_privs' }
  | { op: 'write_file'; path: string; content: string }
  | { op: 'umask'; mask: number }
  // File descriptors the plan opens by number (see PLAN_FDS), so that later
  // steps can name them: a mount source or target, a namespace, exec by fd.
  /** open(path, O_PATH|O_CLOEXEC) (with read: O_RDONLY, as setns needs), moved to `fd`. */
  | { op: 'open'; path: string; fd: number; read?: boolean }
  /**
   * `path` under `base`, never leaving it: openat2 with RESOLVE_BENEATH (a
   * symlink or ".." that leads out fails), or with inRoot RESOLVE_IN_ROOT (a
   * symlink resolves inside `base` as if it were /); magic links (/proc/PID/root)
   * never followed. With `make`, what is missing is made beneath: directories
   * of `mode`, and with 'file' an empty last component (O_EXCL|O_NOFOLLOW).
   * With `baseFd`, the base is that fd (a mount attached earlier, `base`
   * only names it), never its path again.
   */
  | { op: 'open_beneath'; base: string; baseFd?: number; path: string; fd: number; make?: 'dirs' | 'file'; mode?: number; inRoot?: boolean; what?: string }
  /** open_tree(OPEN_TREE_CLONE|AT_RECURSIVE): a detached copy of the mounts at `path` (or at fd `fromFd`), keeping their peers. */
  | { op: 'open_tree'; path?: string; fromFd?: number; fd: number }
  /** move_mount: attach the detached tree of `fd` onto what fd `toFd` is (never a path). */
  | { op: 'move_mount'; fd: number; toFd: number; what?: string }
  /** mount_setattr on the mount of `fd`: read-only, and/or a propagation type. */
  | { op: 'mount_setattr'; fd: number; readOnly?: boolean; propagation?: 'private' | 'slave' | 'shared'; recursive?: boolean }
  /**
   * A private read-only, nosuid copy (open_tree + mount_setattr) of the mount
   * of `path`, at `fd`: exec'd by fd, the binary can be run but never changed
   * through /proc/self/exe.
   */
  | { op: 'open_exe'; path: string; fd: number }
  /**
   * setns(fd, CLONE_NEWPID), then clone(CLONE_PARENT): the steps after this
   * one run in a process born in that PID namespace now, with the mounts and
   * root already the container's; this one exits.
   */
  | { op: 'enter_pid_ns'; fd: number }
  /**
   * exec -t: a pty from the devpts at /dev/pts of this root (no symlink
   * followed), sized rows x cols; the peer becomes stdio, the master goes to
   * the spawner over `socketFd`.
   */
  | { op: 'open_pty'; socketFd: number; rows: number; cols: number }
  /** keyctl(JOIN_SESSION_KEYRING, NULL): a new anonymous session keyring, so nothing of the spawner's keyring is reachable. */
  | { op: 'new_session_keyring' }
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
  /**
   * execve of the first candidate that exists; with `fd`, execveat(fd, "",
   * AT_EMPTY_PATH) instead. With `statusFd`, that fd stays open across the
   * exec for pause --exec to report the command's own exec on. `what`
   * names the command in errors.
   */
  | { op: 'exec'; candidates: string[]; argv: string[]; env: string[]; fd?: number; statusFd?: number; what?: string };

export { PLAN_FDS } from './ops.js';

/** Compiles only while Step has exactly the ops of native/plan.h's table (src/plan/ops.ts). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type StepsMatchPlanH = Same<Step['op'], StepOp> extends true ? true : never;
export const STEPS_MATCH_PLAN_H: StepsMatchPlanH = true;

export interface SpawnPlan {
  /** Who this process is: "pause" or the container's name. */
  name: string;
  /** Namespaces created by clone() itself. */
  newNamespaces: Namespace[];
  /** Signals stay blocked across exec (pause waits for them with rt_sigtimedwait). */
  keepSignalsBlocked: boolean;
  steps: Step[];
}
