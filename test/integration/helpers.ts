// What every integration test needs: its own state root, a way to look into
// a running container from the host (nsenter, a real tool, not our code),
// and the proof at the end that nothing of the test is left. Beside it:
// pods.ts starts pods (library or CLI), cli-harness.ts runs peapod,
// waits.ts waits on conditions, proc.ts reads /proc, fixtures.ts holds the
// workloads several suites share.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect } from 'vitest';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import { runtimePaths, type RuntimePaths } from '../../src/runtime/paths.js';
import { readJson } from '../../src/runtime/json-file.js';
import { discarded } from '../../src/runtime/discard.js';
import { ask } from '../../src/node/daemon-client.js';
import { daemonPaths, type DaemonInfo } from '../../src/node/daemon-paths.js';
import type { Container, Pod, Volume } from '../../src/manifest/types.js';
import { isAlive } from './proc.js';
import { waitFor } from './waits.js';

const execFileP = promisify(execFile);

// The waits every suite uses, from here as from their own module.
export { isAlive, waitFor };

export const isRoot = process.getuid?.() === 0;

export interface TestRoot {
  dir: string;
  paths: RuntimePaths;
  /** Pids of every pause and container started under this root. */
  pids: Set<number>;
  runtimes: PodWorker[];
  /** Ends what a test started outside a PodWorker (a CLI process, a detached pod); run last first, before the leak check. */
  stops: Array<() => Promise<unknown>>;
  cleanup(): void;
}

export function makeRoot(): TestRoot {
  const dir = mkdtempSync(join(tmpdir(), 'peapod-test-'));
  const paths = runtimePaths({ root: dir });
  return { dir, paths, pids: new Set(), runtimes: [], stops: [], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function pod(name: string, containers: Container[], volumes: Volume[] = [], extra: Partial<Pod['spec']> = {}): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers, volumes, restartPolicy: 'Never', ...extra } };
}

export function sh(name: string, script: string, extra: Partial<Container> = {}): Container {
  return { name, image: 'busybox', command: ['sh', '-c', script], ...extra };
}

/** Runs a command inside a container's namespaces (all of them, and its root). */
export async function execIn(pid: number, argv: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await execFileP('nsenter', ['-t', String(pid), '-m', '-u', '-i', '-n', '-p', '-r', '-w', ...argv]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
  }
}

export function nsInode(pid: number, ns: string): number {
  return statSync(`/proc/${pid}/ns/${ns}`).ino;
}

/** Pids whose mount namespace is `inode`, straight from /proc: the processes of one container. */
export function pidsWithMnt(inode: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return nsInode(pid, 'mnt') === inode;
      } catch {
        return false;
      }
    });
}

/** Mount points of this host (our mount namespace) at or under `dir`. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Ends, last first, what the test registered in `root.stops` (each once). */
export async function runStops(root: TestRoot): Promise<void> {
  for (let stop = root.stops.pop(); stop; stop = root.stops.pop()) await stop();
}

/**
 * The root's node daemon, if a command started one: whatever pod it still
 * holds (a test that failed half-way) killed through it, then the daemon
 * stopped; its reaper ends once nothing is left below it.
 */
export async function stopDaemon(root: TestRoot): Promise<void> {
  const dp = daemonPaths(root.paths);
  const info = readJson<DaemonInfo>(dp.info);
  if (!info || !isAlive(info.pid)) return;
  root.pids.add(info.reaper.pid);
  const within = <T>(p: Promise<T>): Promise<T | undefined> => Promise.race([p, new Promise<undefined>((r) => setTimeout(r, 10_000))]);
  try {
    const reply = await within(ask(dp.socket, { op: 'pods' }));
    const held = reply && 'pods' in reply ? reply.pods.filter((p) => p.record?.owner === 'daemon' && p.live) : [];
    for (const p of held) {
      for (const pid of [p.record?.sandbox?.pid, ...Object.values(p.record?.containers ?? {}).map((c) => c.pid)]) if (pid) root.pids.add(pid);
      await within(ask(dp.socket, { op: 'delete', name: p.name, force: true, wait: true }, (r) => 'accepted' in r).catch(() => undefined));
    }
  } catch {
    // It does not answer: stopped all the same.
  }
  process.kill(info.pid, 'SIGTERM');
  await waitFor(`the daemon (pid ${info.pid}) to stop`, () => !isAlive(info.pid), 10_000);
  // Its reaper ends once nothing is below it; what keeps it (a pod left) the checks after this report.
  await waitFor(`the daemon's reaper (pid ${info.reaper.pid}) to end`, () => !isAlive(info.reaper.pid), 5000).catch(() => undefined);
}

/** The end of every integration test: no process, mount or state of it left. */
export async function expectNothingLeft(root: TestRoot): Promise<void> {
  // A test that failed half-way still ends its pods, through the runtime (and the daemon).
  await runStops(root);
  for (const r of root.runtimes) await r.stop({ force: true });
  await stopDaemon(root);
  await waitFor('every pod process to be gone', () => [...root.pids].every((p) => !isAlive(p)), 5000);
  expect(mountsUnder(root.dir)).toEqual([]);
  // A pod's directories are renamed away when it ends and removed in the background: gone once that is done.
  await discarded();
  const pods = join(root.dir, 'pods');
  expect(existsSync(pods) ? readdirSync(pods) : []).toEqual([]);
  // No process on the host runs the pause binary from this root's pods either.
  const leftovers = execFileSync('ps', ['-eo', 'pid=,args=']).toString().split('\n').filter((l) => l.includes(root.dir));
  expect(leftovers).toEqual([]);
  // Nor any cgroup: the run's cgroup parent goes with the last pod in it (test/global-setup.ts).
  await waitFor('the cgroups of the test’s pods to be removed', () => cgroupsOfThisRun().length === 0, 5000).catch(() => undefined);
  expect(cgroupsOfThisRun()).toEqual([]);
}

/** The directories of this run's cgroup parent (PEAPOD_CGROUP_PARENT), in every hierarchy where one exists. */
export function cgroupsOfThisRun(): string[] {
  const parent = process.env.PEAPOD_CGROUP_PARENT;
  if (!parent || !existsSync('/sys/fs/cgroup')) return [];
  const roots = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))];
  return roots.map((r) => join(r, parent)).filter((d) => existsSync(d));
}

/**
 * Every test of the calling suite gets a fresh state root (handed to `use`),
 * and after it the proof that nothing of it is left; the root is removed
 * either way. afterEach hooks the suite adds later run before this check.
 */
export function freshRootPerTest(use: (root: TestRoot) => void): void {
  let root: TestRoot | undefined;
  beforeEach(() => {
    root = makeRoot();
    use(root);
  });
  afterEach(async () => {
    if (!root) return;
    try {
      await expectNothingLeft(root);
    } finally {
      root.cleanup();
    }
  });
}
