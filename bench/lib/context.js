// The bench's hold on what it starts: one temporary directory per run (the
// peapod root, manifests, podman storage), every pod, pause and process it
// caused, and the cleanup that removes all of it, even after an error or
// Ctrl-C. Nothing here kills a process the bench did not start.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { alive, mountsUnder, now, sleep, startTime } from './proc.js';

import { REPO } from './repo.js';

export { REPO };
/** The CLI under test; PEAPOD_BENCH_CLI points the bench at another build (or a stub, to test the bench). */
export const CLI = process.env.PEAPOD_BENCH_CLI ? resolve(process.env.PEAPOD_BENCH_CLI) : join(REPO, 'bin', 'peapod.js');
const PREFIX = 'peapod-bench-';

/** The compiled runtime (dist/), imported once. */
export async function loadRuntime() {
  const files = ['kubelet/pod-worker.js', 'runtime/paths.js', 'node/stale.js', 'native/addon.js'];
  for (const f of files) {
    if (!existsSync(join(REPO, 'dist', f))) {
      throw new Error(`dist/${f} is missing: build first (npm run build, or: npx node-gyp rebuild --nodedir=/usr && npx tsc -p tsconfig.json && bash scripts/bundle.sh)`);
    }
  }
  const [pod, paths, stale, addon] = await Promise.all(files.map((f) => import(pathToFileURL(join(REPO, 'dist', f)).href)));
  return {
    PodWorker: pod.PodWorker,
    runtimePaths: paths.runtimePaths,
    podPaths: paths.podPaths,
    reclaimStalePods: stale.reclaimStalePods,
    umount: addon.umount,
    pauseBinary: addon.pauseBinary,
  };
}

// ---------------------------------------------------------------- pods

export function podSpec(name, containers, extra = {}) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { restartPolicy: 'Never', containers, ...extra } };
}

/** A cooperative container: `sleep` is not PID 1 of the pod, so TERM ends it. */
export const sleeper = (name) => ({ name, image: 'busybox', command: ['sleep', '1000'] });

/** A container whose main process ignores TERM: only the grace period's KILL ends it. */
// Says "ready" once TERM is ignored: a TERM sent before that would kill it.
export const termIgnorer = (name) => ({ name, image: 'busybox', command: ['sh', '-c', 'trap "" TERM; echo ready; sleep 1000'] });

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- processes

/**
 * A process started by the bench: its exit, the time of the exit (taken in
 * the exit event, before any output is drained), and its stderr.
 */
export class Proc {
  constructor(tracker, cmd, args, { env, stdout = false } = {}) {
    this.tracker = tracker;
    this.startedAt = now();
    this.child = spawn(cmd, args, { stdio: ['ignore', stdout ? 'pipe' : 'ignore', 'pipe'], env: env ?? process.env });
    tracker.children.add(this.child);
    this.stderr = '';
    this.stdout = '';
    this.waiters = [];
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => {
      this.stderr += d;
      this.wake();
    });
    if (stdout) {
      this.child.stdout.setEncoding('utf8');
      this.child.stdout.on('data', (d) => {
        this.stdout += d;
      });
    }
    this.exited = new Promise((resolve) => {
      let exit;
      this.child.on('error', (err) => {
        tracker.children.delete(this.child);
        resolve({ code: null, signal: null, error: err, at: now() });
      });
      this.child.on('exit', (code, signal) => {
        exit = { code, signal, at: now() };
        this.exitedAt = exit.at;
        this.wake();
      });
      // 'close': stdio drained too; the exit time stays the one above.
      this.child.on('close', () => {
        tracker.children.delete(this.child);
        resolve(exit ?? { code: null, signal: null, at: now() });
      });
    });
  }

  wake() {
    for (const w of this.waiters) w();
  }

  /** Resolves when stderr matches; rejects if the process exits first or on timeout. */
  waitStderr(re, ms) {
    return withTimeout(
      new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(this.stderr)) resolve(now());
          else if (this.exitedAt !== undefined) reject(new Error(`exited before ${re}: ${this.stderr.trim().slice(-400)}`));
        };
        this.waiters.push(check);
        check();
      }),
      ms,
      `waiting for ${re}`,
    );
  }

  kill(sig) {
    try {
      return this.child.kill(sig);
    } catch {
      return false;
    }
  }
}

/** Runs a command to its end; returns its duration (spawn to exit) and output. */
export async function timed(tracker, cmd, args, { env, timeoutMs = 60_000, stdout = false, ok = [0] } = {}) {
  const p = new Proc(tracker, cmd, args, { env, stdout });
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const exit = await p.exited;
  clearTimeout(timer);
  if (exit.error) throw new Error(`${cmd}: ${exit.error.message}`);
  const ms = exit.at - p.startedAt;
  if (ok && !ok.includes(exit.code)) {
    const why = exit.signal ? `signal ${exit.signal}` : `exit ${exit.code}`;
    throw new Error(`${[cmd, ...args].join(' ')}: ${why}: ${p.stderr.trim().slice(-400)}`);
  }
  return { ms, code: exit.code, signal: exit.signal, stdout: p.stdout, stderr: p.stderr };
}

// ---------------------------------------------------------------- the run

export class Tracker {
  /** PodWorker instances whose `done` has not resolved. */
  runtimes = new Set();
  /** Every pause the bench caused: pid -> start time. */
  pauses = new Map();
  /** Child processes (CLI, floors, podman) that may still run. */
  children = new Set();
  /** Pods started through `peapod run -d`, not yet deleted. */
  cliPods = new Set();
}

/** A tmpfs to compare with (the filesystem under the pod root is a large part of the cost). */
export function tmpfsBase() {
  try {
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    return /^\S+ \/dev\/shm tmpfs /m.test(mounts) ? '/dev/shm' : null;
  } catch {
    return null;
  }
}

function makeWork(base) {
  const work = mkdtempSync(join(base, PREFIX));
  // Who owns this directory: a later run reclaims it if this one was killed.
  writeFileSync(join(work, 'owner.json'), JSON.stringify({ pid: process.pid, startTime: startTime(process.pid) }));
  mkdirSync(join(work, 'root'));
  return work;
}

export class Context {
  constructor(opts, rt) {
    this.opts = opts;
    this.rt = rt;
    this.tracker = new Tracker();
    this.seq = 0;
    this.works = [];
    this.work = makeWork(opts.tmp ?? tmpdir());
    this.works.push(this.work);
    this.root = join(this.work, 'root');
    this.manifests = join(this.work, 'manifests');
    mkdirSync(this.manifests);
    this.paths = rt.runtimePaths({ root: this.root });
    // The same pods with their root on a tmpfs, for the filesystem's share.
    const shm = tmpfsBase();
    if (shm && shm !== (opts.tmp ?? tmpdir())) {
      const work = makeWork(shm);
      this.works.push(work);
      this.tmpfsPaths = rt.runtimePaths({ root: join(work, 'root') });
      // A real host's layout (peapod's defaults): the state root on a tmpfs
      // (/run/peapod), the data root on disk (/var/lib/peapod).
      mkdirSync(join(work, 'state'));
      mkdirSync(join(this.work, 'data'));
      this.splitPaths = rt.runtimePaths({}, { PEAPOD_STATE_ROOT: join(work, 'state'), PEAPOD_DATA_ROOT: join(this.work, 'data'), PEAPOD_IMAGES: this.paths.images });
    }
  }

  /** The bench's own pod network, made on first use (bench/lib/network.js). */
  async network() {
    this.net ??= import('./network.js').then((m) => m.benchNetwork(this.work));
    return this.net;
  }

  /** A pod name unique in this run (a DNS label). */
  name(prefix) {
    return `${prefix}-${++this.seq}`;
  }

  trackPause(pid) {
    if (pid > 0 && !this.tracker.pauses.has(pid)) this.tracker.pauses.set(pid, startTime(pid));
  }

  /** PodWorker.start, with the pod registered for cleanup. */
  async startPod(pod, onLog, paths = this.paths, options = {}) {
    const runtime = await this.rt.PodWorker.start(pod, { paths, ...(onLog ? { onLog } : {}), ...options });
    this.tracker.runtimes.add(runtime);
    this.trackPause(runtime.sandbox.pid);
    void runtime.done.then(() => this.tracker.runtimes.delete(runtime));
    return runtime;
  }

  /** The on-disk record of a pod under our root (written by whichever process runs it). */
  record(name) {
    try {
      const pp = this.rt.podPaths(this.paths, name);
      // runtime.json since the lifecycle work; pod.json before it.
      return JSON.parse(readFileSync(pp.recordFile ?? pp.stateFile, 'utf8'));
    } catch {
      return null;
    }
  }

  manifest(pod) {
    const file = join(this.manifests, `${pod.metadata.name}.json`);
    // JSON is YAML: the CLI reads it as it is.
    writeFileSync(file, JSON.stringify(pod, null, 2));
    return file;
  }

  proc(args) {
    return new Proc(this.tracker, process.execPath, [CLI, ...args]);
  }

  cli(args, options = {}) {
    return timed(this.tracker, process.execPath, [CLI, ...args], options);
  }

  timed(cmd, args, options = {}) {
    return timed(this.tracker, cmd, args, options);
  }

  /** The node daemon of our root, as daemon.json says (pid and reaper), when it runs. */
  daemon() {
    try {
      const info = JSON.parse(readFileSync(join(this.root, 'daemon', 'daemon.json'), 'utf8'));
      return alive(info.pid, info.startTime) ? info : null;
    } catch {
      return null;
    }
  }

  /** Stops and removes everything of this run. Safe to call twice. */
  async cleanup(log = () => {}) {
    if (this.cleaned) return this.cleaned;
    this.cleaned = this.doCleanup(log);
    return this.cleaned;
  }

  async doCleanup(log) {
    const t = this.tracker;
    // 1. Pods this process supervises: force-stop, through the runtime.
    await Promise.all(
      [...t.runtimes].map((r) => withTimeout(r.stop({ force: true }), 15_000, `stopping pod ${r.name}`).catch((e) => log(`cleanup: ${e.message}`))),
    );
    // 1b. The bench's pod network, once its pods are gone.
    if (this.net) (await this.net).remove(log);
    // 2. Pods started with `peapod run -d`: delete them the way a user would.
    for (const name of t.cliPods) {
      await this.cli(['delete', 'pod', name, '--force', '--root', this.root], { timeoutMs: 15_000, ok: null }).catch((e) => log(`cleanup: ${e.message}`));
    }
    // 2b. The node daemon run -d started under our roots (its pods outlive it: they are deleted above).
    for (const work of this.works) {
      if (!existsSync(join(work, 'root', 'daemon'))) continue;
      await this.cli(['daemon', '--stop', '--root', join(work, 'root')], { timeoutMs: 15_000, ok: null }).catch((e) => log(`cleanup: ${e.message}`));
    }
    // 3. Podman's pods and storage.
    if (this.podman) await this.podman.cleanup(log).catch((e) => log(`cleanup: podman: ${e.message}`));
    // 4. Our child processes still running (a foreground `peapod run`): TERM, then KILL.
    const running = [...t.children].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of running) c.kill('SIGTERM');
    const deadline = now() + 5000;
    while (running.some((c) => c.exitCode === null && c.signalCode === null) && now() < deadline) await sleep(20);
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // 5. A supervisor that `run -d` left behind under our root (it is ours: its
    //    command line names our root), then whatever dead supervisors left.
    this.killOurSupervisors(log);
    await sleep(50);
    for (const work of this.works) {
      reclaimRoot(this.rt, join(work, 'root'), log);
      reclaimRoot(this.rt, join(work, 'state'), log);
      removeTree(this.rt, work, log);
    }
  }

  killOurSupervisors(log) {
    const podsDir = join(this.root, 'pods');
    if (!existsSync(podsDir)) return;
    for (const name of readdirSync(podsDir)) {
      const rec = this.record(name);
      const sup = rec?.supervisor;
      if (!sup || sup.pid === process.pid || !alive(sup.pid, sup.startTime)) continue;
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${sup.pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmdline.includes(this.root) && !cmdline.includes(this.work)) continue;
      log(`cleanup: killing supervisor ${sup.pid} of pod ${name} (started by this bench)`);
      try {
        process.kill(sup.pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
  }

  /** After cleanup: every pause the bench caused must be gone. Returns the survivors. */
  async leftoverPauses(waitMs = 5000) {
    const deadline = now() + waitMs;
    let left;
    do {
      left = [...this.tracker.pauses].filter(([pid, start]) => alive(pid, start)).map(([pid]) => pid);
      if (left.length === 0) return [];
      await sleep(50);
    } while (now() < deadline);
    return left;
  }
}

function reclaimRoot(rt, root, log) {
  if (!existsSync(root)) return;
  try {
    rt.reclaimStalePods(rt.runtimePaths({ root }));
  } catch (e) {
    log(`cleanup: reclaiming pods under ${root}: ${e.message}`);
  }
}

function removeTree(rt, dir, log) {
  for (const point of mountsUnder(dir)) {
    try {
      rt.umount(point, true);
    } catch (e) {
      log(`cleanup: umount ${point}: ${e.message}`);
    }
  }
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    log(`cleanup: rm ${dir}: ${e.message}`);
  }
}

/** Removes what earlier bench runs left when they were killed (owner process gone). */
export function reclaimAbandoned(rt, log, bases) {
  for (const base of bases) for (const entry of readdirSync(base)) {
    if (!entry.startsWith(PREFIX)) continue;
    const dir = join(base, entry);
    let owner = null;
    try {
      owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8'));
    } catch {
      continue; // Not ours, or not yet written: leave it.
    }
    if (owner && alive(owner.pid, owner.startTime)) continue;
    log(`reclaiming ${dir}, left by an earlier bench run (pid ${owner?.pid})`);
    reclaimRoot(rt, join(dir, 'root'), log);
    // The state root of the default-layout rows (its data root is in the other work directory, removed with it).
    reclaimRoot(rt, join(dir, 'state'), log);
    removeTree(rt, dir, log);
  }
}

export function gitDescribe() {
  const head = spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const status = spawnSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  if (head.status !== 0) return null;
  const dirty = (status.stdout ?? '').trim() !== '';
  return `${head.stdout.trim()}${dirty ? '+dirty' : ''}`;
}
