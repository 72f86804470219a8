// A spawn plan's steps in words: one function per op, read loosely (by
// field name), so that a changed step never breaks the build: a step
// without a function here, or whose function misses a field, is printed
// generically as its op and fields. `explain` and `peapod ui` print plans
// with it; the op names are those of native/plan.h's table (STEP_OPS).
import type { SpawnPlan, Step } from './types.js';
import type { StepOp } from './ops.js';

/** Stands for pause's pid in a plan made before pause runs. */
export const PAUSE_PID = '<pause pid>';

type Fields = Readonly<Record<string, unknown>>;

class MissingField extends Error {}

function str(s: Fields, key: string): string {
  const v = s[key];
  if (typeof v !== 'string') throw new MissingField(key);
  return v;
}
function num(s: Fields, key: string): number {
  const v = s[key];
  if (typeof v !== 'number') throw new MissingField(key);
  return v;
}
function list(s: Fields, key: string): unknown[] {
  const v = s[key];
  if (!Array.isArray(v)) throw new MissingField(key);
  return v;
}
function optional(s: Fields, key: string): string | undefined {
  const v = s[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
const octal = (n: number): string => `0${n.toString(8).padStart(3, '0')}`;
const names = (v: unknown[]): string => (v.length === 0 ? '(none)' : v.map(String).join(' '));

const NS_FLAG: Record<string, string> = {
  mnt: 'CLONE_NEWNS', pid: 'CLONE_NEWPID', net: 'CLONE_NEWNET', ipc: 'CLONE_NEWIPC',
  uts: 'CLONE_NEWUTS', cgroup: 'CLONE_NEWCGROUP', user: 'CLONE_NEWUSER', time: 'CLONE_NEWTIME',
};
const NS_WORD: Record<string, string> = {
  mnt: 'mount', pid: 'PID', net: 'network', ipc: 'IPC', uts: 'UTS (hostname)', cgroup: 'cgroup', user: 'user', time: 'time',
};
const nsFlag = (ns: string): string => NS_FLAG[ns] ?? `CLONE_NEW${ns.toUpperCase()}`;
const nsWord = (ns: string): string => NS_WORD[ns] ?? ns;

/** "pause's" for /proc/<pause pid>/ns/..., else the path itself. */
function whose(path: string): string {
  return path.startsWith(`/proc/${PAUSE_PID}/`) ? "pause's" : `the one at ${path}:`;
}

const PROPAGATION = ['private', 'slave', 'shared', 'unbindable'];

function formatMount(s: Fields): string {
  const source = str(s, 'source');
  const target = str(s, 'target');
  const flags = list(s, 'flags').map(String);
  const fstype = optional(s, 'fstype');
  const data = optional(s, 'data');
  const rec = flags.includes('rec');
  const propagation = flags.find((f) => PROPAGATION.includes(f));
  if (propagation && source === '' && flags.every((f) => f === 'rec' || PROPAGATION.includes(f))) {
    const why = propagation === 'private' ? ': nothing mounted below propagates to or from the host' : '';
    return `mount --make-${rec ? 'r' : ''}${propagation} ${target}${why}`;
  }
  const opts = flags.filter((f) => f !== 'bind' && f !== 'rec' && f !== 'remount').map((f) => (f === 'rdonly' ? 'ro' : f));
  if (flags.includes('remount')) {
    return `mount -o ${['remount', ...(flags.includes('bind') ? ['bind'] : []), ...opts].join(',')} ${target}`;
  }
  if (flags.includes('bind')) {
    return `mount --${rec ? 'rbind' : 'bind'}${opts.length > 0 ? ` -o ${opts.join(',')}` : ''} ${source} ${target}`;
  }
  const o = [...opts, ...(data ? [data] : [])];
  return `mount -t ${fstype ?? '?'} ${source || 'none'} ${target}${o.length > 0 ? ` -o ${o.join(',')}` : ''}`;
}

/** pause --exec FD N CANDIDATE... ARGV... (or --init N ...): what it will exec. */
function throughPause(argv: string[]): { mode: string; candidates: string[]; command: string[] } | null {
  const mode = argv[1];
  const at = mode === '--exec' ? 3 : mode === '--init' ? 2 : -1;
  const n = Number(argv[at]);
  if (mode === undefined || at < 0 || !Number.isInteger(n)) return null;
  return { mode, candidates: argv.slice(at + 1, at + 1 + n), command: argv.slice(at + 1 + n) };
}

function formatExec(s: Fields): string[] {
  let argv = list(s, 'argv').map(String);
  const env = list(s, 'env').map(String);
  const candidates = list(s, 'candidates').map(String);
  const fd = s.fd;
  const which = (paths: string[]): string => (paths.length === 1 ? (paths[0] ?? '') : `the first that exists of: ${paths.join(' ')}`);
  const pause = typeof fd === 'number' ? throughPause(argv) : null;
  let what: string;
  if (pause && typeof fd === 'number') {
    what =
      pause.mode === '--exec'
        ? `execveat(fd ${fd}, "", AT_EMPTY_PATH): the read-only pause, which execs ${which(pause.candidates)} (this clone of node never execs the container's program itself: CVE-2019-5736; a failed exec comes back on fd ${num(s, 'statusFd')})`
        : `execveat(fd ${fd}, "", AT_EMPTY_PATH): the read-only pause as init of this PID namespace, which starts ${which(pause.candidates)} as its child and reaps every orphan`;
    argv = pause.command;
  } else if (typeof fd === 'number') what = `execveat(fd ${fd}, "", AT_EMPTY_PATH): the program opened above`;
  else what = `execve ${which(candidates)}`;
  return [what, `    argv: ${JSON.stringify(argv)}`, `    env:  ${env.length === 0 ? '(empty)' : env.map((e) => (/\s/.test(e) ? JSON.stringify(e) : e)).join(' ')}`];
}

export const STEP_FORMATS: Readonly<Record<StepOp, (s: Fields) => string | string[]>> = {
  setns: (s) => `setns(${str(s, 'path')}, ${nsFlag(str(s, 'ns'))}): join ${whose(str(s, 'path'))} ${nsWord(str(s, 'ns'))} namespace`,
  unshare: (s) => `unshare(${list(s, 'ns').map((n) => nsFlag(String(n))).join('|')}): new ${list(s, 'ns').map((n) => nsWord(String(n))).join(', ')} namespace`,
  mount: formatMount,
  umount: (s) => `umount${s.detach === true ? ' --lazy' : ''} ${str(s, 'target')}`,
  mkdir: (s) => `mkdir -m ${octal(num(s, 'mode'))} ${str(s, 'path')}`,
  mknod: (s) => `mknod -m ${octal(num(s, 'mode'))} ${str(s, 'path')} c ${num(s, 'major')} ${num(s, 'minor')}`,
  touch: (s) => `touch ${str(s, 'path')} (mode ${octal(num(s, 'mode'))}: a file to mount onto)`,
  symlink: (s) => `ln -s ${str(s, 'target')} ${str(s, 'path')}`,
  pivot_root: (s) => `pivot_root ${str(s, 'root')}: it becomes /, and the old root (the host's) is detached`,
  chdir: (s) => `cd ${str(s, 'path')}`,
  sethostname: (s) => `sethostname ${JSON.stringify(str(s, 'name'))}`,
  loopback_up: () => 'ip link set lo up (a new network namespace starts with its loopback down)',
  pdeathsig: (s) => `prctl(PR_SET_PDEATHSIG, ${str(s, 'signal')}): dies when its supervisor does (and ends now if the supervisor already has)`,
  setsid: (s) => (s.controllingTerminal === true ? 'setsid(), and stdin (the pty) as its controlling terminal' : 'setsid(): a session of its own, no controlling terminal'),
  setgroups: (s) => `setgroups([${list(s, 'gids').join(', ')}])`,
  setgid: (s) => `setresgid(${num(s, 'gid')}, ${num(s, 'gid')}, ${num(s, 'gid')})`,
  setuid: (s) => `setresuid(${num(s, 'uid')}, ${num(s, 'uid')}, ${num(s, 'uid')})`,
  no_new_privs: () => 'prctl(PR_SET_NO_NEW_PRIVS, 1): no exec can gain privileges (setuid bits, file capabilities)',
  write_file: (s) => {
    const path = str(s, 'path');
    const cgroup = /^\/sys\/fs\/cgroup\/(?:[^/]+\/)?(.*)\/cgroup\.procs$/.exec(path);
    const write = `write ${JSON.stringify(str(s, 'content'))} to ${path}`;
    // "0" is the writer itself: it joins before it does anything that counts.
    return cgroup && str(s, 'content') === '0' ? `join the cgroup ${cgroup[1] ?? ''}: ${write}` : write;
  },
  umask: (s) => `umask ${octal(num(s, 'mask'))}`,
  open: (s) => `fd ${num(s, 'fd')} = open(${str(s, 'path')}, ${s.read === true ? 'O_RDONLY' : 'O_PATH'}|O_CLOEXEC)`,
  open_beneath: (s) => {
    const made = optional(s, 'make') ? ', made if missing' : '';
    if (s.inRoot === true) {
      return `fd ${num(s, 'fd')} = /${str(s, 'path')} in the new root${made} (openat2 RESOLVE_IN_ROOT: a symlink resolves inside it, never a magic link)`;
    }
    if (typeof s.baseFd === 'number') {
      return `fd ${num(s, 'fd')} = ${str(s, 'path')} beneath ${str(s, 'base')}, the mount at fd ${s.baseFd}${made}, never through a symlink out of it (RESOLVE_BENEATH)`;
    }
    const what = optional(s, 'what');
    const mode = typeof s.mode === 'number' ? ` (mode ${octal(s.mode)})` : '';
    return `fd ${num(s, 'fd')} = ${str(s, 'path') || '.'} beneath ${str(s, 'base')}, never through a symlink out of it (openat2 RESOLVE_BENEATH)${made ? `, directories made if missing${mode}` : ''}${what ? `: ${what}` : ''}`;
  },
  open_tree: (s) =>
    `fd ${num(s, 'fd')} = open_tree(${typeof s.fromFd === 'number' ? `fd ${s.fromFd}` : str(s, 'path')}, OPEN_TREE_CLONE|AT_RECURSIVE): a detached copy of its mounts`,
  move_mount: (s) => `move_mount(fd ${num(s, 'fd')} onto fd ${num(s, 'toFd')})${optional(s, 'what') ? `: ${optional(s, 'what') ?? ''}` : ''}`,
  mount_setattr: (s) => {
    const what = [...(s.readOnly === true ? ['read-only'] : []), ...(optional(s, 'propagation') ? [`${optional(s, 'propagation') ?? ''} propagation`] : [])];
    return `mount_setattr(fd ${num(s, 'fd')}${s.recursive === true ? ', AT_RECURSIVE' : ''}): ${what.join(', ')}`;
  },
  open_exe: (s) => `fd ${num(s, 'fd')} = ${str(s, 'path')} through a private read-only, nosuid copy of its mount (open_tree + mount_setattr): it can be run, never changed`,
  enter_pid_ns: (s) =>
    `setns(fd ${num(s, 'fd')}, CLONE_NEWPID), then clone(CLONE_PARENT): the steps below run in a process born in that PID namespace only now, with the container's mounts and root`,
  open_pty: (s) => `open /dev/pts/ptmx of this root (no symlink followed, must be a devpts), sized ${num(s, 'rows')}x${num(s, 'cols')}; its peer becomes stdin, stdout and stderr; the master goes to peapod over fd ${num(s, 'socketFd')}`,
  new_session_keyring: () => 'keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new, empty session keyring (nothing of the host\'s)',
  remount_ro: (s) => `mount -o remount,bind,ro ${str(s, 'target')} (keeping its other flags)`,
  mask: (s) => `mask ${str(s, 'path')} (${str(s, 'nullDevice')} over a file, an empty read-only tmpfs over a directory)`,
  readonly_path: (s) => `read-only ${str(s, 'path')} (bound onto itself, remounted ro)`,
  capbset: (s) => {
    const keep = list(s, 'keep');
    return keep.length === 0
      ? 'drop every capability from the bounding set (PR_CAPBSET_DROP)'
      : `drop from the bounding set every capability but: ${names(keep)}`;
  },
  keepcaps: (s) => `prctl(PR_SET_KEEPCAPS, ${s.on === true ? 1 : 0})`,
  capset: (s) => {
    const held = s.limitToHeld === true ? ' (limited to what peapod holds)' : '';
    const permitted = names(list(s, 'permitted'));
    const effective = names(list(s, 'effective'));
    const pe = permitted === effective ? `permitted = effective: ${permitted}` : `permitted: ${permitted}; effective: ${effective}`;
    return `capset ${pe}; inheritable: ${names(list(s, 'inheritable'))}; ambient: ${names(list(s, 'ambient'))}${held}`;
  },
  seccomp: (s) => {
    const profile = optional(s, 'profile');
    return `seccomp(SECCOMP_SET_MODE_FILTER): ${profile ? `the ${profile} profile as ` : ''}a BPF filter of ${list(s, 'filter').length} instructions (-o json shows them)`;
  },
  exec: formatExec,
};

function generic(s: Fields): string {
  const fields = Object.entries(s)
    .filter(([k]) => k !== 'op')
    .map(([k, v]) => `${k}=${Array.isArray(v) && v.length > 8 ? `[${v.length} items]` : JSON.stringify(v)}`);
  return [String(s.op), ...fields].join(' ');
}

/** A step as lines of text: its own function, or generically. */
export function formatStep(step: Step | Fields): string[] {
  const s = step as Fields;
  const format = (STEP_FORMATS as Readonly<Record<string, (s: Fields) => string | string[]>>)[String(s.op)];
  if (format) {
    try {
      const text = format(s);
      return Array.isArray(text) ? text : [text];
    } catch (err) {
      if (!(err instanceof MissingField)) throw err;
    }
  }
  return [generic(s)];
}

/** The clone() that makes the process, in words. */
export function cloneLine(plan: SpawnPlan): string {
  if (plan.newNamespaces.length === 0) return 'clone(): no new namespace';
  return `clone(${plan.newNamespaces.map(nsFlag).join('|')}): new ${plan.newNamespaces.map(nsWord).join(', ')} namespace${plan.newNamespaces.length > 1 ? 's' : ''}`;
}

