// A spawn plan: one process of a pod as plain data, the kernel steps in the
// order the cloned child performs them. Plans are built by pure functions and
// executed by the addon; `peapod explain` prints them.

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
  | { op: 'setsid' }
  | { op: 'setgroups'; gids: number[] }
  | { op: 'setgid'; gid: number }
  | { op: 'setuid'; uid: number }
  | { op: 'no_new_privs' }
  | { op: 'write_file'; path: string; content: string }
  | { op: 'umask'; mask: number }
  | { op: 'exec'; candidates: string[]; argv: string[]; env: string[] };

export interface SpawnPlan {
  /** Who this process is: "pause" or the container's name. */
  name: string;
  /** Namespaces created by clone() itself. */
  newNamespaces: Namespace[];
  /** A PID namespace to join: set for children before clone(), by the parent. */
  joinPidNamespace?: string;
  /** pause unblocks signals itself, once its handlers are installed. */
  keepSignalsBlocked: boolean;
  steps: Step[];
}
