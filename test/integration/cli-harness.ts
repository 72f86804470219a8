// The peapod command as a test types it (a separate process, its own root),
// and what the kernel shows of a pod it started: its record's pids, and its
// cgroups in every hierarchy.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { detectDriver } from '../../src/runtime/cgroups/detect.js';
import type { Pod } from '../../src/manifest/types.js';
import type { TestRoot } from './helpers.js';

const execFileP = promisify(execFile);
export const bin = join(process.cwd(), 'bin', 'peapod.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `VERB --root ROOT ARGS...`: `--root` right after the verb, since exec's command follows `--`. */
function argv(root: TestRoot, args: readonly string[]): string[] {
  return [bin, args[0] as string, '--root', root.dir, ...args.slice(1)];
}

/** `peapod VERB --root ROOT ARGS...`, to its end. */
export async function peapod(root: TestRoot, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, argv(root, args), { env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * `peapod run -f FILE` left running in the background: the pod's own
 * supervisor, with which it dies (a pod of `run -d` is the node daemon's,
 * and outlives it). Resolves once its record names its first container.
 */
export async function runForeground(root: TestRoot, file: string, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [bin, 'run', '-f', file, '--root', root.dir], { stdio: 'ignore' });
  const recordFile = join(root.dir, 'pods', name, 'runtime.json');
  const started = (): boolean => {
    try {
      return Object.keys((JSON.parse(readFileSync(recordFile, 'utf8')) as { containers: object }).containers).length > 0;
    } catch {
      return false;
    }
  };
  for (const deadline = Date.now() + 10_000; !started(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`run -f ${file} did not start pod ${name}`);
  }
  return child;
}

/** A peapod command still running: what it printed so far, and its end. */
export interface Running {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `peapod VERB --root ROOT ARGS...` in the background (run in the
 * foreground, logs -f, port-forward). If the test has not ended it, it gets
 * Ctrl-C (SIGINT) before the leak check, and is waited for.
 */
export function spawnPeapod(root: TestRoot, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, argv(root, args), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  root.stops.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited;
  });
  return { child, out: () => out, err: () => err, exited };
}

/** Writes a manifest into the test's root: YAML under a name, or a Pod as JSON (a YAML reader reads both). */
export function manifest(root: TestRoot, p: Pod): string;
export function manifest(root: TestRoot, name: string, yaml: string): string;
export function manifest(root: TestRoot, named: string | Pod, yaml?: string): string {
  const [file, text] = typeof named === 'string' ? [`${named}.yaml`, yaml ?? ''] : [`${named.metadata.name}.json`, JSON.stringify(named)];
  const path = join(root.dir, file);
  writeFileSync(path, text);
  return path;
}

/** A one-container pod manifest running `script` under sh. */
export function shPod(name: string, script: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:${extra}
  containers:
  - name: c
    image: busybox
    command: [sh, -c, ${JSON.stringify(script)}]
`;
}

export interface RecordPids {
  uid: string;
  supervisor: { pid: number };
  sandbox: { pid: number };
  containers: Record<string, { pid: number }>;
  cgroups?: { pod: string };
}

/** The pod's record, its processes added to what the leak check waits for. */
export function trackRecord(root: TestRoot, name: string): RecordPids {
  const record = JSON.parse(readFileSync(join(root.dir, 'pods', name, 'runtime.json'), 'utf8')) as RecordPids;
  for (const pid of [record.supervisor.pid, record.sandbox.pid, ...Object.values(record.containers).map((c) => c.pid)]) root.pids.add(pid);
  return record;
}

const driver = detectDriver();

/** Where the pod's cgroup directories are, in every hierarchy peapod uses. */
export function cgroupPaths(podPath: string | undefined): string[] {
  if (!podPath || !driver) return [];
  const roots = driver.kind === 'v2' ? ['/sys/fs/cgroup'] : ['memory', 'cpu', 'cpuacct', 'pids', 'freezer'].map((c) => `/sys/fs/cgroup/${c}`);
  return roots.map((r) => `${r}/${podPath}`);
}

/** The pod's cgroup directories that exist now. */
export function cgroupDirs(podPath: string | undefined): string[] {
  return cgroupPaths(podPath).filter((d) => existsSync(d));
}

/** The state letter of /proc/PID/stat (R, S, D, T, Z, ...), or null when the pid is gone. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] ?? null;
  } catch {
    return null;
  }
}
