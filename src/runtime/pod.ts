// A pod's life in this process, its supervisor: start the sandbox and the
// containers, watch their exits, stop them gracefully, and tear everything
// down so nothing is left. Restart policies come with the lifecycle work:
// today a container that exits stays exited, and the pod ends when all have.
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pauseBinary as defaultPause, pipe } from '../native/addon.js';
import { resolveImage, type Image } from '../image/store.js';
import { containerPlan } from '../plan/container.js';
import { sandboxPlan } from '../plan/sandbox.js';
import type { Container, Pod } from '../spec/types.js';
import { checkExecutable } from './executable.js';
import { hostFs } from './host-fs.js';
import { ContainerLog, type LogListener } from './logs.js';
import { podPaths, type PodPaths, type RuntimePaths } from './paths.js';
import { mountPodShm, unmountPodDir, writePodFiles } from './pod-files.js';
import { namespaceInode, pidsInNamespace, processStartTime } from './proc.js';
import { exitCodeOf, PlanProcess, type ExitStatus } from './process.js';
import { isLive, reclaimPod } from './stale.js';
import { writeRecord, readRecord, type PodRecord } from './state.js';
import { prepareVolumes, removeCreated } from './volumes.js';

/** The kubelet's floor for a zero grace period; only force skips it. */
export const MIN_GRACE_SECONDS = 2;
export const DEFAULT_GRACE_SECONDS = 30;

export interface PodOptions {
  paths: RuntimePaths;
  onLog?: LogListener;
  /** The pod infrastructure binary (the kubelet's --pod-infra-container-image). */
  pauseBinary?: string;
}

export interface ContainerResult {
  name: string;
  exit: ExitStatus;
  exitCode: number;
  startedAt: Date;
  finishedAt: Date;
}

export interface PodResult {
  containers: ContainerResult[];
  /** 0 when every container exited 0. */
  exitCode: number;
}

export interface StopOptions {
  gracePeriodSeconds?: number;
  force?: boolean;
}

export class PodExistsError extends Error {
  override name = 'PodExistsError';
}

interface ContainerInstance {
  spec: Container;
  process: PlanProcess;
  /** Its mount namespace: the processes in it are the container's. */
  mntInode: number | null;
  log: ContainerLog;
}

interface Prepared {
  images: Map<string, Image>;
}

function devNull(): number {
  return openSync('/dev/null', 'r+');
}

/** Claims the pod's name under the root, reclaiming a stale pod of that name. */
function claimName(paths: RuntimePaths, pp: PodPaths, name: string): void {
  mkdirSync(join(paths.state, 'pods'), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(pp.state);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const record = readRecord(pp.stateFile);
    if (isLive(record)) {
      throw new PodExistsError(
        `pod "${name}" already exists under ${paths.state} (supervised by pid ${record?.supervisor.pid}); delete it first or choose another metadata.name`,
      );
    }
    reclaimPod(paths, name);
  }
  throw new PodExistsError(`pod "${name}": could not claim ${pp.state}`);
}

export class PodRuntime {
  readonly name: string;
  readonly hostname: string;
  readonly paths: PodPaths;
  readonly containers = new Map<string, ContainerInstance>();
  sandbox!: PlanProcess;
  readonly done: Promise<PodResult>;
  private stopping = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly record: PodRecord;
  private createdVolumes: string[] = [];
  private resolveDone!: (r: PodResult) => void;

  private constructor(
    readonly pod: Pod,
    private readonly options: PodOptions,
  ) {
    this.name = pod.metadata.name;
    this.hostname = pod.spec.hostname ?? pod.metadata.name;
    this.paths = podPaths(options.paths, this.name);
    this.record = {
      name: this.name,
      uid: pod.metadata.uid ?? randomUUID(),
      createdAt: new Date().toISOString(),
      supervisor: { pid: process.pid, startTime: 0 },
      containers: {},
      dataDir: this.paths.data,
      pod,
    };
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts the pod; resolves once pause and every container have exec'd. */
  static async start(pod: Pod, options: PodOptions): Promise<PodRuntime> {
    const runtime = new PodRuntime(pod, options);
    const prepared = runtime.prepare();
    claimName(options.paths, runtime.paths, runtime.name);
    try {
      runtime.create(prepared);
    } catch (err) {
      await runtime.rollback();
      throw err;
    }
    runtime.supervise();
    return runtime;
  }

  /** Everything that can be checked before touching the host. */
  private prepare(): Prepared {
    const images = new Map<string, Image>();
    for (const c of this.pod.spec.containers) {
      const image = images.get(c.image) ?? resolveImage(this.options.paths.images, c.image);
      images.set(c.image, image);
      checkExecutable(c, image, this.hostname, hostFs);
    }
    return { images };
  }

  private create(prepared: Prepared): void {
    const { paths, pod } = this;
    this.record.supervisor.startTime = processStartTime(process.pid) ?? 0;
    writeRecord(paths.stateFile, this.record);
    mkdirSync(paths.data, { recursive: true });
    writePodFiles(paths, this.hostname);
    mountPodShm(paths);
    const volumes = prepareVolumes(pod.spec.volumes ?? [], (v) => paths.volume(v));
    this.createdVolumes = volumes.created;

    const nul = devNull();
    try {
      this.sandbox = PlanProcess.spawn(
        sandboxPlan({ hostname: this.hostname, pauseBinary: this.options.pauseBinary ?? defaultPause }),
        [nul, nul, nul],
      );
      this.record.sandbox = { pid: this.sandbox.pid, startTime: this.sandbox.startTime };
      writeRecord(paths.stateFile, this.record);

      for (const spec of pod.spec.containers) {
        const image = prepared.images.get(spec.image) as Image;
        this.startContainer(spec, image, volumes.volumes, nul);
      }
    } finally {
      closeSync(nul);
    }
    writeRecord(paths.stateFile, this.record);
  }

  private startContainer(spec: Container, image: Image, volumes: ReturnType<typeof prepareVolumes>['volumes'], stdin: number): void {
    const dirs = this.paths.container(spec.name);
    for (const d of [dirs.rootfs, dirs.upper, dirs.work]) mkdirSync(d, { recursive: true });
    const plan = containerPlan({
      container: spec,
      image,
      hostname: this.hostname,
      sandboxPid: this.sandbox.pid,
      dirs,
      pod: { shm: this.paths.shm, hosts: this.paths.etc.hosts, hostname: this.paths.etc.hostname, resolvConf: this.paths.etc.resolvConf },
      volumes,
      fs: hostFs,
    });
    const [outR, outW] = pipe();
    const [errR, errW] = pipe();
    let proc: PlanProcess;
    try {
      proc = PlanProcess.spawn(plan, [stdin, outW, errW]);
    } catch (err) {
      closeSync(outR);
      closeSync(errR);
      throw err;
    } finally {
      // Only the child may hold the write ends, or the logs never see EOF.
      closeSync(outW);
      closeSync(errW);
    }
    const log = new ContainerLog(spec.name, this.paths.log(spec.name, 0), this.options.onLog);
    log.attach(outR, 'stdout');
    log.attach(errR, 'stderr');
    this.containers.set(spec.name, { spec, process: proc, mntInode: namespaceInode(proc.pid, 'mnt'), log });
    this.record.containers[spec.name] = { pid: proc.pid, startTime: proc.startTime };
  }

  private supervise(): void {
    for (const c of this.containers.values()) {
      void c.process.exited.then(() => this.onContainerExit(c));
    }
    void this.finish().then((result) => this.resolveDone(result));
  }

  private onContainerExit(c: ContainerInstance): void {
    // Whatever the main process left behind in its container goes with it.
    this.killContainer(c);
    if ([...this.containers.values()].every((x) => !x.process.running)) {
      this.clearGraceTimer();
      // Only now pause: stopping it first would cut every grace period short.
      this.sandbox.signal('SIGTERM');
    }
  }

  /** SIGKILL to the main process and to every process in the container's mount namespace. */
  private killContainer(c: ContainerInstance): void {
    c.process.signal('SIGKILL');
    if (c.mntInode === null) return;
    for (const pid of pidsInNamespace('mnt', c.mntInode)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
  }

  private clearGraceTimer(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  private async finish(): Promise<PodResult> {
    await Promise.all([this.sandbox.exited, ...[...this.containers.values()].map((c) => c.process.exited)]);
    await Promise.all([...this.containers.values()].map((c) => c.log.done));
    this.clearGraceTimer();
    this.teardown();
    const containers = [...this.containers.values()].map((c) => {
      const exit = c.process.exit as ExitStatus;
      return {
        name: c.spec.name,
        exit,
        exitCode: exitCodeOf(exit),
        startedAt: c.process.startedAt,
        finishedAt: c.process.finishedAt as Date,
      };
    });
    return { containers, exitCode: containers.find((c) => c.exitCode !== 0)?.exitCode ?? 0 };
  }

  /**
   * The seed's termination: SIGTERM to every container's main process, in
   * parallel; SIGKILL to whatever is left when the grace period ends; then
   * pause. A zero grace period still gets the kubelet's minimum; only force
   * kills at once. A second call may shorten a running grace period.
   */
  stop(options: StopOptions = {}): Promise<PodResult> {
    const running = [...this.containers.values()].filter((c) => c.process.running);
    if (options.force) {
      this.clearGraceTimer();
      for (const c of running) this.killContainer(c);
      if (running.length === 0) this.sandbox.signal('SIGKILL');
      return this.done;
    }
    const requested = options.gracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    const grace = Math.max(requested, MIN_GRACE_SECONDS);
    if (!this.stopping) {
      this.stopping = true;
      for (const c of running) c.process.signal('SIGTERM');
    }
    this.clearGraceTimer();
    if (running.length === 0) {
      this.sandbox.signal('SIGTERM');
      return this.done;
    }
    this.graceTimer = setTimeout(() => {
      for (const c of this.containers.values()) if (c.process.running) this.killContainer(c);
    }, grace * 1000);
    return this.done;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  private teardown(): void {
    unmountPodDir(this.paths.data);
    rmSync(this.paths.data, { recursive: true, force: true });
    rmSync(this.paths.state, { recursive: true, force: true });
  }

  /** A start that failed half-way: kill what runs, then remove everything. */
  private async rollback(): Promise<void> {
    for (const c of this.containers.values()) this.killContainer(c);
    // pause's death takes every process of its PID namespace with it.
    const started = [...this.containers.values()].map((c) => c.process);
    if (this.sandbox) {
      this.sandbox.signal('SIGKILL');
      started.push(this.sandbox);
    }
    await Promise.all(started.map((p) => p.exited));
    await Promise.all([...this.containers.values()].map((c) => c.log.done));
    this.teardown();
    removeCreated(this.createdVolumes);
  }
}
