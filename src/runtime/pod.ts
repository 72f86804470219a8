// A pod's life in this process, its supervisor. Like the kubelet's syncPod,
// one function (sync) looks at what is observed and does the next thing:
// re-create a dead sandbox, run init containers in order, start or restart
// app containers with back-off, and end the pod when its phase is terminal.
// Every exit, timer and hook calls sync again; status is recomputed from
// observations and written to disk whenever it changes.
import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { resolveSecurity } from '../plan/security.js';
import { closeSync, mkdtempSync, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pauseBinary as defaultPause, SpawnError } from '../native/addon.js';
import { localDecision, PodImages } from '../image/ensure.js';
import type { PreparedVolume } from '../plan/container.js';
import { sandboxPlan } from '../plan/sandbox.js';
import type { Pod } from '../spec/types.js';
import { backoffFromEnv, type BackoffConfig } from './backoff.js';
import { ContainerRunner, type InstanceContext } from './container.js';
import { resolveEnv } from './env.js';
import { EventLog, type PodEvent } from './events.js';
import { admit, nodeAllocatable } from './admission.js';
import { containerLimits, podLimits, podPidsLimitFromEnv, removePodCgroups } from './cgroups/pod.js';
import { detectDriver } from './cgroups/detect.js';
import type { Cgroup, CgroupDriver } from './cgroups/types.js';
import { liveRecords } from './store.js';
import { joinCgroup } from '../plan/cgroup.js';
import { controlSocketPath, serveControl } from './control.js';
import type { Server } from 'node:net';
import { checkExecutable } from './executable.js';
import { runHook, type HookContext } from './hooks.js';
import { spawnInContainer } from './exec.js';
import { rotationFromEnv, type LogListener, type LogRotation } from './logs.js';
import { podPaths, prepareRoots, type PodPaths, type RuntimePaths } from './paths.js';
import { makeDir, MODE } from './modes.js';
import { evictionIntervalFromEnv, limitedEmptyDirs, watchEmptyDirs, type EvictionWatch } from './eviction.js';
import { mountPodShm, unmountPodDir, writePodFiles } from './pod-files.js';
import { processStartTime } from './proc.js';
import { exitCodeOf, PlanProcess, type ExitStatus } from './process.js';
import { CLAIM_PREFIX, isLive, reclaimPod } from './stale.js';
import { readRecord, writeJsonAtomic, writeRecord, type PodRecord } from './state.js';
import { isTerminal, shouldRestart } from './status/phase.js';
import { podStatus } from './status/pod-status.js';
import type { PodStatus } from './status/types.js';
import { prepareVolumes, removeCreated } from './volumes.js';

/** The kubelet's floor for a zero grace period; only force skips it. */
export const MIN_GRACE_SECONDS = 2;
export const DEFAULT_GRACE_SECONDS = 30;

export interface PodOptions {
  paths: RuntimePaths;
  onLog?: LogListener;
  /** The pod infrastructure binary (the kubelet's --pod-infra-container-image). */
  pauseBinary?: string;
  /** Crash-loop back-off; defaults to the kubelet's, overridable by PEAPOD_BACKOFF_*. */
  backoff?: BackoffConfig;
  /** Called after every status change (already written to disk). */
  onStatus?: (pod: PodObject) => void;
  /** Called for every event the supervisor records. */
  onEvent?: (event: PodEvent) => void;
  /** Log rotation; defaults to the kubelet's, overridable by PEAPOD_LOG_MAX_BYTES/FILES. */
  logRotation?: LogRotation;
  /** The cgroup driver (detected from the host when undefined; null: no cgroups). */
  cgroups?: CgroupDriver | null;
  /** The cgroup every pod's cgroup goes under (default `peapod`, or PEAPOD_CGROUP_PARENT). */
  cgroupParent?: string;
  /** The pod-level pids limit (default 4096, or PEAPOD_POD_PIDS_LIMIT). */
  podPidsLimit?: number;
  /** What this node offers pods, `memory=2Gi,cpu=2` (default: the host's, or PEAPOD_NODE_ALLOCATABLE). */
  nodeAllocatable?: string;
  /** Seconds between two measures of the emptyDirs with a sizeLimit (default 10, or PEAPOD_EVICTION_INTERVAL). */
  evictionInterval?: number;
}

export interface ContainerResult {
  name: string;
  exit: ExitStatus;
  /** Set when the runtime knows why, beyond the exit (OOMKilled). */
  reason?: string;
  exitCode: number;
  restartCount: number;
  startedAt: Date;
  finishedAt: Date;
}

export interface PodResult {
  containers: ContainerResult[];
  /** 0 when every app container's last run exited 0. */
  exitCode: number;
  status: PodStatus;
}

export interface StopOptions {
  gracePeriodSeconds?: number;
  force?: boolean;
}

/** The v1 Pod as peapod reports it: the manifest plus what was observed. */
export interface PodObject extends Pod {
  metadata: Pod['metadata'] & {
    uid: string;
    namespace: string;
    creationTimestamp: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
  };
  status: PodStatus;
}

export class PodExistsError extends Error {
  override name = 'PodExistsError';
}

/**
 * Claims the pod's name under the root, atomically: the pod's directory
 * appears by rename already holding its record, so another peapod never sees
 * it half-made (and never mistakes it for stale). A stale pod of that name
 * is reclaimed first.
 */
async function claimName(paths: RuntimePaths, pp: PodPaths, name: string, record: PodRecord): Promise<void> {
  const pods = join(paths.state, 'pods');
  prepareRoots(paths);
  for (let attempt = 0; attempt < 2; attempt++) {
    const staging = mkdtempSync(join(pods, CLAIM_PREFIX));
    writeRecord(join(staging, 'runtime.json'), record);
    try {
      renameSync(staging, pp.state);
      return;
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
    }
    const existing = readRecord(pp.recordFile);
    if (isLive(existing)) {
      throw new PodExistsError(
        `pod "${name}" already exists under ${paths.state} (supervised by pid ${existing?.supervisor.pid}); delete it first or choose another metadata.name`,
      );
    }
    await reclaimPod(paths, name);
  }
  throw new PodExistsError(`pod "${name}": could not claim ${pp.state}`);
}

export class PodRuntime {
  readonly name: string;
  readonly uid: string;
  readonly hostname: string;
  readonly paths: PodPaths;
  readonly init: ContainerRunner[] = [];
  readonly app: ContainerRunner[] = [];
  readonly events = new EventLog();
  sandbox!: PlanProcess;
  readonly done: Promise<PodResult>;

  readonly record: PodRecord;
  private readonly logRotation: LogRotation;
  private readonly createdAt = new Date().toISOString();
  private startTime: string | undefined;
  private volumes = new Map<string, PreparedVolume>();
  private createdVolumes: string[] = [];
  private nul = -1;
  private supervising = false;
  private syncing = false;
  private syncAgain = false;
  private finishing = false;
  private tornDown = false;
  private terminating: { deadline: number; grace: number; requestedAt: string } | undefined;
  private failure: { reason: string; message: string } | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private control: Server | undefined;
  private eviction: EvictionWatch | undefined;
  private podCgroup: Cgroup | undefined;
  private sandboxCgroup: Cgroup | undefined;
  private lastStatus: PodStatus | undefined;
  private lastWritten = '';
  private pendingPod: PodObject | undefined;
  private eventsDirty = false;
  private recordDirty = false;
  private flushScheduled = false;
  private resolveDone!: (r: PodResult) => void;
  /** Issue 13: the pod's images, pulled before its containers start. */
  private images!: PodImages;

  private constructor(
    readonly pod: Pod,
    private readonly options: PodOptions,
  ) {
    this.name = pod.metadata.name;
    this.uid = pod.metadata.uid ?? randomUUID();
    // On the host's network the pod has the host's name too (the kubelet's rule).
    // A name may be 253 characters; a hostname 63: the kubelet cuts it there (and any '-' or '.' left at the end).
    this.hostname = pod.spec.hostNetwork ? osHostname() : (pod.spec.hostname ?? pod.metadata.name.slice(0, 63).replace(/[-.]+$/, ''));
    this.paths = podPaths(options.paths, this.name);
    this.record = {
      name: this.name,
      uid: this.uid,
      createdAt: this.createdAt,
      supervisor: { pid: process.pid, startTime: processStartTime(process.pid) ?? 0 },
      containers: {},
      dataDir: this.paths.data,
      imagesDir: options.paths.images,
      control: controlSocketPath(this.paths, options.paths.state),
      pod,
    };
    this.logRotation = options.logRotation ?? rotationFromEnv();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** All containers, init first, as a map by name (for tests and tools). */
  get containers(): Map<string, ContainerRunner> {
    return new Map([...this.init, ...this.app].map((r) => [r.spec.name, r]));
  }

  get policy(): NonNullable<Pod['spec']['restartPolicy']> {
    return this.pod.spec.restartPolicy ?? 'Always';
  }

  get isTerminating(): boolean {
    return this.terminating !== undefined;
  }

  /**
   * Starts the pod: the sandbox, then the first init container or every app
   * container (each with its postStart hook). A failure here rolls the
   * whole pod back and throws: never half a pod.
   */
  static async start(pod: Pod, options: PodOptions): Promise<PodRuntime> {
    const runtime = new PodRuntime(pod, options);
    const evictionInterval = options.evictionInterval ?? evictionIntervalFromEnv();
    const limitedDirs = limitedEmptyDirs(pod.spec.volumes ?? [], (v) => runtime.paths.volume(v));
    runtime.prepare();
    await claimName(options.paths, runtime.paths, runtime.name, runtime.record);
    try {
      runtime.createPodFiles();
      runtime.createSandbox();
      await runtime.startFirst();
    } catch (err) {
      await runtime.rollback();
      throw err;
    }
    runtime.supervising = true;
    runtime.control = serveControl(runtime.record.control as string, runtime);
    // The kubelet's eviction for an emptyDir over its sizeLimit: killed at once, Failed, Evicted.
    runtime.eviction = watchEmptyDirs(limitedDirs, evictionInterval, (message) => !runtime.isTerminating && runtime.fail('Evicted', message));
    runtime.armDeadline();
    runtime.sync();
    // Whoever started it may read pod.json at once (run -d, then get).
    runtime.flush();
    return runtime;
  }

  /** Everything that can be checked before touching the host, admission included. */
  private prepare(): void {
    const admitted = liveRecords(this.options.paths).flatMap((r) => (r.name !== this.name ? [r.pod.spec] : []));
    admit(this.name, this.pod.spec, nodeAllocatable(this.options.nodeAllocatable ?? process.env.PEAPOD_NODE_ALLOCATABLE), admitted);
    const backoff = this.options.backoff ?? backoffFromEnv();
    this.images = new PodImages({
      store: this.options.paths.images,
      backoff,
      event: (type, reason, message, name) => this.event(type, reason, message, this.containers.get(name)),
      changed: () => this.sync(),
    });
    const runner = (c: Pod['spec']['containers'][number], isInit: boolean): ContainerRunner => {
      const r = new ContainerRunner(resolveEnv(c, this.pod, this.uid), isInit, backoff);
      // Issue 13: an image already here is checked now (a missing command fails the run at once); the rest are pulled at start.
      const local = localDecision(this.options.paths.images, c);
      if ('image' in local) {
        r.setImage(local.image, this.pod.spec);
        checkExecutable(r.spec, local.image, this.hostname, local.image.fs);
      }
      return r;
    };
    for (const c of this.pod.spec.initContainers ?? []) this.init.push(runner(c, true));
    for (const c of this.pod.spec.containers) this.app.push(runner(c, false));
  }

  /**
   * The pod's cgroup, with pause's and each container's below it, before
   * any process exists. Their paths are on disk before the first mkdir, so
   * a crash at any point leaves enough for the next peapod to remove them.
   */
  private createCgroups(): void {
    const driver = this.options.cgroups === undefined ? detectDriver() : this.options.cgroups;
    if (!driver) {
      writeRecord(this.paths.recordFile, this.record);
      return;
    }
    const parent = this.options.cgroupParent ?? process.env.PEAPOD_CGROUP_PARENT ?? 'peapod';
    const podPath = `${parent}/pod${this.uid}`;
    const all = [...this.init, ...this.app];
    this.record.cgroups = {
      driver: driver.kind,
      pod: podPath,
      containers: Object.fromEntries(all.map((r) => [r.spec.name, driver.open(`${podPath}/${r.spec.name}`).procsFiles])),
    };
    writeRecord(this.paths.recordFile, this.record);
    this.podCgroup = driver.create(podPath);
    this.podCgroup.setLimits(podLimits(this.pod.spec, this.options.podPidsLimit ?? podPidsLimitFromEnv()));
    this.sandboxCgroup = driver.create(`${podPath}/pause`);
    for (const r of all) {
      r.cgroup = driver.create(`${podPath}/${r.spec.name}`);
      r.cgroup.setLimits(containerLimits(r.spec));
    }
  }

  private createPodFiles(): void {
    const { paths } = this;
    this.createCgroups();
    makeDir(paths.data, MODE.podDir);
    writePodFiles(paths, this.hostname);
    mountPodShm(paths);
    const fsGroup = this.pod.spec.securityContext?.fsGroup;
    const prepared = prepareVolumes(this.pod.spec.volumes ?? [], (v) => paths.volume(v), fsGroup === undefined ? {} : { fsGroup });
    this.volumes = prepared.volumes;
    this.createdVolumes = prepared.created;
    this.nul = openSync('/dev/null', 'r');
    this.event('Normal', 'Scheduled', `Successfully assigned ${this.pod.metadata.namespace ?? 'default'}/${this.name} to this host`);
  }

  private createSandbox(): void {
    this.sandbox = PlanProcess.spawn(
      joinCgroup(sandboxPlan({ hostname: this.hostname, pauseBinary: this.options.pauseBinary ?? defaultPause, podSpec: this.pod.spec }), this.sandboxCgroup?.procsFiles ?? []),
      [this.nul, this.nul, this.nul],
    );
    this.startTime ??= this.sandbox.startedAt.toISOString();
    this.record.sandbox = { pid: this.sandbox.pid, startTime: this.sandbox.startTime };
    this.saveRecord();
    void this.sandbox.exited.then(() => this.sync());
  }

  private async startFirst(): Promise<void> {
    const first = this.init.length > 0 ? [this.init[0] as ContainerRunner] : this.app;
    for (const r of first) await this.startContainer(r, true);
  }

  private instanceContext(): InstanceContext {
    return {
      sandboxPid: this.sandbox.pid,
      hostname: this.hostname,
      paths: this.paths,
      volumes: this.volumes,
      stdin: this.nul,
      logRotation: this.logRotation,
      podSpec: this.pod.spec,
      initBinary: this.options.pauseBinary ?? defaultPause,
      ...(this.options.onLog ? { onLog: this.options.onLog } : {}),
    };
  }

  private hookContext(r: ContainerRunner): HookContext {
    return {
      name: r.spec.name,
      container: r.spec,
      containerPid: r.process?.pid ?? 0,
      env: r.env,
      workingDir: r.workingDir,
      cgroupProcs: r.cgroup?.procsFiles ?? [],
      // A hook runs with the container's identity and capabilities, never more.
      security: resolveSecurity({ container: r.spec, podSpec: this.pod.spec, rootfs: r.runningImage.rootfs, fs: r.runningImage.fs }),
      launcher: this.options.pauseBinary ?? defaultPause,
    };
  }

  /**
   * Starts a new instance of a container, then its postStart hook (the next
   * container waits for it, as in the kubelet). On the pod's first start a
   * failure throws; later it is recorded as a StartError run and retried
   * with back-off like a crash.
   */
  private async startContainer(r: ContainerRunner, first: boolean): Promise<void> {
    let proc: PlanProcess;
    try {
      // Issue 13: the image first, as the pull policy says; the container waits while it is pulled.
      const image = this.images.imageFor(r.manifest);
      if (!image) {
        r.obs.waiting = this.images.waiting(r.spec.name) ?? { reason: 'ContainerCreating' };
        this.writeStatus();
        return;
      }
      if (image !== r.image) {
        r.setImage(image, this.pod.spec);
        checkExecutable(r.spec, image, this.hostname, image.fs);
      }
      proc = r.startInstance(this.instanceContext());
    } catch (err) {
      if (first) throw err;
      const message = (err as Error).message;
      r.recordStartError(message, !(err instanceof SpawnError && err.op === 'exec'));
      this.event('Warning', 'Failed', `Error: ${message}`, r);
      queueMicrotask(() => this.sync());
      return;
    }
    this.record.containers[r.spec.name] = { pid: proc.pid, startTime: proc.startTime, env: r.env, workingDir: r.workingDir, image: r.runningImage.id };
    this.saveRecord();
    this.event('Normal', 'Created', `Created container ${r.spec.name}`, r);
    this.event('Normal', 'Started', `Started container ${r.spec.name}`, r);
    void proc.exited.then((exit) => this.onExit(r, proc, exit));

    const postStart = r.spec.lifecycle?.postStart;
    if (postStart && !r.isInit) {
      r.busy = true;
      const result = await runHook(this.hookContext(r), 'PostStart', postStart, 2 ** 31 - 1, r.hookSignal());
      r.busy = false;
      if (!result.ok && proc.running) {
        // The kubelet kills a container whose postStart failed; the restart policy decides the rest.
        this.event('Warning', 'FailedPostStartHook', result.message, r);
        void r.kill();
      }
    }
    if (proc.running) r.obs.started = true;
    this.writeStatus();
    if (this.supervising) this.sync();
  }

  private onExit(r: ContainerRunner, proc: PlanProcess, exit: ExitStatus): void {
    if (r.process !== proc) return;
    if (r.killTimer) clearTimeout(r.killTimer);
    r.killTimer = undefined;
    // Whatever the main process left behind in its container goes with it;
    // then its output is read to the end before the exit is recorded
    // (FallbackToLogsOnError reads the log).
    r.draining = true;
    void r
      .kill()
      .then(() => r.log?.done)
      .then(() => r.kill())
      .then(() => {
        r.releaseNamespace();
        r.draining = false;
        r.recordExit(exit, this.paths);
        this.sync();
      })
      .catch((err: unknown) => this.fail('SyncFailed', err));
  }

  /**
   * Runs a command in a running container (the library's exec): its
   * namespaces, cgroup, identity and environment, with the given stdio
   * (default: none). Resolves to the command's exit code (128+N for signal N).
   */
  async exec(container: string, argv: string[], stdio?: [number, number, number]): Promise<number> {
    const r = this.containers.get(container);
    if (!r?.process?.running) throw new Error(`cannot exec in a stopped container: container "${container}" of pod "${this.name}" is not running`);
    const nul = stdio ? -1 : openSync('/dev/null', 'r+');
    let proc: PlanProcess;
    try {
      proc = spawnInContainer(this.hookContext(r), 'exec', argv, stdio ?? [nul, nul, nul]);
    } finally {
      if (nul >= 0) closeSync(nul);
    }
    return exitCodeOf(await proc.exited);
  }

  /**
   * The kubelet's sync loop, for one pod: decide the next step from what is
   * observed. Starting a container can call back into sync; such a call
   * only asks for one more pass, so passes never nest.
   */
  sync(): void {
    if (!this.supervising || this.finishing) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    try {
      do {
        this.syncAgain = false;
        this.syncOnce();
      } while (this.syncAgain && this.supervising && !this.finishing);
    } catch (err) {
      this.fail('SyncFailed', err);
    } finally {
      this.syncing = false;
    }
  }

  /**
   * Something the supervisor cannot carry on from (pause cannot be made
   * again, a cgroup vanished): the pod fails with the reason, and ends as
   * any pod does, without leaving anything behind.
   */
  private fail(reason: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.failure ??= { reason, message };
    this.event('Warning', reason, message);
    if (!this.finishing) void this.stop({ force: true });
    if (!this.sandbox.running) void this.finish();
  }

  private syncOnce(): void {
    const all = [...this.init, ...this.app];
    const quiet = (): boolean => all.every((r) => !r.running && !r.busy);

    if (this.terminating) {
      this.writeStatus();
      if (quiet()) void this.finish();
      return;
    }

    if (!this.sandbox.alive) {
      // The kernel ends every process of the pod with pause; wait for their exits.
      if (all.some((r) => r.running)) return;
      if (this.policy === 'Never') {
        this.writeStatus();
        void this.finish();
        return;
      }
      this.recreateSandbox();
    }

    if (this.syncInit()) {
      this.syncApp();
    } else {
      // App containers wait for every init container to succeed.
      for (const r of this.app) if (!r.obs.current) r.obs.waiting = { reason: 'PodInitializing' };
    }
    const status = this.writeStatus();
    if (isTerminal(status.phase) && quiet()) void this.finish();
  }

  /** Runs init containers one at a time; true once all have succeeded in this sandbox. */
  private syncInit(): boolean {
    for (const r of this.init) {
      if (r.succeededHere) continue;
      if (r.running || r.busy) return false;
      if (!r.exited || r.restartAt === 0) {
        void this.startContainer(r, false);
        return false;
      }
      if (!shouldRestart(this.policy, r.lastExitCode ?? 1, true)) return false; // phase: Failed
      this.scheduleRestart(r);
      return false;
    }
    return true;
  }

  private syncApp(): void {
    for (const r of this.app) {
      if (r.running) continue;
      // Containers start in order; a running postStart holds back the next.
      if (r.busy) return;
      if (!r.exited || r.restartAt === 0) {
        void this.startContainer(r, false);
        if (r.busy) return;
        continue;
      }
      if (shouldRestart(this.policy, r.lastExitCode ?? 1, false)) this.scheduleRestart(r);
    }
  }

  /** Restarts at once, or after the back-off delay (CrashLoopBackOff meanwhile). */
  private scheduleRestart(r: ContainerRunner): void {
    if (r.restartAt !== undefined) {
      if (Date.now() < r.restartAt) return;
      r.restartAt = 0;
      void this.startContainer(r, false);
      return;
    }
    const cur = r.obs.current;
    const ran = cur?.finishedAt ? (Date.parse(cur.finishedAt) - Date.parse(cur.startedAt)) / 1000 : 0;
    const delay = r.backoff.next(ran);
    if (delay <= 0) {
      r.restartAt = 0;
      void this.startContainer(r, false);
      return;
    }
    r.restartAt = Date.now() + delay * 1000;
    const ns = this.pod.metadata.namespace ?? 'default';
    const message = `back-off ${formatSeconds(delay)} restarting failed container=${r.spec.name} pod=${this.name}_${ns}(${this.uid})`;
    // A container that could not even be created keeps saying so while it waits.
    if (r.obs.waiting?.reason !== 'CreateContainerError') r.obs.waiting = { reason: 'CrashLoopBackOff', message };
    this.event('Warning', 'BackOff', 'Back-off restarting failed container', r);
    r.restartTimer = setTimeout(() => {
      // Due now: the loop's clock may fire a hair before Date.now() agrees.
      r.restartTimer = undefined;
      r.restartAt = 0;
      this.sync();
    }, delay * 1000);
  }

  /** pause died: a new sandbox, init containers again, and every container restarted in it. */
  private recreateSandbox(): void {
    this.event('Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    this.createSandbox();
    for (const r of this.init) r.succeededHere = false;
    for (const r of [...this.init, ...this.app]) {
      r.clearTimers();
      // OnFailure leaves a container that succeeded alone; the rest start at once.
      const done = this.policy === 'OnFailure' && r.exited && r.lastExitCode === 0 && !r.isInit;
      r.restartAt = done ? undefined : 0;
      if (!done) delete r.obs.waiting;
    }
  }

  private armDeadline(): void {
    const seconds = this.pod.spec.activeDeadlineSeconds;
    if (seconds === undefined) return;
    const elapsed = (Date.now() - Date.parse(this.startTime ?? this.createdAt)) / 1000;
    this.deadlineTimer = setTimeout(() => {
      this.failure = { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' };
      this.event('Normal', 'DeadlineExceeded', this.failure.message);
      void this.stop();
    }, Math.max(seconds - elapsed, 0) * 1000);
  }

  /**
   * The seed's termination: the pod is Terminating at once; for every
   * container in parallel, preStop (its time comes out of the grace
   * period), then SIGTERM, then SIGKILL to all of the container when the
   * grace period ends; pause only after every container is gone. A zero
   * grace period still gets the kubelet's minimum; only force kills at
   * once. A later call may shorten the grace period, never lengthen it.
   */
  stop(options: StopOptions = {}): Promise<PodResult> {
    if (this.finishing) return this.done;
    const requested = options.gracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    const grace = options.force ? 0 : Math.max(requested, MIN_GRACE_SECONDS);
    const deadline = Date.now() + grace * 1000;
    // A later request may shorten the grace period, never lengthen it; force always acts.
    if (this.terminating && !options.force && deadline >= this.terminating.deadline) return this.done;
    const first = this.terminating === undefined;
    this.terminating = { deadline, grace, requestedAt: new Date().toISOString() };
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    for (const r of [...this.init, ...this.app]) {
      if (r.restartTimer) clearTimeout(r.restartTimer);
      r.restartTimer = undefined;
      if (options.force) r.abortHooks();
      if (!r.running) continue;
      if (options.force) {
        void r.kill();
      } else if (first) {
        void this.terminateContainer(r);
      } else if (this.terminating) {
        this.armKill(r, this.terminating.deadline);
      }
    }
    this.writeStatus();
    this.sync();
    return this.done;
  }

  private async terminateContainer(r: ContainerRunner): Promise<void> {
    const t = this.terminating;
    if (!t) return;
    this.event('Normal', 'Killing', `Stopping container ${r.spec.name}`, r);
    const preStop = r.spec.lifecycle?.preStop;
    const minimum = MIN_GRACE_SECONDS * 1000;
    // The grace period bounds everything, the hook included, whatever the
    // hook does; a preStop that used it all still leaves SIGTERM the
    // kubelet's minimum.
    this.armKill(r, t.deadline + (preStop ? minimum : 0));
    if (preStop && r.running) {
      r.busy = true;
      const result = await runHook(this.hookContext(r), 'PreStop', preStop, t.deadline - Date.now(), r.hookSignal());
      r.busy = false;
      if (!result.ok) this.event('Warning', 'FailedPreStopHook', result.message, r);
    }
    if (!r.running) return this.sync();
    r.process?.signal((r.image?.config.stopSignal ?? 'SIGTERM') as NodeJS.Signals);
    this.armKill(r, preStop ? Math.max(t.deadline, Date.now() + minimum) : t.deadline);
  }

  /** SIGKILL to everything of the container at `at` (ms since epoch): the end of its grace period. */
  private armKill(r: ContainerRunner, at: number): void {
    if (r.killTimer) clearTimeout(r.killTimer);
    r.killTimer = setTimeout(() => void r.kill(), Math.max(at - Date.now(), 0));
  }

  /** The pod is over: stop pause (after every container), tear down, report. */
  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.images.close();
    this.eviction?.stop();
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    const all = [...this.init, ...this.app];
    for (const r of all) {
      r.clearTimers();
      r.abortHooks();
      if (r.running) void r.kill();
    }
    this.sandbox.signal('SIGTERM');
    await Promise.all([this.sandbox.exited, ...all.map((r) => r.process?.exited)]);
    await Promise.all(all.map((r) => r.log?.done));
    const status = this.writeStatus();
    try {
      await this.teardown();
    } catch (err) {
      // What could not be removed now, the next peapod reclaims; say what it was.
      process.stderr.write(`peapod: tearing down pod ${this.name}: ${(err as Error).message}\n`);
    }
    const containers = this.app
      .filter((r) => r.process?.exit !== undefined)
      .map((r) => {
        const exit = r.process?.exit as ExitStatus;
        return {
          name: r.spec.name,
          exit,
          ...(r.obs.current?.reason ? { reason: r.obs.current.reason } : {}),
          exitCode: exitCodeOf(exit),
          restartCount: r.obs.restartCount,
          startedAt: (r.process as PlanProcess).startedAt,
          finishedAt: (r.process as PlanProcess).finishedAt as Date,
        };
      });
    const failedInit = this.init.find((r) => r.exited && r.lastExitCode !== 0);
    const exitCode = containers.find((c) => c.exitCode !== 0)?.exitCode ?? (failedInit ? (failedInit.lastExitCode ?? 1) : 0);
    this.resolveDone({ containers, exitCode, status });
  }

  /** The pod as a v1 Pod object, with its status computed from observations. */
  podObject(status: PodStatus = this.computeStatus()): PodObject {
    const t = this.terminating;
    return {
      ...this.pod,
      metadata: {
        ...this.pod.metadata,
        namespace: this.pod.metadata.namespace ?? 'default',
        uid: this.uid,
        creationTimestamp: this.createdAt,
        ...(t ? { deletionTimestamp: new Date(t.deadline).toISOString(), deletionGracePeriodSeconds: t.grace } : {}),
      },
      status,
    };
  }

  computeStatus(): PodStatus {
    return podStatus({
      spec: this.pod.spec,
      init: this.init.map((r) => r.status()),
      app: this.app.map((r) => r.status()),
      ...(this.startTime ? { startTime: this.startTime } : {}),
      ...(this.failure ? { failure: this.failure } : {}),
      ...(this.lastStatus ? { previous: this.lastStatus } : {}),
      now: new Date().toISOString(),
    });
  }

  /** Recomputes the status; writes pod.json (atomically) only when it changed. */
  /**
   * Recomputes the status; when it changed, tells the listener at once and
   * schedules the write of pod.json. Writes are coalesced to one per turn
   * of the event loop: a start changes the status a dozen times, and each
   * write+rename costs most of a millisecond on a disk.
   */
  private writeStatus(): PodStatus {
    const status = this.computeStatus();
    this.lastStatus = status;
    if (this.tornDown) return status;
    const object = this.podObject(status);
    const text = JSON.stringify(object);
    if (text !== this.lastWritten) {
      this.lastWritten = text;
      this.pendingPod = object;
      this.scheduleFlush();
      this.options.onStatus?.(object);
    }
    return status;
  }

  private event(type: PodEvent['type'], reason: string, message: string, r?: ContainerRunner): void {
    const e = this.events.record(type, reason, message, r?.fieldPath);
    this.options.onEvent?.(e);
    this.eventsDirty = true;
    this.scheduleFlush();
  }

  /** The record changes with every process started: written with the next flush. */
  private saveRecord(): void {
    this.recordDirty = true;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what changed to disk, atomically (write, then rename). */
  flush(): void {
    this.flushScheduled = false;
    if (this.tornDown) return;
    if (this.recordDirty) writeRecord(this.paths.recordFile, this.record);
    if (this.pendingPod) writeJsonAtomic(this.paths.podFile, this.pendingPod);
    if (this.eventsDirty) writeJsonAtomic(this.paths.eventsFile, this.events.events);
    this.pendingPod = undefined;
    this.eventsDirty = false;
    this.recordDirty = false;
  }

  private async teardown(): Promise<void> {
    this.flush();
    this.tornDown = true;
    for (const r of [...this.init, ...this.app]) r.releaseNamespace();
    this.control?.close();
    if (this.record.control) rmSync(this.record.control, { force: true });
    if (this.nul >= 0) closeSync(this.nul);
    this.nul = -1;
    this.supervising = false;
    unmountPodDir(this.paths.data);
    rmSync(this.paths.data, { recursive: true, force: true });
    // Cgroups last, leaves first: a cgroup can go once nothing lives in it.
    await removePodCgroups(this.podCgroup, [...this.init, ...this.app].map((r) => r.cgroup), this.sandboxCgroup);
    rmSync(this.paths.state, { recursive: true, force: true });
  }

  /** A start that failed half-way: kill what runs, then remove everything. */
  private async rollback(): Promise<void> {
    this.images?.close();
    const all = [...this.init, ...this.app];
    await Promise.all(all.map((r) => r.kill()));
    const started = all.flatMap((r) => (r.process ? [r.process] : []));
    // pause's death takes every process of its PID namespace with it.
    if (this.sandbox) {
      this.sandbox.signal('SIGKILL');
      started.push(this.sandbox);
    }
    await Promise.all(started.map((p) => p.exited));
    await Promise.all(all.map((r) => r.log?.done));
    await this.teardown();
    removeCreated(this.createdVolumes);
  }
}

function formatSeconds(s: number): string {
  if (s >= 60 && s % 60 === 0) return `${s / 60}m0s`;
  if (s >= 60) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${s}s`;
}
