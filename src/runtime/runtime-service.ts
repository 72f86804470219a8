// The runtime layer: sandboxes and containers by id, with the operations of
// the CRI's RuntimeService (runtime.v1) and nothing else: no restart
// policy, no hooks, no phase. The kubelet's half (src/kubelet) decides;
// this only acts, and says what happened (container events).
//
//   RunPodSandbox      the pod's cgroup, its files and /dev/shm, pause
//   StopPodSandbox     every container of it killed, pause stopped
//   RemovePodSandbox   containers removed, mounts, files and cgroups gone
//   CreateContainer    its cgroup, its root's directories, its plan
//   StartContainer     its process
//   StopContainer      stop signal, timeout, SIGKILL to all of it
//   RemoveContainer    its writable layer
//   ExecSync / Exec    a process in the container, as the container
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { resolveImage, type Image } from '../image/store.js';
import { pauseBinary as defaultPause } from '../package.js';
import type {
  ContainerConfig,
  ContainerEvent,
  ContainerFilter,
  ContainerStatus,
  ExecSyncResponse,
  LinuxContainerResources,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStatus,
} from './api.js';
import { nanos } from './api.js';
import { detectDriver } from './cgroups/detect.js';
import { containerCgroupPath, limitsOf, podCgroupPath } from './cgroups/layout.js';
import { removePodCgroups } from './cgroups/pod.js';
import type { Cgroup, CgroupDriver } from './cgroups/types.js';
import { Container, containerLogPath, type ContainerAttachment, type ContainerContext, type SavedContainer } from './container.js';
import { execSyncIn, spawnInContainer, type ExecTarget } from './exec.js';
import { NO_ROTATION, type LogListener, type LogRotation } from './logs.js';
import { adoptedPodPaths, podPaths, type PodPaths, type RuntimePaths } from './paths.js';
import type { ExitSource, PlanProcess } from './process.js';
import { clampOomScoreAdj } from './oom.js';
import { discard } from './discard.js';
import { newId } from './ids.js';
import { Sandbox, type SavedSandbox } from './sandbox.js';
import { diskUsage, networkInterfaces, nowNanos, sampleCgroup, type ContainerSample, type SandboxSample } from './stats.js';
import { networkOptionsFromEnv, type NetworkOptions } from '../network/options.js';

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export interface RuntimeOptions {
  paths: RuntimePaths;
  /** The cgroup driver (detected from the host when undefined; null: no cgroups). */
  cgroups?: CgroupDriver | null;
  /** The sandbox's program (containerd's sandbox_image): the built pause by default. */
  pauseBinary?: string;
  /** peapod: every line a container writes, as it is logged. */
  onLog?: LogListener;
  logRotation?: LogRotation;
  /** GetContainerEvents, pushed. */
  onContainerEvent?: (event: ContainerEvent) => void;
  /**
   * The runtime's facts of a sandbox changed (a pid, a cgroup): whoever keeps
   * them on disk writes them; `now` when it must be done before the runtime
   * goes on (a cgroup about to be made must be findable after a crash).
   */
  onFacts?: (sandboxId: string, now: boolean) => void;
  /** The pod network's settings (default: PEAPOD_NETWORK, PEAPOD_CNI_*). */
  network?: NetworkOptions;
  /** peapod: what a sandbox's network says (its default network, a skipped config, a failed CHECK), and its containers' OOM kills, for the pod's events. */
  onSandboxEvent?: (sandboxId: string, type: 'Normal' | 'Warning', reason: string, message: string) => void;
  /**
   * peapod: the sandboxes and containers outlive this process (the node
   * daemon's): pause and containers keep no PR_SET_PDEATHSIG once made,
   * containers write to named pipes, the network belongs to pause, and the
   * facts carry what a later runtime needs to adopt them (adoptSandbox).
   */
  detached?: boolean;
  /** peapod: where the exits of adopted processes are recorded (their reaper's log). */
  exits?: ExitSource;
  /** peapod: a sandbox is gone (RemovePodSandbox): whoever kept its facts may forget them. */
  onSandboxRemoved?: (sandboxId: string) => void;
  /**
   * The kubelet's singleProcessOOMKill: the OOM killer ends only the process
   * it picks, not all of its container (default false, or
   * PEAPOD_SINGLE_PROCESS_OOM_KILL=true).
   */
  singleProcessOOMKill?: boolean;
}

/** PEAPOD_SINGLE_PROCESS_OOM_KILL: true/1 keeps the OOM killer to one process; false/0/unset ends the whole container. */
export function singleProcessOOMKillFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.PEAPOD_SINGLE_PROCESS_OOM_KILL ?? '').trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new Error(`PEAPOD_SINGLE_PROCESS_OOM_KILL=${env.PEAPOD_SINGLE_PROCESS_OOM_KILL}: expected true or false`);
}

/** What the runtime knows of a sandbox that must outlive a crash of this process. */
export interface SandboxFacts {
  id: string;
  pid: number;
  startTime: number;
  cgroups?: { driver: 'v1' | 'v2'; pod: string; containers: Record<string, string[]> };
  /** By name, the latest started attempt of each; by id, every container of the sandbox (FactsOptions.everyContainer). */
  containers: Record<string, { id: string; pid: number; startTime: number; image: string; target: Omit<ExecTarget, 'name' | 'containerPid' | 'launcher'>; saved?: SavedContainer }>;
  /** Detached runtimes: what the next one needs to adopt the sandbox. */
  saved?: SavedSandbox;
}

export interface FactsOptions {
  /**
   * Every container of the sandbox, by id: the ones made and not started,
   * and every attempt of a name (the CRI keeps them until RemoveContainer),
   * not only the latest started one of each name (a pod worker's).
   */
  everyContainer?: boolean;
}

/** The CRI's RuntimeService, as the kubelet's half uses it (a fake implements it in unit tests). */
export interface RuntimeApi {
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  stopPodSandbox(id: string, force?: boolean): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): PodSandboxStatus;
  listPodSandbox(filter?: PodSandboxFilter): PodSandboxStatus[];
  createContainer(sandboxId: string, config: ContainerConfig): string;
  startContainer(id: string): void;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): void;
  containerStatus(id: string): ContainerStatus;
  listContainers(filter?: ContainerFilter): ContainerStatus[];
  /** peapod: resolves when the container has exited (the CRI says it with a CONTAINER_STOPPED_EVENT). */
  waitContainer(id: string): Promise<ContainerStatus>;
  /** A process in the container with the given stdio (Exec, streamed by the caller). */
  exec(id: string, argv: string[], stdio: [number, number, number], label?: string): PlanProcess;
  /** ExecSync; a peapod AbortSignal ends it early (its container is being killed). */
  execSync(id: string, argv: string[], timeoutSeconds: number, abort?: AbortSignal, label?: string): Promise<ExecSyncResponse>;
  updateContainerResources(id: string, resources: LinuxContainerResources): void;
  reopenContainerLog(id: string): void;
}

/** pause of a sandbox as the kubelet's half sees it: its pid, when it started, its exit. */
export type SandboxProcess = Pick<PlanProcess, 'pid' | 'startTime' | 'startedAt' | 'exited' | 'running' | 'finishedAt'>;

/**
 * The runtime as the pod worker holds it, in the same process: the CRI's
 * operations, and what a runtime that supervises its processes itself adds
 * (pause's exit, a signal, the facts to keep on disk). RuntimeService is
 * it; a fake in test/unit/pod-worker.test.ts is the other.
 */
export interface NodeRuntime extends RuntimeApi {
  pauseOf(sandboxId: string): SandboxProcess;
  facts(sandboxId: string): SandboxFacts;
  /** SIGKILL to all of the container at once. */
  killContainer(id: string): Promise<void>;
  /** A signal to the container's main process; false when it has exited. */
  signalContainer(id: string, sig: NodeJS.Signals): boolean;
  /** A container's cgroup, for tools and tests (undefined without cgroups). */
  cgroupOf(id: string): Cgroup | undefined;
  /** Takes over a sandbox and its containers a runtime before this one made (detached): see RuntimeService.adoptSandbox. */
  adoptSandbox(facts: SandboxFacts): void;
  close(): void;
}

/**
 * An adopted container's image, as the store has it now; one removed since
 * (rmi --force) still names its ID and has no stop signal: an adopted
 * container is never made again from it, only stopped.
 */
function adoptedImage(store: string, id: string): Image {
  try {
    return resolveImage(store, id);
  } catch {
    return { id, config: {} } as unknown as Image;
  }
}

function matchesLabels(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

export class RuntimeService implements NodeRuntime {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly containers = new Map<string, Container>();
  private readonly driver: CgroupDriver | null;
  private readonly pauseBinary: string;
  /** /dev/null, read-write: stdio of pause and containers' stdin. */
  private nul = -1;

  private readonly network: NetworkOptions;
  private readonly groupOomKill: boolean;

  constructor(private readonly options: RuntimeOptions) {
    this.driver = options.cgroups === undefined ? detectDriver() : options.cgroups;
    this.groupOomKill = !(options.singleProcessOOMKill ?? singleProcessOOMKillFromEnv());
    this.pauseBinary = options.pauseBinary ?? defaultPause;
    this.network = options.network ?? networkOptionsFromEnv();
  }

  /** Where removed directories are renamed to before they are removed in the background (the data root's pods/: the same filesystem). */
  private get trash(): string {
    return join(this.options.paths.data, 'pods');
  }

  /** The same in the state root, for what lives there (a root's mount point). */
  private get stateTrash(): string {
    return join(this.options.paths.state, 'pods');
  }

  private devNull(): number {
    if (this.nul < 0) this.nul = openSync('/dev/null', 'r+');
    return this.nul;
  }

  /** Closes what the runtime holds for itself (once every sandbox is removed). */
  close(): void {
    if (this.nul >= 0) closeSync(this.nul);
    this.nul = -1;
  }

  private sandbox(id: string): Sandbox {
    const s = this.sandboxes.get(id);
    if (!s) throw new NotFoundError(`pod sandbox ${id} not found`);
    return s;
  }

  private container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError(`container ${id} not found`);
    return c;
  }

  /** peapod: pause of a sandbox, for tools and tests (its pid, its exit). */
  pauseOf(id: string): PlanProcess {
    return this.sandbox(id).pause;
  }

  /** peapod: a container's cgroup, for tools and tests. */
  cgroupOf(id: string): Cgroup | undefined {
    return this.container(id).ctx.cgroup;
  }

  /** peapod: the host paths of a sandbox (the pod's directories). */
  sandboxPaths(id: string): PodPaths {
    return this.sandbox(id).ctx.paths;
  }

  /** RunPodSandbox: the pod's cgroup, its files and /dev/shm, pause, then its network (CNI ADD). All of it, or nothing. */
  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = newId();
    const sandbox = new Sandbox({
      id,
      config,
      paths: podPaths(this.options.paths, config.podDirectory ?? config.metadata.name),
      pauseBinary: config.pauseBinary ?? this.pauseBinary,
      nul: this.devNull(),
      network: {
        options: this.network,
        paths: this.options.paths,
        event: (type, reason, message) => this.options.onSandboxEvent?.(id, type, reason, message),
      },
      detached: this.options.detached === true,
    });
    this.sandboxes.set(id, sandbox);
    // Findable after a crash before anything exists: the cgroup paths first.
    this.options.onFacts?.(id, true);
    try {
      sandbox.createCgroups(this.driver);
      sandbox.createFiles();
      sandbox.startPause();
      this.options.onFacts?.(id, false);
      await sandbox.setUpNetwork();
      // Its attachment is a fact too: the next runtime's RemovePodSandbox DELs it.
      this.options.onFacts?.(id, false);
    } catch (err) {
      await this.removePodSandbox(id).catch(() => undefined);
      throw err;
    }
    return id;
  }

  /**
   * StopPodSandbox: every container of the sandbox killed (and waited for),
   * pause stopped (SIGKILL at once with `force`) and its files released
   * (/dev/shm unmounted), as containerd stops one. pause's own end is not
   * waited for: a pause the kernel cannot finish (a process of its namespace
   * nobody reaps) must not hold up a new sandbox; RemovePodSandbox waits.
   */
  async stopPodSandbox(id: string, force = false): Promise<void> {
    const sandbox = this.sandbox(id);
    sandbox.stopped = true;
    const mine = [...this.containers.values()].filter((c) => c.ctx.sandboxId === id);
    await Promise.all(mine.map((c) => c.stop(0)));
    const ended = sandbox.stopPause(force);
    // DEL through the pinned namespace, which outlives pause.
    await sandbox.network.tearDown();
    sandbox.removeFiles();
    if (!force) await ended;
  }

  /** Other sandboxes of the same pod (a pause that died and was made again): they share its cgroups and directories. */
  private siblings(sandbox: Sandbox): Sandbox[] {
    const path = podCgroupPath(sandbox.ctx.config);
    return [...this.sandboxes.values()].filter((s) => s !== sandbox && podCgroupPath(s.ctx.config) === path);
  }

  /**
   * RemovePodSandbox: its containers removed, pause gone; then what it holds
   * of the host: its files, and (the last sandbox of its pod) the
   * containers' directories and every cgroup, leaves first.
   */
  async removePodSandbox(id: string): Promise<void> {
    const sandbox = this.sandboxes.get(id);
    if (!sandbox) return;
    const mine = [...this.containers.values()].filter((c) => c.ctx.sandboxId === id);
    for (const c of mine) {
      await c.kill();
      // A container that never started has no exit to wait for.
      if (c.state !== 'CONTAINER_CREATED') await c.exited.catch(() => undefined);
      this.removeContainer(c.id);
    }
    if (sandbox.pause?.running) {
      sandbox.pause.signal('SIGKILL');
      await sandbox.pause.exited;
    }
    if (!sandbox.stopped) {
      await sandbox.network.tearDown();
      sandbox.removeFiles();
    }
    sandbox.stopped = true;
    this.sandboxes.delete(id);
    if (this.siblings(sandbox).length > 0) {
      this.options.onSandboxRemoved?.(id);
      return;
    }
    const podPath = podCgroupPath(sandbox.ctx.config);
    const names = this.cgroupNames.get(podPath) ?? [];
    for (const name of names) {
      const dirs = sandbox.ctx.paths.container(name);
      void discard(dirs.rootfs, this.stateTrash);
      for (const dir of [dirs.upper, dirs.work]) void discard(dir, this.trash);
    }
    // Cgroups last, leaves first: a cgroup can go once nothing lives in it.
    const driver = this.driver;
    const pod = sandbox.podCgroup;
    const leaves = driver && pod ? names.map((n) => driver.open(`${pod.path}/${n}`)) : [];
    await removePodCgroups(pod, leaves, sandbox.pauseCgroup);
    this.cgroupNames.delete(podPath);
    this.options.onSandboxRemoved?.(id);
  }

  podSandboxStatus(id: string): PodSandboxStatus {
    return this.sandbox(id).status();
  }

  listPodSandbox(filter: PodSandboxFilter = {}): PodSandboxStatus[] {
    return [...this.sandboxes.values()]
      .map((s) => s.status())
      .filter((s) => (filter.id === undefined || s.id === filter.id) && (filter.state === undefined || s.state === filter.state) && matchesLabels(s.labels, filter.labelSelector));
  }

  /** The container's cgroup, made (or adopted: a name keeps its cgroup across attempts) below the pod's. */
  private containerCgroup(sandbox: Sandbox, name: string): Container['ctx']['cgroup'] {
    if (!this.driver || !sandbox.podCgroup) return undefined;
    const podPath = sandbox.podCgroup.path;
    const names = this.cgroupNames.get(podPath) ?? [];
    if (!names.includes(name)) {
      this.cgroupNames.set(podPath, [...names, name]);
      // Written with the turn's other changes, not before the mkdir: one a crash leaves unnamed is found below the pod's cgroup (removePodCgroups).
      this.options.onFacts?.(sandbox.id, false);
    }
    return this.driver.create(containerCgroupPath(sandbox.ctx.config, name));
  }

  /** By the pod's cgroup: the names whose cgroups it has (made before their first process, kept across attempts and sandboxes). */
  private readonly cgroupNames = new Map<string, string[]>();

  createContainer(sandboxId: string, config: ContainerConfig): string {
    const sandbox = this.sandbox(sandboxId);
    if (!sandbox.ready) throw new Error(`pod sandbox ${sandboxId} is not ready: its pause has exited`);
    const image: Image = resolveImage(this.options.paths.images, config.image.image);
    const oom = config.linux.resources.oomScoreAdj;
    if (oom !== undefined) config = { ...config, linux: { ...config.linux, resources: { ...config.linux.resources, oomScoreAdj: clampOomScoreAdj(oom) } } };
    const id = newId();
    const name = config.metadata.name;
    const cgroup = this.containerCgroup(sandbox, name);
    cgroup?.setLimits(limitsOf(config.linux.resources));
    const container = new Container(this.containerContext(sandbox, id, config, image, cgroup));
    this.containers.set(id, container);
    this.event(container, 'CONTAINER_CREATED_EVENT');
    return id;
  }

  /** What a container of `sandbox` is made (or adopted) with. */
  private containerContext(sandbox: Sandbox, id: string, config: ContainerConfig, image: Image, cgroup: Cgroup | undefined, logPath?: string): ContainerContext {
    const sandboxId = sandbox.id;
    return {
      id,
      sandboxId,
      config,
      image,
      sandbox: sandbox.facts(),
      dirs: sandbox.ctx.paths.container(config.metadata.name),
      logPath: logPath ?? containerLogPath(sandbox.ctx.config.logDirectory, config.logPath),
      cgroup,
      launcher: this.pauseBinary,
      onLog: this.options.onLog,
      logRotation: config.rotateLogs === false ? NO_ROTATION : this.options.logRotation,
      detached: this.options.detached === true,
      stateRoot: this.options.paths.state,
      groupOomKill: this.groupOomKill,
      onEvent: (type, reason, message) => this.options.onSandboxEvent?.(sandboxId, type, reason, message),
    };
  }

  startContainer(id: string): void {
    const c = this.container(id);
    try {
      c.start(this.devNull());
    } finally {
      this.options.onFacts?.(c.ctx.sandboxId, false);
    }
    this.event(c, 'CONTAINER_STARTED_EVENT');
    this.watchExit(c);
  }

  private watchExit(c: Container): void {
    void c.exited.then(() => {
      this.event(c, 'CONTAINER_STOPPED_EVENT');
      this.options.onFacts?.(c.ctx.sandboxId, false);
    });
  }

  /**
   * peapod: takes over a sandbox and its containers that a runtime before
   * this one made (detached), from the facts it saved: pause and every
   * started container adopted as they are now (running, or ended while no
   * runtime watched, their exits from RuntimeOptions.exits), under the same
   * ids. Throws when the facts hold too little to adopt.
   */
  adoptSandbox(facts: SandboxFacts): void {
    const saved = facts.saved;
    if (!saved) throw new Error(`sandbox ${facts.id} was not saved by a detached runtime: it cannot be adopted`);
    const exits = this.options.exits ?? { exitOf: () => Promise.resolve(undefined) };
    const id = facts.id;
    const sandbox = Sandbox.adopt(
      {
        id,
        config: saved.config,
        paths: adoptedPodPaths(podPaths(this.options.paths, saved.config.podDirectory ?? saved.config.metadata.name)),
        pauseBinary: this.pauseBinary,
        nul: this.devNull(),
        network: { options: this.network, paths: this.options.paths, event: (type, reason, message) => this.options.onSandboxEvent?.(id, type, reason, message) },
        detached: true,
      },
      saved,
      this.driver,
      exits,
    );
    this.sandboxes.set(id, sandbox);
    if (facts.cgroups) this.cgroupNames.set(podCgroupPath(saved.config), Object.keys(facts.cgroups.containers));
    for (const c of Object.values(facts.containers)) {
      if (!c.saved) continue;
      if (c.saved.startedAt === undefined) {
        this.remakeCreated(sandbox, c.id, c.saved, c.image);
        continue;
      }
      const name = c.saved.config.metadata.name;
      const cgroup = this.driver && sandbox.podCgroup ? this.driver.open(containerCgroupPath(saved.config, name)) : undefined;
      const ctx = this.containerContext(sandbox, c.id, c.saved.config, adoptedImage(this.options.paths.images, c.image), cgroup, c.saved.logPath);
      const container = Container.adopt({ ...ctx, detached: true }, c.saved, exits);
      this.containers.set(c.id, container);
      this.watchExit(container);
    }
  }

  /**
   * A container a runtime before this one made and never started (the
   * CRI's CreateContainer): nothing of it ran, so it is made again from its
   * config, under the same id, to be started as any other. Its image gone
   * meanwhile, it cannot be: said, and left out.
   */
  private remakeCreated(sandbox: Sandbox, id: string, saved: SavedContainer, imageId: string): void {
    const config = saved.config;
    let image: Image;
    try {
      image = resolveImage(this.options.paths.images, imageId);
    } catch (err) {
      this.options.onSandboxEvent?.(sandbox.id, 'Warning', 'ContainerNotAdopted', `container ${id} (${config.metadata.name}), made and never started, is dropped: ${(err as Error).message}`);
      return;
    }
    const cgroup = this.containerCgroup(sandbox, config.metadata.name);
    cgroup?.setLimits(limitsOf(config.linux.resources));
    const container = new Container(this.containerContext(sandbox, id, config, image, cgroup));
    container.createdAt = new Date(saved.createdAt);
    this.containers.set(id, container);
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.container(id).stop(timeoutSeconds);
  }

  /** peapod: SIGKILL to all of the container at once (a grace period ended; a pod forced). */
  async killContainer(id: string): Promise<void> {
    await this.container(id).kill();
  }

  /** peapod: a signal to the container's main process (the kubelet's stop signal, sent itself after preStop). */
  signalContainer(id: string, sig: NodeJS.Signals): boolean {
    return this.container(id).signal(sig);
  }

  removeContainer(id: string): void {
    const c = this.containers.get(id);
    if (!c) return;
    if (c.running) throw new Error(`container ${id} is running; stop it first`);
    c.remove(this.trash);
    this.containers.delete(id);
    this.event(c, 'CONTAINER_DELETED_EVENT');
  }

  containerStatus(id: string): ContainerStatus {
    return this.container(id).status();
  }

  listContainers(filter: ContainerFilter = {}): ContainerStatus[] {
    return [...this.containers.values()]
      .filter((c) => filter.podSandboxId === undefined || c.ctx.sandboxId === filter.podSandboxId)
      .map((c) => c.status())
      .filter((s) => (filter.id === undefined || s.id === filter.id) && (filter.state === undefined || s.state === filter.state) && matchesLabels(s.labels, filter.labelSelector));
  }

  waitContainer(id: string): Promise<ContainerStatus> {
    return this.container(id).exited;
  }

  /** peapod: what an exec into the container is made of (its namespaces, cgroup, identity, env), read by other processes from the record. */
  execTarget(id: string): ExecTarget {
    const c = this.container(id);
    if (!c.running || !c.process) throw new Error(`cannot exec in a stopped container: container "${c.name}" is not running`);
    // A spawn into a frozen cgroup would stop this whole process (see Cgroup.frozen).
    if (c.ctx.cgroup?.frozen?.()) throw new Error(`cannot exec in container "${c.name}": it is being killed (its cgroup is frozen)`);
    return {
      name: c.name,
      containerPid: c.process.pid,
      env: c.spec.env,
      workingDir: c.spec.workingDir,
      cgroupProcs: c.ctx.cgroup?.procsFiles ?? [],
      security: c.spec.security,
      launcher: this.pauseBinary,
    };
  }

  exec(id: string, argv: string[], stdio: [number, number, number], label = 'exec'): PlanProcess {
    return spawnInContainer(this.execTarget(id), label, argv, stdio);
  }

  /** ExecSync; `limit`: the bytes of each stream kept (the CRI's cap is 16 MiB; hooks keep 16 KiB). */
  async execSync(id: string, argv: string[], timeoutSeconds: number, abort?: AbortSignal, label = 'exec', limit?: number): Promise<ExecSyncResponse> {
    return execSyncIn(this.execTarget(id), argv, timeoutSeconds, abort, label, limit);
  }

  updateContainerResources(id: string, resources: LinuxContainerResources): void {
    const c = this.container(id);
    c.ctx.cgroup?.setLimits(limitsOf(resources));
    // Its config says what it has now (the CRI reports it), and the next runtime adopts that.
    const config = c.ctx.config;
    c.ctx.config = { ...config, linux: { ...config.linux, resources: { ...config.linux.resources, ...resources } } };
    this.options.onFacts?.(c.ctx.sandboxId, false);
  }

  /** peapod: the config a sandbox was made with (what the CRI keeps with it: its runtime handler, its log directory). */
  sandboxConfig(id: string): PodSandboxConfig {
    return this.sandbox(id).ctx.config;
  }

  /** peapod: the config a container was made with, its resources as updated since. */
  containerConfig(id: string): ContainerConfig {
    return this.container(id).ctx.config;
  }

  reopenContainerLog(id: string): void {
    this.container(id).log?.reopen();
  }

  /** peapod: the facts of a sandbox that must outlive a crash of this process (see onFacts). */
  facts(sandboxId: string, options: FactsOptions = {}): SandboxFacts {
    const s = this.sandbox(sandboxId);
    const mine = [...this.containers.values()].filter((c) => c.ctx.sandboxId === sandboxId);
    const latest = new Map<string, Container>();
    if (options.everyContainer) {
      // A container that failed to start never ran and has no exit to keep: the CRI's client removes it.
      for (const c of mine) if (c.process || c.state === 'CONTAINER_CREATED') latest.set(c.id, c);
    } else {
      for (const c of mine) if (c.process || !latest.has(c.name)) latest.set(c.name, c);
    }
    const podPath = podCgroupPath(s.ctx.config);
    const names = this.cgroupNames.get(podPath) ?? [];
    const detached = this.options.detached === true;
    return {
      id: s.id,
      pid: s.pause?.pid ?? 0,
      startTime: s.pause?.startTime ?? 0,
      ...(detached ? { saved: s.saved() } : {}),
      ...(this.driver
        ? { cgroups: { driver: this.driver.kind, pod: podPath, containers: Object.fromEntries(names.map((n) => [n, this.driver?.open(`${podPath}/${n}`).procsFiles ?? []])) } }
        : {}),
      containers: Object.fromEntries(
        [...latest.entries()]
          .filter(([, c]) => c.process || options.everyContainer)
          .map(([key, c]) => [
            key,
            {
              id: c.id,
              pid: c.process?.pid ?? 0,
              startTime: c.process?.startTime ?? 0,
              image: c.ctx.image.id,
              target: { env: c.spec.env, workingDir: c.spec.workingDir, cgroupProcs: c.ctx.cgroup?.procsFiles ?? [], security: c.spec.security },
              ...(detached ? { saved: c.saved() } : {}),
            },
          ]),
      ),
    };
  }

  private event(c: Container, type: ContainerEvent['containerEventType']): void {
    const event: ContainerEvent = { containerId: c.id, containerEventType: type, createdAt: nanos(new Date()), podSandboxId: c.ctx.sandboxId };
    this.options.onContainerEvent?.(event);
    for (const listener of this.eventListeners) listener(event);
  }

  // ---- for the CRI server (src/cri): events, stats, attach ----

  private readonly eventListeners = new Set<(event: ContainerEvent) => void>();

  /** GetContainerEvents: every container event from now on, until the returned function is called. */
  subscribeContainerEvents(listener: (event: ContainerEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => void this.eventListeners.delete(listener);
  }

  /** ContainerStats: its cgroup's CPU and memory, its writable layer. */
  containerStats(id: string): ContainerSample {
    const c = this.container(id);
    return { timestamp: nowNanos(), cgroup: sampleCgroup(c.ctx.cgroup), writableLayer: { path: c.ctx.dirs.upper, ...diskUsage(c.ctx.dirs.upper) } };
  }

  /** PodSandboxStats: the pod's cgroup, and the interfaces of its network namespace (none on the host's network). */
  podSandboxStats(id: string): SandboxSample {
    const s = this.sandbox(id);
    const own = s.namespaces.network !== 'NODE' && s.ready;
    return { timestamp: nowNanos(), cgroup: sampleCgroup(s.podCgroup), interfaces: own ? networkInterfaces(s.pause.pid) : [] };
  }

  /** The sandbox a container is in. */
  containerSandbox(id: string): string {
    return this.container(id).ctx.sandboxId;
  }

  /** Attach: the main process's output as it comes, and its stdin if it has one. */
  attachContainer(id: string, output: (stream: 'stdout' | 'stderr', data: string) => void): ContainerAttachment {
    return this.container(id).attach(output);
  }
}
