// `peapod explain -f FILE`: the pod as the list of system calls that would
// make it, without root and without running anything. For pause and every
// container, the spawn plan the runtime would hand to the addon: the
// namespaces clone() creates or the parent joins, then the steps the cloned
// child performs in order, ending in exec. `-o json` prints the plans as data.
//
// The plans are built by the same pure functions `peapod run` uses, with
// what only a running pod knows written as placeholders: <pause pid>, and
// `<image NAME>/rootfs` for an image that is not in the store yet.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { configFromSimple } from '../image/config.js';
import { findLocalImage, isBuiltinName, type Image } from '../image/store.js';
import { packageRoot, pauseBinary as defaultPauseBinary } from '../native/addon.js';
import { containerPlan, type PreparedVolume } from '../plan/container.js';
import { sandboxPlan } from '../plan/sandbox.js';
import type { FsView } from '../plan/scoped-path.js';
import type { SpawnPlan, Step } from '../plan/types.js';
import { withTerminationLog } from '../runtime/container.js';
import { resolveEnv } from '../runtime/env.js';
import { podPaths, runtimePaths, type PodPaths, type RuntimePaths } from '../runtime/paths.js';
import { formatIssue, readPodFile, type Pod } from '../spec/index.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { serialize } from './format.js';

const USAGE = 'usage: peapod explain -f FILE [-o json|yaml] [--root DIR] [--pod-infra-binary PATH]';

/**
 * Stands for pause's pid while building plans: above PID_MAX_LIMIT (2^22),
 * so no real process has it; every `/proc/4194305/` becomes `/proc/<pause pid>/`.
 */
const PAUSE_PID_SENTINEL = 4194305;
export const PAUSE_PID = '<pause pid>';
const POD_UID = '<pod uid>';

/** A filesystem with nothing in it: for an image that is not in the store. */
const emptyFs: FsView = { readlink: () => null, exists: () => false, isFile: () => false };

export interface ExplainedProcess {
  role: 'sandbox' | 'init' | 'container';
  name: string;
  image?: { ref: string; rootfs: string; inStore: boolean };
  plan?: SpawnPlan;
  /** Why no plan could be made (what `peapod run` would refuse). */
  error?: string;
}

export interface PodExplanation {
  apiVersion: 'peapod/v1alpha1';
  kind: 'PodPlan';
  metadata: { name: string };
  stateRoot: RuntimePaths;
  placeholders: Record<string, string>;
  notes: string[];
  processes: ExplainedProcess[];
}

// ---------------------------------------------------------------- building the plans

interface FoundImage {
  image: Pick<Image, 'rootfs' | 'config'> & Partial<Pick<Image, 'layers' | 'links'>>;
  inStore: boolean;
  fs: FsView;
  note?: string;
}

/** The image as the runtime would find it, never building or pulling it. */
function findImage(store: string, ref: string): FoundImage {
  const present = findLocalImage(store, ref);
  if (present) return { image: present, inStore: true, fs: present.fs };
  const rootfs = `<image ${ref}>/rootfs`;
  if (isBuiltinName(ref)) {
    return {
      image: { rootfs, config: configFromSimple(JSON.parse(readFileSync(join(packageRoot, 'rootfs', 'busybox', 'config.json'), 'utf8'))) },
      inStore: false,
      fs: emptyFs,
      note: `image "${ref}" is not built yet in ${store} (peapod builds it on first run); its config is rootfs/busybox/config.json`,
    };
  }
  return {
    image: { rootfs, config: { entrypoint: [], cmd: [], env: [], workingDir: '/' } },
    inStore: false,
    fs: emptyFs,
    note: `image "${ref}" is not in ${store}: \`peapod run\` pulls it first (peapod pull ${ref}); planned with an empty image config`,
  };
}

/** The volumes as prepareVolumes would leave them, without creating anything. */
function plannedVolumes(pod: Pod, pp: PodPaths): Map<string, PreparedVolume> {
  const out = new Map<string, PreparedVolume>();
  (pod.spec.volumes ?? []).forEach((v, i) => {
    if (v.emptyDir) {
      out.set(v.name, { hostPath: pp.volume(v.name), kind: 'dir', mode: 0o777 });
    } else if (v.hostPath) {
      const { path, type = '' } = v.hostPath;
      let kind: 'dir' | 'file' = type === 'File' || type === 'FileOrCreate' ? 'file' : 'dir';
      if (type === '' || !['Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate'].includes(type)) {
        try {
          kind = statSync(path).isDirectory() ? 'dir' : 'file';
        } catch {
          // Missing: `run` would say so; the plan assumes a directory.
        }
      }
      out.set(v.name, { hostPath: path, kind });
    } else {
      throw new Error(`spec.volumes[${i}] (${v.name}): no supported source; use emptyDir or hostPath`);
    }
  });
  return out;
}

/** Every string in the plan with the pause pid sentinel written as its placeholder. */
function withPlaceholders<T>(value: T): T {
  const sentinel = `/proc/${PAUSE_PID_SENTINEL}/`;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.split(sentinel).join(`/proc/${PAUSE_PID}/`);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

export interface ExplainOptions {
  paths: RuntimePaths;
  pauseBinary?: string;
}

export function explainPod(pod: Pod, options: ExplainOptions): PodExplanation {
  const pp = podPaths(options.paths, pod.metadata.name);
  const hostname = pod.spec.hostname ?? pod.metadata.name;
  const uid = pod.metadata.uid ?? POD_UID;
  const notes: string[] = [];
  const processes: ExplainedProcess[] = [];

  try {
    processes.push({
      role: 'sandbox',
      name: 'pause',
      plan: sandboxPlan({ hostname, pauseBinary: options.pauseBinary ?? defaultPauseBinary, podSpec: pod.spec }),
    });
  } catch (err) {
    processes.push({ role: 'sandbox', name: 'pause', error: (err as Error).message });
  }

  let volumes: Map<string, PreparedVolume> | undefined;
  let volumeError: string | undefined;
  try {
    volumes = plannedVolumes(pod, pp);
  } catch (err) {
    volumeError = (err as Error).message;
  }
  const images = new Map<string, FoundImage>();
  const containers = [
    ...(pod.spec.initContainers ?? []).map((c) => ({ c, role: 'init' as const })),
    ...pod.spec.containers.map((c) => ({ c, role: 'container' as const })),
  ];
  for (const { c, role } of containers) {
    let found: FoundImage | undefined;
    try {
      found = images.get(c.image) ?? findImage(options.paths.images, c.image);
      if (!images.has(c.image) && found.note) notes.push(found.note);
      images.set(c.image, found);
      if (!volumes) throw new Error(volumeError);
      const mounted = withTerminationLog(resolveEnv(c, pod, uid), volumes, pp.container(c.name).terminationLog);
      const plan = containerPlan({
        container: mounted.container,
        image: found.image,
        hostname,
        sandboxPid: PAUSE_PID_SENTINEL,
        dirs: pp.container(c.name),
        pod: { shm: pp.shm, hosts: pp.etc.hosts, hostname: pp.etc.hostname, resolvConf: pp.etc.resolvConf },
        volumes: mounted.volumes,
        fs: found.fs,
        podSpec: pod.spec,
      });
      processes.push({ role, name: c.name, image: imageInfo(c.image, found), plan: withPlaceholders(plan) });
    } catch (err) {
      processes.push({ role, name: c.name, ...(found ? { image: imageInfo(c.image, found) } : {}), error: (err as Error).message });
    }
  }
  return {
    apiVersion: 'peapod/v1alpha1',
    kind: 'PodPlan',
    metadata: { name: pod.metadata.name },
    stateRoot: options.paths,
    placeholders: usedPlaceholders(processes),
    notes,
    processes,
  };
}

/** The placeholders the plans use, and what each stands for. */
function usedPlaceholders(processes: ExplainedProcess[]): Record<string, string> {
  const text = JSON.stringify(processes);
  const meanings: Record<string, string> = {
    [PAUSE_PID]: "pause's pid on the host, known once it runs",
    [POD_UID]: 'the uid the pod gets when it is created',
    '<image ': 'an image that is not in the store yet (<image NAME>/rootfs: its root filesystem)',
  };
  return Object.fromEntries(
    Object.entries(meanings)
      .filter(([k]) => text.includes(k))
      .map(([k, v]) => [k === '<image ' ? '<image NAME>' : k, v]),
  );
}

function imageInfo(ref: string, found: FoundImage): ExplainedProcess['image'] {
  return { ref, rootfs: found.image.rootfs, inStore: found.inStore };
}

// ---------------------------------------------------------------- printing a step
//
// One function per kind of step. Steps are read loosely (by field name), so
// that a new kind of step, or a changed one, never breaks the build: a step
// without a function here, or whose function misses a field, is printed
// generically as its op and fields.

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

export const STEP_FORMATS: Readonly<Record<string, (s: Fields) => string | string[]>> = {
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
  write_file: (s) => `write ${JSON.stringify(str(s, 'content'))} to ${str(s, 'path')}`,
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
  open_pty: (s) => `open /dev/pts/ptmx of this root (no symlink followed, must be a devpts); its peer becomes stdin, stdout and stderr; the master goes to peapod over fd ${num(s, 'socketFd')}`,
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
  seccomp: (s) => `seccomp(SECCOMP_SET_MODE_FILTER): a BPF filter of ${list(s, 'filter').length} instructions (-o json shows them)`,
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
  const format = STEP_FORMATS[String(s.op)];
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

// ---------------------------------------------------------------- printing a plan

function cloneLine(plan: SpawnPlan): string {
  if (plan.newNamespaces.length === 0) return 'clone(): no new namespace';
  return `clone(${plan.newNamespaces.map(nsFlag).join('|')}): new ${plan.newNamespaces.map(nsWord).join(', ')} namespace${plan.newNamespaces.length > 1 ? 's' : ''}`;
}

const ROLE: Record<ExplainedProcess['role'], string> = { sandbox: 'the sandbox', init: 'init container', container: 'container' };

/**
 * Long host paths that every line of a container's plan repeats, written
 * once: $ROOTFS (where its root is assembled) and $POD (the pod's directory).
 */
function abbreviations(p: ExplainedProcess, e: PodExplanation): Array<[string, string, string]> {
  if (p.role === 'sandbox') return [];
  const pp = podPaths(e.stateRoot, e.metadata.name);
  return [
    ['$ROOTFS', pp.container(p.name).rootfs, "the container's root, assembled here; / after pivot_root"],
    ['$POD', pp.data, "the pod's directory on the host"],
  ];
}

function abbreviate(line: string, abbrevs: ReadonlyArray<[string, string, string]>): string {
  let out = line;
  for (const [name, path] of abbrevs) out = out.split(path).join(name);
  return out;
}

function renderProcess(p: ExplainedProcess, e: PodExplanation): string[] {
  const image = p.image ? ` (image ${p.image.ref}${p.image.inStore ? '' : ', not in the store yet'})` : '';
  const out = [p.role === 'sandbox' ? `== ${p.name}: ${ROLE[p.role]} ==` : `== ${ROLE[p.role]} ${p.name}${image} ==`];
  if (!p.plan) {
    out.push(`  cannot be planned: ${p.error ?? 'unknown error'}`);
    return out;
  }
  const plan = p.plan;
  out.push(`  ${cloneLine(plan)}`);
  if (plan.keepSignalsBlocked) out.push('  signals stay blocked across exec (pause takes them with rt_sigtimedwait: none can be lost before it is ready)');
  const abbrevs = abbreviations(p, e);
  for (const [name, path, what] of abbrevs) out.push(`  ${name} = ${path}  (${what})`);
  out.push('  then, in the child:');
  const width = String(plan.steps.length).length;
  plan.steps.forEach((step, i) => {
    const [first, ...more] = formatStep(step).map((l) => abbreviate(l, abbrevs));
    out.push(`  ${String(i + 1).padStart(width)}. ${first ?? ''}`);
    for (const line of more) out.push(`  ${' '.repeat(width)}  ${line}`);
  });
  return out;
}

export function renderExplanation(e: PodExplanation): string {
  const out: string[] = [];
  const n = e.processes.length;
  out.push(`pod/${e.metadata.name}: ${n} process${n === 1 ? '' : 'es'}. Each is made by clone(), then the child runs these steps in order, ending in exec.`);
  out.push(`Nothing was run. Paths are those under the state root (${e.stateRoot.state}${e.stateRoot.data === e.stateRoot.state ? '' : `, data ${e.stateRoot.data}`});`);
  out.push(`placeholders: ${Object.entries(e.placeholders).map(([k, v]) => `${k} = ${v}`).join('; ')}.`);
  for (const note of e.notes) out.push(`note: ${note}`);
  for (const p of e.processes) {
    out.push('');
    out.push(...renderProcess(p, e));
  }
  return `${out.join('\n')}\n`;
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    filename: { value: true, alias: 'f' },
    output: { value: true, alias: 'o' },
    root: { value: true },
    'pod-infra-binary': { value: true },
    strict: { value: false },
  });
  const file = stringFlag(args, 'filename');
  if (!file) throw new UsageError(`explain needs a manifest: -f FILE\n${USAGE}`);
  if (args.positionals.length > 0) throw new UsageError(`explain takes no arguments besides flags: ${args.positionals.join(' ')}\n${USAGE}`);
  const output = stringFlag(args, 'output');
  if (output !== undefined && output !== 'json' && output !== 'yaml') {
    throw new UsageError(`unable to match a printer suitable for the output format "${output}", allowed formats are: json,yaml`);
  }
  const { pods, warnings } = readPodFile(file, { strict: args.flags.has('strict') });
  for (const w of warnings) process.stderr.write(`${formatIssue(w, file)}\n`);
  const pauseBinary = stringFlag(args, 'pod-infra-binary');
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const explained = pods.map((pod) => explainPod(pod, { paths, ...(pauseBinary ? { pauseBinary } : {}) }));
  if (output) {
    const value = explained.length === 1 ? explained[0] : { apiVersion: 'v1', kind: 'List', items: explained };
    process.stdout.write(serialize(value, output));
  } else {
    process.stdout.write(explained.map(renderExplanation).join('\n'));
  }
  const failed = explained.flatMap((e) => e.processes.filter((p) => p.error !== undefined).map((p) => `${e.metadata.name}/${p.name}`));
  if (failed.length > 0) {
    process.stderr.write(`peapod: cannot plan ${failed.join(', ')}: \`peapod run\` would refuse this pod\n`);
    return 1;
  }
  return 0;
}

export const explainCommand: Command = {
  name: 'explain',
  synopsis: 'peapod explain -f pod.yaml [-o json]',
  summary: 'the system calls that would make the pod, without running it',
  help: `${USAGE}

Prints the spawn plan of pause and of every container of the pod: the
namespaces clone() creates and those joined from pause, then every step
the cloned child takes, in order (mounts with their flags, pivot_root,
hostname, capabilities and ids, exec with its argv and env). These are
the plans \`peapod run\` hands to the kernel; nothing is run here, and
no root is needed. What only a running pod knows is a placeholder, such
as <pause pid>.

  -f, --filename FILE        the Pod manifest (YAML or JSON)
  -o, --output json|yaml     the plans as data
  --root DIR                 the state root the paths are shown under (default /run/peapod; $PEAPOD_ROOT)
  --pod-infra-binary PATH    the pause binary
  --strict                   refuse fields peapod does not implement instead of warning`,
  run,
};
