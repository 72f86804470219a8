// The typed face of the addon: lowers plans to the flat form the C++ side
// decodes, and names every export's types. Nothing else imports the .node.
import { createRequire } from 'node:module';
import { constants, endianness } from 'node:os';
import { CAPABILITIES, type Capability } from '../plan/capabilities.js';
import { STEP_OPS, type StepOp } from '../plan/ops.js';
import type { BpfInstruction } from '../plan/seccomp/bpf.js';
import type { MountFlag, Namespace, SpawnPlan, Step } from '../plan/types.js';
import { addonPath } from '../package.js';

export interface SpawnedProcess {
  pid: number;
  pidfd: number;
  /** The pty master an open_pty step sent back (exec -t). */
  master?: number;
}

export type ExitStatus = { code: number; signal?: undefined } | { signal: number; code?: undefined };

interface RawStep {
  op: StepOp;
  a?: string;
  b?: string;
  c?: string;
  d?: string;
  n?: number;
  m?: number;
  f?: number;
  g?: number;
  what?: string;
  ints?: number[];
  /** seccomp: the program, packed (packFilter). */
  bpf?: Buffer;
  candidates?: string[];
  argv?: string[];
  envp?: string[];
}

/**
 * A plan as it crosses to the addon (native/spawn.cc, DecodePlan): its
 * steps packed into a few flat values, read there in one pass rather than
 * property by property (~100 µs for a container's 84 steps).
 */
interface RawPlan {
  /** Who it is for (tools watching the boundary, such as bench/profile.js). */
  name: string;
  cloneFlags: number;
  keepSignalsBlocked: boolean;
  stdio: [number, number, number];
  /** Per step STEP_NUMBERS numbers: its op's index in STEP_OPS, n, m, f, g, which of its strings it has (a bit each, STRING_FIELDS), then how many ints, candidates, argv and envp entries. */
  numbers: Float64Array;
  /** Per step the strings it has (of a, b, c, d, what), then its candidates, argv and envp entries: each ended by a NUL. */
  text: string;
  /** Every step's ints, in order. */
  ints: Float64Array;
  /** The seccomp steps' programs (packFilter), in order. */
  filters: Buffer[];
}

/** Numbers a step has in RawPlan.numbers (native/spawn.cc's kStepNumbers). */
const STEP_NUMBERS = 10;
/** A step's strings, in the order of their bits in its `present` number and of the text. */
const STRING_FIELDS = ['a', 'b', 'c', 'd', 'what'] as const;
const OP_INDEX = new Map<StepOp, number>(STEP_OPS.map((op, i) => [op, i]));

/** A string for the child's C calls, which would stop at a NUL and read something else than was planned. */
function cString(value: string, step: RawStep, field: string): string {
  if (value.includes('\0')) throw new TypeError(`spawn: step ${step.op}: ${field} contains a NUL byte`);
  return value;
}

/**
 * Plain loops, no closure or array made per step: a container's 84 steps
 * are packed at every spawn, mostly before the JIT has optimised this
 * (~35 µs a call then, ~12 µs once it has).
 */
function packSteps(steps: readonly RawStep[]): Pick<RawPlan, 'numbers' | 'text' | 'ints' | 'filters'> {
  const numbers = new Float64Array(steps.length * STEP_NUMBERS);
  const parts: string[] = [];
  const ints: number[] = [];
  const filters: Buffer[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as RawStep;
    // Most of a step's strings are empty: only those it has go into the text, a bit each says which.
    let present = 0;
    for (let bit = 0; bit < STRING_FIELDS.length; bit++) {
      const field = STRING_FIELDS[bit] as (typeof STRING_FIELDS)[number];
      const value = step[field];
      if (value === undefined || value === '') continue;
      present |= 1 << bit;
      parts.push(cString(value, step, field));
    }
    const at = i * STEP_NUMBERS;
    numbers[at] = OP_INDEX.get(step.op) as number;
    numbers[at + 1] = step.n ?? 0;
    numbers[at + 2] = step.m ?? 0;
    numbers[at + 3] = step.f ?? 0;
    numbers[at + 4] = step.g ?? 0;
    numbers[at + 5] = present;
    if (step.ints) {
      numbers[at + 6] = step.ints.length;
      for (const n of step.ints) ints.push(n);
    }
    if (step.op === 'exec') {
      const lists = [step.candidates ?? [], step.argv ?? [], step.envp ?? []];
      for (let l = 0; l < lists.length; l++) {
        const list = lists[l] as string[];
        numbers[at + 7 + l] = list.length;
        for (const entry of list) parts.push(cString(entry, step, 'an exec argument or variable'));
      }
    }
    if (step.bpf) filters.push(step.bpf);
  }
  return { numbers, text: parts.length > 0 ? `${parts.join('\0')}\0` : '', ints: Float64Array.from(ints), filters };
}

interface RawExit {
  code?: number;
  signal?: number;
  error?: Error;
  /** An adopted process ended (its status is not ours to collect). */
  adopted?: boolean;
}

interface Addon {
  spawn(plan: RawPlan): SpawnedProcess;
  watchExit(pidfd: number, callback: (exit: RawExit) => void, adopted?: boolean): void;
  mkfifo(path: string, mode: number): void;
  pipe(): [number, number];
  pidfdSignal(pidfd: number, signal: number): boolean;
  pidfdOpen(pid: number): number;
  mount(source: string, target: string, fstype: string, flags: number, data?: string): void;
  umount(target: string, flags?: number): boolean;
  markTopDir(dir: string): boolean;
  socketInNetns(path: string, family: 4 | 6): number;
  setWinsize(fd: number, rows: number, cols: number): void;
  watchMemcgOom(dir: string, freezerState: string, callback: (event: RawOomEvent) => void): number;
  unwatchMemcgOom(id: number): boolean;
}

interface RawOomEvent {
  count?: number;
  frozen?: boolean;
  freezeError?: Error;
  error?: Error;
}

const require = createRequire(import.meta.url);
let loaded: Addon | undefined;

function addon(): Addon {
  if (!loaded) {
    const path = addonPath;
    try {
      loaded = require(path) as Addon;
    } catch (err) {
      throw new Error(`cannot load the peapod addon at ${path}: ${(err as Error).message}; run \`npm install\` (needs g++, make, python3)`);
    }
  }
  return loaded;
}

// Linux UAPI values (sched.h, mount.h): stable ABI.
const CLONE: Record<Namespace, number> = {
  mnt: 0x00020000, cgroup: 0x02000000, uts: 0x04000000, ipc: 0x08000000, pid: 0x20000000, net: 0x40000000,
};
const PROPAGATION = { private: 1 << 18, slave: 1 << 19, shared: 1 << 20 } as const;
const MS: Record<MountFlag, number> = {
  rdonly: 1, nosuid: 2, nodev: 4, noexec: 8, remount: 32, bind: 4096, rec: 16384,
  private: 1 << 18, slave: 1 << 19, shared: 1 << 20, relatime: 1 << 21, strictatime: 1 << 24,
};
export const MNT_DETACH = 2;

export function namespaceFlags(list: readonly Namespace[]): number {
  return list.reduce((acc, ns) => acc | CLONE[ns], 0);
}

export function mountFlags(list: readonly MountFlag[]): number {
  return list.reduce((acc, f) => acc | MS[f], 0);
}

function signalNumber(name: string): number {
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw new Error(`unknown signal ${name}`);
  return n;
}

/** A capability set as a bit mask; 41 bits fit a double exactly. */
function capMask(caps: readonly Capability[]): number {
  return caps.reduce((m, c) => m + 2 ** CAPABILITIES[c], 0);
}

/**
 * A BPF program as the kernel's struct sock_filter array (u16 code, u8 jt,
 * u8 jf, u32 k; host byte order), packed once per compiled program: the
 * addon copies it whole, where element by element it cost ~0.4 ms a spawn
 * (every exec probe's).
 */
const packed = new WeakMap<readonly BpfInstruction[], Buffer>();
function packFilter(program: readonly BpfInstruction[]): Buffer {
  let buf = packed.get(program);
  if (buf) return buf;
  buf = Buffer.alloc(program.length * 8);
  const le = endianness() === 'LE';
  program.forEach(([code, jt, jf, k], i) => {
    const at = i * 8;
    if (le) buf.writeUInt16LE(code, at);
    else buf.writeUInt16BE(code, at);
    buf.writeUInt8(jt, at + 2);
    buf.writeUInt8(jf, at + 3);
    if (le) buf.writeUInt32LE(k >>> 0, at + 4);
    else buf.writeUInt32BE(k >>> 0, at + 4);
  });
  packed.set(program, buf);
  return buf;
}

function lowerStep(step: Step): RawStep {
  switch (step.op) {
    case 'setns': return { op: 'setns', a: step.path, n: CLONE[step.ns] };
    case 'unshare': return { op: 'unshare', n: namespaceFlags(step.ns) };
    case 'mount':
      return { op: 'mount', a: step.source, b: step.target, c: step.fstype ?? '', d: step.data ?? '', n: mountFlags(step.flags) };
    case 'umount': return { op: 'umount', b: step.target, n: step.detach ? MNT_DETACH : 0 };
    case 'mkdir': return { op: 'mkdir', b: step.path, m: step.mode };
    case 'mknod': {
      // S_IFCHR | mode, and makedev(major, minor) for small numbers.
      const dev = (step.major << 8) | step.minor;
      return { op: 'mknod', b: step.path, m: 0o020000 | step.mode, n: dev };
    }
    case 'touch': return { op: 'touch', b: step.path, m: step.mode };
    case 'symlink': return { op: 'symlink', a: step.target, b: step.path };
    case 'pivot_root': return { op: 'pivot_root', b: step.root };
    case 'chdir': return { op: 'chdir', b: step.path };
    case 'sethostname': return { op: 'sethostname', a: step.name };
    case 'loopback_up': return { op: 'loopback_up' };
    case 'pdeathsig': return { op: 'pdeathsig', n: signalNumber(step.signal), f: step.procFd === undefined ? 0 : step.procFd + 1 };
    case 'setsid': return { op: 'setsid', n: step.controllingTerminal ? 1 : 0 };
    case 'setgroups': return { op: 'setgroups', ints: step.gids };
    case 'setgid': return { op: 'setgid', n: step.gid };
    case 'setuid': return { op: 'setuid', n: step.uid };
    case 'no_new_privs': return { op: 'no_new_privs' };
    case 'write_file': return { op: 'write_file', b: step.path, a: step.content };
    case 'umask': return { op: 'umask', m: step.mask };
    case 'open': return { op: 'open', b: step.path, n: step.fd, m: step.read ? 1 : 0 };
    case 'open_beneath': {
      // f: 1 in-root, 2 make directories, 4 make the last one a file (plan.h).
      const f = (step.inRoot ? 1 : 0) | (step.make ? 2 : 0) | (step.make === 'file' ? 4 : 0);
      // g: the base's fd + 1 (0: open `base` by path).
      return { op: 'open_beneath', a: step.base, b: step.path, n: step.fd, m: step.mode ?? 0o755, f, g: step.baseFd === undefined ? 0 : step.baseFd + 1 };
    }
    case 'open_tree': return { op: 'open_tree', b: step.path ?? '', n: step.fd, f: step.fromFd ?? 0 };
    case 'move_mount': return { op: 'move_mount', n: step.fd, f: step.toFd, ...(step.what ? { what: step.what } : {}) };
    case 'mount_setattr':
      return {
        op: 'mount_setattr',
        n: step.fd,
        f: step.readOnly ? 1 : 0, // MOUNT_ATTR_RDONLY
        g: step.propagation ? PROPAGATION[step.propagation] : 0,
        m: step.recursive ? 1 : 0,
      };
    case 'open_exe': return { op: 'open_exe', b: step.path, n: step.fd };
    case 'enter_pid_ns': return { op: 'enter_pid_ns', n: step.fd };
    case 'open_pty': return { op: 'open_pty', n: step.socketFd, f: step.rows, g: step.cols };
    case 'new_session_keyring': return { op: 'new_session_keyring' };
    case 'remount_ro': return { op: 'remount_ro', b: step.target };
    case 'mask': return { op: 'mask', a: step.nullDevice, b: step.path };
    case 'readonly_path': return { op: 'readonly_path', b: step.path };
    case 'capbset': return { op: 'capbset', n: capMask(step.keep) };
    case 'keepcaps': return { op: 'keepcaps', n: step.on ? 1 : 0 };
    case 'capset':
      return {
        op: 'capset',
        ints: [capMask(step.permitted), capMask(step.effective), capMask(step.inheritable), capMask(step.ambient)],
        m: step.limitToHeld ? 1 : 0,
      };
    case 'seccomp': return { op: 'seccomp', bpf: packFilter(step.filter) };
    case 'exec': {
      const raw: RawStep = { op: 'exec', candidates: step.candidates, argv: step.argv, envp: step.env };
      // m = 1: execveat(n, "", AT_EMPTY_PATH) rather than the candidates.
      if (step.fd !== undefined) Object.assign(raw, { n: step.fd, m: 1 });
      // f: the status fd + 1 (0: none).
      if (step.statusFd !== undefined) raw.f = step.statusFd + 1;
      if (step.what !== undefined) raw.what = step.what;
      return raw;
    }
  }
}

/** A step of a plan failed in the child: names the process, step and errno. */
export class SpawnError extends Error {
  constructor(
    message: string,
    readonly process: string,
    readonly step: number,
    readonly code: string,
    /** The failed step's op ('exec', 'mount', ...), when a step failed. */
    readonly op?: string,
  ) {
    super(message);
    this.name = 'SpawnError';
  }
}

/** What an errno means for the step that failed, where the errno alone would puzzle. */
function hint(step: Step | undefined, code: string | undefined): string {
  if (step?.op === 'open_beneath' && (code === 'EXDEV' || code === 'ELOOP')) {
    return `: ${step.what ?? `${step.path}`} leads out of the volume (through a symlink or ".."); refused`;
  }
  if (step?.op === 'open_beneath' && code === 'ENOTDIR' && step.make) {
    return `: ${step.what ?? step.path}: ${step.make === 'file' ? 'a file cannot be mounted onto a directory' : 'a directory cannot be mounted onto a file'}`;
  }
  if (step?.op === 'capset' && code === 'EPERM') return ': a capability was asked that peapod itself does not hold';
  return '';
}

/** Executes a plan in a vfork-style child; returns once it has exec'd. */
export function spawnPlan(plan: SpawnPlan, stdio: [number, number, number]): SpawnedProcess {
  try {
    const raw: RawPlan = {
      name: plan.name,
      cloneFlags: namespaceFlags(plan.newNamespaces),
      keepSignalsBlocked: plan.keepSignalsBlocked,
      stdio,
      ...packSteps(plan.steps.map(lowerStep)),
    };
    return addon().spawn(raw);
  } catch (err) {
    const e = err as Error & { code?: string; step?: number };
    const step = plan.steps[e.step ?? -1];
    throw new SpawnError(`${plan.name}: ${e.message}${hint(step, e.code)}`, plan.name, e.step ?? -1, e.code ?? 'UNKNOWN', step?.op);
  }
}

export function watchExit(pidfd: number, callback: (exit: ExitStatus) => void): void {
  addon().watchExit(pidfd, (raw) => {
    if (raw.error) throw raw.error;
    callback(raw.signal !== undefined ? { signal: raw.signal } : { code: raw.code ?? 0 });
  });
}

/**
 * The end of a process this one did not start (adopted from a daemon before
 * it): the pidfd turns readable when it has exited; its exit status is for
 * its reaper to tell.
 */
export function watchEnd(pidfd: number, callback: () => void): void {
  addon().watchExit(
    pidfd,
    (raw) => {
      if (raw.error) throw raw.error;
      callback();
    },
    true,
  );
}

/** A named pipe at `path` (an existing one is kept). */
export function mkfifo(path: string, mode: number): void {
  addon().mkfifo(path, mode);
}

export function pipe(): [number, number] {
  return addon().pipe();
}

export function pidfdSignal(pidfd: number, signal: NodeJS.Signals): boolean {
  return addon().pidfdSignal(pidfd, signalNumber(signal));
}

export function pidfdOpen(pid: number): number {
  return addon().pidfdOpen(pid);
}

export function mount(source: string, target: string, fstype: string, flags: readonly MountFlag[], data?: string): void {
  addon().mount(source, target, fstype, mountFlags(flags), data);
}

export function umount(target: string, detach = false): boolean {
  return addon().umount(target, detach ? MNT_DETACH : 0);
}

/**
 * Marks `dir` as the top of unrelated directory trees (chattr +T), so that
 * ext4 spreads its subdirectories over block groups; false where the
 * filesystem keeps no such flag or refuses it (a hint, never an error).
 * See native/syscalls.cc for why.
 */
export function markTopDir(dir: string): boolean {
  return addon().markTopDir(dir);
}

/** A TCP socket made inside the network namespace at `path` (not connected). */
export function socketInNetns(path: string, family: 4 | 6 = 4): number {
  return addon().socketInNetns(path, family);
}

export function setWinsize(fd: number, rows: number, cols: number): void {
  addon().setWinsize(fd, rows, cols);
}

/** What a v1 memory cgroup's OOM notification says: whether the freezer got frozen first, or what failed. */
export interface OomNotice {
  frozen: boolean;
  error?: Error;
}

/**
 * Calls `onOom` each time the kernel reports an OOM in the v1 memory cgroup
 * at `dir` (cgroup.event_control), after freezing `freezerState` (when not
 * '') from C, before any JavaScript runs. Returns what stops the watch.
 */
export function watchMemcgOom(dir: string, freezerState: string, onOom: (notice: OomNotice) => void): () => void {
  const id = addon().watchMemcgOom(dir, freezerState, (raw) => {
    const error = raw.error ?? raw.freezeError;
    onOom({ frozen: raw.frozen ?? false, ...(error ? { error } : {}) });
  });
  return () => void addon().unwatchMemcgOom(id);
}
