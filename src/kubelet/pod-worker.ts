// The kubelet's half for one pod (its pod worker): everything decided here,
// everything done through the runtime layer's interface (RuntimeApi), as the
// kubelet's syncPod does through the CRI. computePodActions (pod-actions.ts)
// says what to do next from what is observed; this carries it out (a
// sandbox, containers started in order with their postStart hooks,
// restarts with back-off, init containers), ends the pod in the seed's
// seven steps when asked, computes the v1 status, records events, and keeps
// the supervisor's files. Every exit, timer and hook asks for another sync.
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Server } from 'node:net';
import { dirname, join } from 'node:path';
import type { Image } from '../image/store.js';
import { SpawnError } from '../native/addon.js';
import { NotFoundError, RuntimeService, type NodeRuntime, type RuntimeOptions, type SandboxFacts, type SandboxProcess } from '../runtime/runtime-service.js';
import type { CgroupDriver } from '../runtime/cgroups/types.js';
import { pruneInstanceLogs, rotationFromEnv, type LogListener, type LogRotation } from '../runtime/logs.js';
import { makeDir, MODE, writeFileWithMode } from '../runtime/modes.js';
import { adoptedPodPaths, podPaths, type PodPaths, type RuntimePaths } from '../runtime/paths.js';
import { unmountPodDir } from '../runtime/pod-files.js';
import { discard } from '../runtime/discard.js';
import { writeHostsFile, type HostsFileInput } from './hosts-file.js';
import type { DNSConfig } from '../runtime/api.js';
import { hostIPs } from '../network/host-ip.js';
import { admitHostPorts } from '../network/host-ports.js';
import { networkOptionsFromEnv, type NetworkOptions } from '../network/options.js';
import { isRunning, processStartTime } from '../runtime/proc.js';
import { exitCodeOf, type PlanProcess } from '../runtime/process.js';
import { RECORD_VERSION, writeRecord, type PodRecord } from '../node/state.js';
import type { WorkerCheckpoint } from './checkpoint.js';
import type { ContainerStatus as RuntimeContainerStatus } from '../runtime/api.js';
import type { Pod } from '../manifest/types.js';
import { claimName } from '../node/claim.js';
import { controlSocketPath, serveControl } from '../node/control.js';
import { RETRY_MS, StateWriter } from '../node/state-writer.js';
import { admittedPods, enterPod, leavePod } from '../node/pod-ledger.js';
import { admit, nodeAllocatable } from './admission.js';
import { backoffFromEnv, type BackoffConfig } from './backoff.js';
import { containerConfig, imageFacts, podContext, podDnsConfig, podHostname, sandboxConfig, type PodContext } from './container-config.js';
import { localDecision, PodImages } from './image-manager.js';
import { ContainerState } from './container-state.js';
import { EventLog, type PodEvent } from './events.js';
import { evictionIntervalFromEnv, limitedEmptyDirs, watchEmptyDirs, type EvictionWatch } from './eviction.js';
import { checkExecutable } from './executable.js';
import { runHook, type HookContext } from './hooks.js';
import { ContainerProber } from './prober/container-prober.js';
import { runProbe } from './prober/handlers.js';
import type { ProbeKind } from './prober/results.js';
import { computePodActions, type ObservedContainer, type PodAction } from './pod-actions.js';
import { isTerminal } from './status/phase.js';
import { podStatus } from './status/pod-status.js';
import type { PodStatus } from './status/types.js';
import type { PodObject, PodResult, PreparedVolume, StopOptions } from './types.js';
import { prepareVolumes, removeCreated } from './volumes.js';

export type { PodObject, PodResult, ContainerResult, StopOptions } from './types.js';
export { PodExistsError } from '../node/claim.js';

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
  /** Called for every event recorded. */
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
  /** The pod network: CNI configuration and plugin directories, DNS (default: PEAPOD_NETWORK, PEAPOD_CNI_*, PEAPOD_CLUSTER_*). */
  network?: Partial<NetworkOptions>;
  /** The kubelet's singleProcessOOMKill: an OOM kill ends only its victim, not the whole container (default: PEAPOD_SINGLE_PROCESS_OOM_KILL, else false). */
  singleProcessOOMKill?: boolean;
  /** The runtime layer under this pod (RuntimeService; a fake in the worker's unit tests). */
  runtime?: (options: RuntimeOptions) => NodeRuntime;
  /**
   * A pod of the node daemon: it outlives this process (no PR_SET_PDEATHSIG
   * once made, output through named pipes), its record says so and carries
   * what the next daemon needs to take it over (the runtime's facts and
   * the kubelet's checkpoint), and the daemon's socket, not one of its
   * own, is how it is reached.
   */
  detached?: boolean;
}

export class PodWorker {
  readonly name: string;
  readonly uid: string;
  readonly hostname: string;
  readonly paths: PodPaths;
  readonly init: ContainerState[] = [];
  readonly app: ContainerState[] = [];
  readonly events = new EventLog();
  /** The runtime layer this pod's sandbox and containers live in. */
  readonly runtime: NodeRuntime;
  readonly done: Promise<PodResult>;
  readonly record: PodRecord;
  private sandboxId: string | undefined;
  private pause: SandboxProcess | undefined;
  private readonly networkOptions: NetworkOptions;
  /** The node's addresses (status.hostIP), and the pod's DNS settings, decided once. */
  private readonly hostIPs = hostIPs();
  private dns: DNSConfig | undefined;
  /** status.podIP of the current sandbox. */
  private podIP: string | undefined;
  /** How many sandboxes this pod has had (the CRI's attempt). */
  private sandboxAttempt = 0;
  private readonly createdAt: string = new Date().toISOString();
  private startTime: string | undefined;
  private volumes = new Map<string, PreparedVolume>();
  private createdVolumes: string[] = [];
  private supervising = false;
  private recreating = false;
  private syncing = false;
  private syncAgain = false;
  private finishing = false;
  private tornDown = false;
  private terminating: { deadline: number; grace: number; requestedAt: string } | undefined;
  private failure: { reason: string; message: string } | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private control: Server | undefined;
  private eviction: EvictionWatch | undefined;
  private lastStatus: PodStatus | undefined;
  /** The kubelet's image manager for this pod: images present as their pull policy says. */
  private images!: PodImages;
  private lastWritten = '';
  private nul = -1;
  /** pod.json, runtime.json and events.json: written when changed, retried when the disk is full, repaired when changed under us. */
  private readonly files = new StateWriter({
    onWriteFailed: (path, err) =>
      this.event('Warning', 'FailedToWriteStatus', `cannot write ${path}: ${err.message}; the status is kept in memory and written again every ${RETRY_MS / 1000}s`),
    onRepaired: (path, why) => this.event('Warning', 'RecordRepaired', `${path} was changed by something other than its supervisor (${why}); written again from memory`),
  });
  private resolveDone!: (r: PodResult) => void;

  private constructor(
    readonly pod: Pod,
    private readonly options: PodOptions,
    /** Taken over from a daemon before this one: its record. */
    adopted?: PodRecord,
  ) {
    this.name = pod.metadata.name;
    this.uid = adopted?.uid ?? pod.metadata.uid ?? randomUUID();
    this.createdAt = adopted?.createdAt ?? this.createdAt;
    this.hostname = podHostname(pod);
    this.paths = adopted ? adoptedPodPaths(podPaths(options.paths, this.name)) : podPaths(options.paths, this.name);
    const detached = options.detached === true;
    this.record = {
      ...(detached ? { version: RECORD_VERSION, owner: 'daemon' as const } : {}),
      name: this.name,
      uid: this.uid,
      createdAt: this.createdAt,
      supervisor: { pid: process.pid, startTime: processStartTime(process.pid) ?? 0 },
      containers: adopted?.containers ?? {},
      dataDir: this.paths.data,
      imagesDir: options.paths.images,
      ...(detached ? {} : { control: controlSocketPath(this.paths, options.paths.state) }),
      // What the runtime and the kubelet's half knew of it, until they say more.
      ...(adopted?.sandbox ? { sandbox: adopted.sandbox } : {}),
      ...(adopted?.cgroups ? { cgroups: adopted.cgroups } : {}),
      ...(adopted?.runtime ? { runtime: adopted.runtime } : {}),
      pod,
    };
    this.networkOptions = { ...networkOptionsFromEnv(), ...options.network };
    const runtimeOptions: RuntimeOptions = {
      paths: options.paths,
      network: this.networkOptions,
      onSandboxEvent: (_id, type, reason, message) => this.event(type, reason, message),
      logRotation: options.logRotation ?? rotationFromEnv(),
      onFacts: (id, now) => this.recordFacts(id, now),
      ...(options.cgroups !== undefined ? { cgroups: options.cgroups } : {}),
      ...(options.pauseBinary ? { pauseBinary: options.pauseBinary } : {}),
      ...(options.singleProcessOOMKill !== undefined ? { singleProcessOOMKill: options.singleProcessOOMKill } : {}),
      ...(options.onLog ? { onLog: options.onLog } : {}),
      ...(detached ? { detached } : {}),
    };
    this.runtime = options.runtime ? options.runtime(runtimeOptions) : new RuntimeService(runtimeOptions);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** All containers, init first, by name (for tests and tools). */
  get containers(): Map<string, ContainerState> {
    return new Map([...this.init, ...this.app].map((r) => [r.name, r]));
  }

  get policy(): NonNullable<Pod['spec']['restartPolicy']> {
    return this.pod.spec.restartPolicy ?? 'Always';
  }

  get isTerminating(): boolean {
    return this.terminating !== undefined;
  }

  /** pause of the current sandbox, or of the last one (for tools and tests: its pid, its exit). */
  get sandbox(): SandboxProcess {
    return this.pause as SandboxProcess;
  }

  /** The current attempt's cgroup of a container (for tools and tests). */
  cgroupOf(name: string): ReturnType<NodeRuntime['cgroupOf']> {
    const id = this.containers.get(name)?.id;
    return id === undefined ? undefined : this.runtime.cgroupOf(id);
  }

  /** Resolves when the current attempt of a container has exited. */
  waitContainer(name: string): Promise<RuntimeContainerStatus> {
    const id = this.containers.get(name)?.id;
    if (id === undefined) throw new Error(`container ${name} has not started`);
    return this.runtime.waitContainer(id);
  }

  /**
   * Starts the pod: the sandbox, then the first init container or every app
   * container (each with its postStart hook). A failure here rolls the
   * whole pod back and throws: never half a pod.
   */
  static async start(pod: Pod, options: PodOptions): Promise<PodWorker> {
    const worker = new PodWorker(pod, options);
    const evictionInterval = options.evictionInterval ?? evictionIntervalFromEnv();
    const limitedDirs = limitedEmptyDirs(pod.spec.volumes ?? [], (v) => worker.paths.volume(v));
    worker.prepare();
    await claimName(options.paths, worker.paths, worker.name, worker.record);
    enterPod(options.paths, worker.name, pod.spec);
    try {
      worker.createPodFiles();
      await worker.createSandbox();
      await worker.startFirst();
    } catch (err) {
      await worker.rollback();
      throw err;
    }
    worker.supervise(limitedDirs, evictionInterval);
    // Whoever started it may read pod.json at once (run -d, then get).
    worker.flush();
    return worker;
  }

  /** From here on the worker holds the pod: its files kept, its eviction watched, its deadline armed, its loop run. */
  private supervise(limitedDirs: ReturnType<typeof limitedEmptyDirs>, evictionInterval: number): void {
    this.supervising = true;
    this.saveRecord();
    this.files.watch(this.paths.state);
    if (this.record.control) this.control = serveControl(this.record.control, this);
    // The kubelet's eviction for an emptyDir over its sizeLimit: killed at once, Failed, Evicted.
    this.eviction = watchEmptyDirs(limitedDirs, evictionInterval, (message) => !this.isTerminating && this.fail('Evicted', message));
    this.armDeadline();
    this.sync();
  }

  /**
   * Takes over a pod a daemon before this one held (the kubelet after a
   * restart): its containers as the kubelet's half last saw them, its
   * sandbox and containers as the runtime adopts them now (an exit that
   * happened meanwhile comes in with its code, and the restart policy and
   * back-off go on from it), and a termination that was under way started
   * again with its full grace period (seed 000). The caller has checked
   * that the record was written by a finished start (checkpoint phase
   * 'running') of a version it knows.
   */
  static async adopt(record: PodRecord, events: readonly PodEvent[], options: PodOptions): Promise<PodWorker> {
    const cp = record.kubelet;
    if (!cp) throw new Error(`pod ${record.name}: its record has no checkpoint to take it over from`);
    const worker = new PodWorker(record.pod, { ...options, detached: true }, record);
    enterPod(options.paths, worker.name, record.pod.spec);
    worker.events.events.push(...events);
    worker.prepareImages();
    for (const c of record.pod.spec.initContainers ?? []) worker.init.push(new ContainerState(c, true, worker.backoff));
    for (const c of record.pod.spec.containers) worker.app.push(new ContainerState(c, false, worker.backoff));
    for (const r of [...worker.init, ...worker.app]) {
      const saved = cp.containers[r.name];
      if (saved) r.restore(saved);
      const image = localDecision(options.paths.images, r.spec);
      if ('image' in image) r.setImage(image.image);
    }
    worker.sandboxAttempt = cp.sandboxAttempt;
    if (cp.startTime) worker.startTime = cp.startTime;
    if (cp.failure) worker.failure = cp.failure;
    worker.volumes = new Map(Object.entries(cp.volumes));
    worker.createdVolumes = cp.createdVolumes;
    worker.dns = podDnsConfig(worker.pod, worker.networkOptions).settings;
    worker.nul = openSync('/dev/null', 'r');
    const facts = record.runtime;
    if (facts?.saved) {
      worker.runtime.adoptSandbox(facts);
      worker.sandboxId = facts.id;
      worker.pause = worker.runtime.pauseOf(facts.id);
      void worker.pause.exited.then(() => worker.sync());
    }
    await worker.reattach(facts);
    worker.event('Normal', 'Adopted', `the pod was taken over by the peapod daemon (pid ${process.pid}) after the one before it (pid ${record.supervisor.pid}) stopped`);
    const limitedDirs = limitedEmptyDirs(record.pod.spec.volumes ?? [], (v) => worker.paths.volume(v));
    worker.supervise(limitedDirs, options.evictionInterval ?? evictionIntervalFromEnv());
    for (const r of [...worker.init, ...worker.app]) worker.rearmRestart(r);
    if (cp.terminating) {
      // Started again, with the whole grace period it was given: a restart never shortens a pod's grace.
      worker.event('Normal', 'Killing', `ending the pod again with its full grace period of ${cp.terminating.grace}s (its deletion was under way when the daemon before stopped)`);
      void worker.stop({ gracePeriodSeconds: cp.terminating.grace });
    }
    worker.flush();
    return worker;
  }

  /**
   * Each container's current attempt joined to the runtime's adopted
   * container: its exit (now, or later) goes through onExit as any exit
   * does. An attempt the runtime did not keep (started just before the last
   * daemon died, or lost) is accounted for as the facts say.
   */
  private async reattach(facts: SandboxFacts | undefined): Promise<void> {
    const ended: Array<Promise<unknown>> = [];
    for (const r of [...this.init, ...this.app]) {
      const fact = facts?.containers[r.name];
      // The runtime's facts are newer than the checkpoint: an attempt started after it was written.
      if (fact?.saved && fact.id !== r.id) r.recordStart(fact.id, fact.pid, new Date(fact.saved.startedAt ?? Date.now()));
      if (r.id === undefined) {
        r.running = false;
        continue;
      }
      let status: RuntimeContainerStatus;
      try {
        status = this.runtime.containerStatus(r.id);
      } catch {
        if (r.running) {
          // Running when last seen, and nothing of it kept: the kubelet's verdict on a container it cannot find.
          r.recordExit({ ...lostStatus(r.id), logPath: this.paths.log(r.name, r.obs.restartCount) }, this.paths);
        }
        continue;
      }
      r.pid = status.pid;
      const id = r.id;
      if (status.state === 'CONTAINER_EXITED' && !r.running) continue;
      r.running = true;
      const exit = this.runtime.waitContainer(id).then((st) => this.onExit(r, id, st));
      // Ended while no daemon ran (gone, or a zombie its new parent has not reaped): its exit is in before the pod is first reported.
      if (fact && !isRunning(fact.pid, fact.startTime)) ended.push(exit);
    }
    await Promise.all(ended);
  }

  /** A restart the daemon before had scheduled (back-off), due when it was due. */
  private rearmRestart(r: ContainerState): void {
    if (r.restartAt === undefined || r.restartTimer || this.terminating) return;
    r.restartTimer = setTimeout(
      () => {
        r.restartTimer = undefined;
        r.restartAt = 0;
        this.sync();
      },
      Math.max(r.restartAt - Date.now(), 0),
    );
  }

  /** The kubelet's half's state, for the next daemon (see checkpoint.ts). */
  private checkpoint(): WorkerCheckpoint {
    return {
      phase: this.supervising || this.finishing ? 'running' : 'starting',
      ...(this.sandboxId ? { sandboxId: this.sandboxId } : {}),
      sandboxAttempt: this.sandboxAttempt,
      ...(this.startTime ? { startTime: this.startTime } : {}),
      ...(this.terminating ? { terminating: { grace: this.terminating.grace, requestedAt: this.terminating.requestedAt } } : {}),
      ...(this.failure ? { failure: this.failure } : {}),
      volumes: Object.fromEntries(this.volumes),
      createdVolumes: this.createdVolumes,
      containers: Object.fromEntries([...this.init, ...this.app].map((r) => [r.name, r.checkpoint()])),
    };
  }

  private get backoff(): BackoffConfig {
    return this.options.backoff ?? backoffFromEnv();
  }

  /** The kubelet's image manager for this pod. */
  private prepareImages(): void {
    this.images = new PodImages({
      store: this.options.paths.images,
      backoff: this.backoff,
      event: (type, reason, message, name) => this.event(type, reason, message, this.containers.get(name)),
      changed: () => this.sync(),
    });
  }

  /** What the translation to the runtime's requests needs of this pod. */
  private podContext(): PodContext {
    const { cgroupParent, podPidsLimit } = this.options;
    return podContext(this.pod, { uid: this.uid, paths: this.paths, volumes: this.volumes, dns: this.dns, cgroupParent, podPidsLimit });
  }

  /** Everything that can be checked before touching the host, admission included. */
  private prepare(): void {
    const others = admittedPods(this.options.paths, this.name);
    admit(this.name, this.pod.spec, nodeAllocatable(this.options.nodeAllocatable ?? process.env.PEAPOD_NODE_ALLOCATABLE), others.map((p) => p.spec));
    admitHostPorts(this.name, this.pod.spec, others);
    const backoff = this.backoff;
    this.prepareImages();
    const ctx = this.podContext();
    const state = (c: Pod['spec']['containers'][number], isInit: boolean): ContainerState => {
      // The whole request is made once here, so a bad one fails before anything exists.
      const config = containerConfig({ ...ctx, volumes: new Map() }, { ...c, volumeMounts: [] }, 0);
      const r = new ContainerState(c, isInit, backoff);
      // An image already here is checked now (a missing command fails the run at once); the others are pulled at start.
      const local = localDecision(this.options.paths.images, c);
      if ('image' in local) {
        checkExecutable(c, config, local.image, this.hostname, local.image.fs);
        r.setImage(local.image);
      }
      return r;
    };
    for (const c of this.pod.spec.initContainers ?? []) this.init.push(state(c, true));
    for (const c of this.pod.spec.containers) this.app.push(this.withProber(state(c, false)));
  }

  /** The container's probes, if it has any, reporting to this worker. */
  private withProber(r: ContainerState): ContainerState {
    const prober = new ContainerProber(r.spec, {
      run: (probe, timeoutMs, abort) => runProbe(this.hookContext(r), probe, timeoutMs, abort),
      changed: (kind, ok) => this.onProbe(r, kind, ok),
      event: (reason, message) => this.event('Warning', reason, message, r),
    });
    if (prober.any) r.prober = prober;
    return r;
  }

  /** A probe's result changed: into the observation, then the next step (a kill, for liveness and startup). */
  private onProbe(r: ContainerState, kind: ProbeKind, ok: boolean): void {
    if (!r.running) return;
    if (kind === 'readiness') r.obs.readinessPassed = ok;
    if (kind === 'startup') r.obs.startupPassed = ok;
    if (kind !== 'readiness') r.unhealthy = ok ? undefined : kind;
    this.writeStatus();
    this.sync();
  }

  private hostsInput(): HostsFileInput {
    return { hostname: this.hostname, namespace: this.pod.metadata.namespace ?? 'default', spec: this.pod.spec, clusterDomain: this.networkOptions.clusterDomain };
  }

  private createPodFiles(): void {
    const { paths } = this;
    makeDir(paths.data, MODE.podDir);
    const { settings, warnings } = podDnsConfig(this.pod, this.networkOptions);
    this.dns = settings;
    for (const w of warnings) this.event(w.type, w.reason, w.message);
    const fsGroup = this.pod.spec.securityContext?.fsGroup;
    const prepared = prepareVolumes(this.pod.spec.volumes ?? [], (v) => paths.volume(v), fsGroup === undefined ? {} : { fsGroup });
    this.volumes = prepared.volumes;
    this.createdVolumes = prepared.created;
    this.nul = openSync('/dev/null', 'r');
    this.event('Normal', 'Scheduled', `Successfully assigned ${this.pod.metadata.namespace ?? 'default'}/${this.name} to this host`);
  }

  /** RunPodSandbox, then the pod's /etc/hosts with the addresses the sandbox got. */
  private async createSandbox(): Promise<void> {
    const id = await this.runtime.runPodSandbox(sandboxConfig(this.podContext(), this.sandboxAttempt++));
    this.sandboxId = id;
    const pause = this.runtime.pauseOf(id);
    this.pause = pause;
    this.startTime ??= pause.startedAt.toISOString();
    writeHostsFile(this.paths, this.hostsInput(), this.podIPs());
    // Where probes connect (the kubelet's default host): known once per sandbox, asked of it at every probe otherwise.
    this.podIP = this.statusIPs().podIP;
    void pause.exited.then(() => this.sync());
  }

  /** The pod's addresses, as its sandbox says them (none: loopback only; the host's on the host's network). */
  private podIPs(): string[] {
    const id = this.sandboxId;
    if (id === undefined) return [];
    // A sandbox's addresses are its network's from RunPodSandbox on: asked once, not at every status written.
    if (this.sandboxIPs?.id === id) return this.sandboxIPs.ips;
    try {
      const { network } = this.runtime.podSandboxStatus(id);
      const ips = [network.ip, ...network.additionalIps].filter((ip) => ip !== '');
      this.sandboxIPs = { id, ips };
      return ips;
    } catch {
      return [];
    }
  }
  private sandboxIPs: { id: string; ips: string[] } | undefined;

  /** status.hostIP(s) and podIP(s), as the kubelet fills them. */
  private statusIPs(): Pick<PodStatus, 'hostIP' | 'hostIPs' | 'podIP' | 'podIPs'> {
    const pods = (this.pod.spec.hostNetwork ? this.hostIPs : this.podIPs()).filter((ip) => isIP(ip) !== 0).map((ip) => ({ ip }));
    return {
      hostIP: this.hostIPs[0] ?? '127.0.0.1',
      hostIPs: this.hostIPs.map((ip) => ({ ip })),
      ...(pods.length > 0 ? { podIP: pods[0]?.ip as string, podIPs: pods } : {}),
    };
  }

  private async startFirst(): Promise<void> {
    const first = this.init.length > 0 ? [this.init[0] as ContainerState] : this.app;
    for (const r of first) await this.startContainer(r, true);
  }

  private hookContext(r: ContainerState): HookContext {
    return { runtime: this.runtime, containerId: r.id ?? '', container: r.spec, netns: `/proc/${this.sandbox.pid}/ns/net`, ...(this.podIP ? { podIP: this.podIP } : {}) };
  }

  /** The runtime's facts of the sandbox changed: into the record, at once when they must be (before a cgroup is made). */
  private recordFacts(id: string, now: boolean): void {
    let facts;
    try {
      facts = this.runtime.facts(id);
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
    this.record.sandbox = { pid: facts.pid, startTime: facts.startTime };
    if (facts.cgroups) this.record.cgroups = facts.cgroups;
    if (facts.saved) this.record.runtime = facts;
    for (const [name, c] of Object.entries(facts.containers)) {
      this.record.containers[name] = { pid: c.pid, startTime: c.startTime, env: c.target.env, workingDir: c.target.workingDir, image: c.image, security: c.target.security };
    }
    if (now && !this.tornDown) writeRecord(this.paths.recordFile, this.withCheckpoint());
    else this.saveRecord();
  }

  /** The container's image as the image manager has it now; undefined while the container waits for it (a pull, a back-off, a reason). */
  private imageFor(r: ContainerState): Image | undefined {
    const image = this.images.imageFor(r.spec);
    if (!image) {
      r.obs.waiting = this.images.waiting(r.name) ?? { reason: 'ContainerCreating' };
      this.writeStatus();
    }
    return image;
  }

  /**
   * Starts a new attempt of a container (CreateContainer, StartContainer),
   * then its postStart hook (the next container waits for it, as in the
   * kubelet). On the pod's first start a failure throws; later it is
   * recorded as a StartError run and retried with back-off like a crash.
   */
  private async startContainer(r: ContainerState, first: boolean): Promise<void> {
    const image = this.imageFor(r);
    if (!image) return;
    const sandboxId = this.sandboxId as string;
    // The attempt before goes (the kubelet's container GC keeps the last exited one only for its logs, which stay).
    if (r.id) this.runtime.removeContainer(r.id);
    // Any uid the container runs as may write its termination message (the kubelet does the same).
    const dirs = this.paths.container(r.name);
    makeDir(dirs.dir, MODE.podDir);
    writeFileWithMode(dirs.terminationLog, '', MODE.terminationLog);
    let id: string | undefined;
    try {
      const config = containerConfig(this.podContext(), r.spec, r.attempts, imageFacts(image));
      if (image.id !== r.image?.id) {
        checkExecutable(r.spec, config, image, this.hostname, image.fs);
        r.setImage(image);
      }
      id = this.runtime.createContainer(sandboxId, config);
      this.runtime.startContainer(id);
    } catch (err) {
      if (id) this.runtime.removeContainer(id);
      if (first) throw err;
      const message = (err as Error).message;
      r.recordStartError(message, !(err instanceof SpawnError && err.op === 'exec'));
      this.event('Warning', 'Failed', `Error: ${message}`, r);
      queueMicrotask(() => this.sync());
      return;
    }
    const started = this.runtime.containerStatus(id);
    r.recordStart(id, started.pid, new Date(started.startedAt / 1e6));
    pruneInstanceLogs(dirname(this.paths.log(r.name, 0)), r.obs.restartCount);
    this.event('Normal', 'Created', `Created container ${r.name}`, r);
    this.event('Normal', 'Started', `Started container ${r.name}`, r);
    const attempt = id;
    void this.runtime.waitContainer(id).then((status) => this.onExit(r, attempt, status));

    const postStart = r.spec.lifecycle?.postStart;
    if (postStart && !r.isInit) {
      r.busy = true;
      const result = await runHook(this.hookContext(r), 'PostStart', postStart, 2 ** 31 - 1, r.hookSignal());
      r.busy = false;
      if (!result.ok && r.running && r.id === attempt) {
        // The kubelet kills a container whose postStart failed; the restart policy decides the rest.
        this.event('Warning', 'FailedPostStartHook', result.message, r);
        void this.runtime.killContainer(attempt);
      }
    }
    if (r.running && r.id === attempt) {
      r.obs.started = true;
      // Probes run from here on, timed from the container's start, until it exits.
      if (!this.terminating) r.prober?.start(Date.parse(r.obs.current?.startedAt ?? '') || Date.now());
    }
    this.writeStatus();
    if (this.supervising) this.sync();
  }

  /** An attempt has exited (its leftovers killed, its output read): recorded, then the next step. */
  private onExit(r: ContainerState, id: string, status: RuntimeContainerStatus): void {
    if (r.id !== id) return;
    if (r.killTimer) clearTimeout(r.killTimer);
    r.killTimer = undefined;
    r.killAt = undefined;
    r.recordExit(status, this.paths);
    this.sync();
  }

  /**
   * Runs a command in a running container (the library's exec): its
   * namespaces, cgroup, identity and environment, with the given stdio
   * (default: none). Resolves to the command's exit code (128+N for signal N).
   */
  async exec(container: string, argv: string[], stdio?: [number, number, number]): Promise<number> {
    const r = this.containers.get(container);
    if (!r?.running || !r.id) throw new Error(`cannot exec in a stopped container: container "${container}" of pod "${this.name}" is not running`);
    const nul = stdio ? -1 : openSync('/dev/null', 'r+');
    let proc: PlanProcess;
    try {
      proc = this.runtime.exec(r.id, argv, stdio ?? [nul, nul, nul]);
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
   * Something the worker cannot carry on from (pause cannot be made again,
   * a cgroup vanished): the pod fails with the reason, and ends as any pod
   * does, without leaving anything behind.
   */
  fail(reason: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.failure ??= { reason, message };
    this.event('Warning', reason, message);
    if (!this.finishing) void this.stop({ force: true });
    if (!this.sandboxAlive() && !this.recreating) void this.finish();
  }

  private sandboxAlive(): boolean {
    if (this.sandboxId === undefined) return false;
    try {
      return this.runtime.podSandboxStatus(this.sandboxId).state === 'SANDBOX_READY';
    } catch {
      return false;
    }
  }

  private observe(r: ContainerState): ObservedContainer {
    return {
      name: r.name,
      running: r.running,
      busy: r.busy,
      exited: r.exited,
      lastExitCode: r.lastExitCode,
      succeededHere: r.succeededHere,
      restartAt: r.restartAt,
      hasPostStart: r.spec.lifecycle?.postStart !== undefined && !r.isInit,
      unhealthy: r.unhealthy,
      killing: r.killing,
      killedForProbe: r.killedForProbe,
    };
  }

  private syncOnce(): void {
    // A sandbox is being made again: the next pass comes when it is.
    if (this.recreating) return;
    const actions = computePodActions({
      policy: this.policy,
      terminating: this.terminating !== undefined,
      sandboxAlive: this.sandboxAlive(),
      init: this.init.map((r) => this.observe(r)),
      app: this.app.map((r) => this.observe(r)),
      terminalPhase: isTerminal(this.computeStatus().phase),
    });
    for (const action of actions) this.act(action);
    this.writeStatus();
  }

  private act(action: PodAction): void {
    const byName = (name: string): ContainerState => this.containers.get(name) as ContainerState;
    switch (action.type) {
      case 'KillPod':
        void this.finish();
        return;
      case 'CreateSandbox':
        void this.recreateSandbox();
        return;
      case 'StartContainer': {
        const r = byName(action.name);
        r.restartAt = undefined;
        void this.startContainer(r, false);
        return;
      }
      case 'BackOff':
        this.scheduleRestart(byName(action.name));
        return;
      case 'KillContainer':
        this.killForProbe(byName(action.name), action.probe, action.restart);
        return;
      case 'WaitForInit':
        for (const r of this.app) if (!r.obs.current) r.obs.waiting = { reason: 'PodInitializing' };
        return;
    }
  }

  /**
   * A failed liveness or startup probe: the container is stopped as the
   * kubelet's killContainer stops it (preStop, its stop signal, SIGKILL at
   * the end of the probe's terminationGracePeriodSeconds, else the pod's),
   * and the restart policy takes it from its exit.
   */
  private killForProbe(r: ContainerState, probe: 'liveness' | 'startup', restart: boolean): void {
    const spec = probe === 'liveness' ? r.spec.livenessProbe : r.spec.startupProbe;
    const grace = Math.max(spec?.terminationGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS, MIN_GRACE_SECONDS);
    const until = Date.now() + grace * 1000;
    r.killing = true;
    r.killedForProbe = restart;
    const message = `Container ${r.name} failed ${probe} probe${restart ? ', will be restarted' : ''}`;
    // A pod delete meanwhile may only shorten it.
    void this.terminateContainer(r, () => Math.min(until, this.terminating?.deadline ?? until), message);
  }

  /** Restarts at once, or after the back-off delay (CrashLoopBackOff meanwhile). */
  private scheduleRestart(r: ContainerState): void {
    if (r.restartAt !== undefined) {
      if (Date.now() < r.restartAt) return;
      r.restartAt = undefined;
      void this.startContainer(r, false);
      return;
    }
    const cur = r.obs.current;
    const ran = cur?.finishedAt ? (Date.parse(cur.finishedAt) - Date.parse(cur.startedAt)) / 1000 : 0;
    const delay = r.backoff.next(ran);
    if (delay <= 0) {
      void this.startContainer(r, false);
      return;
    }
    r.restartAt = Date.now() + delay * 1000;
    const ns = this.pod.metadata.namespace ?? 'default';
    const message = `back-off ${formatSeconds(delay)} restarting failed container=${r.name} pod=${this.name}_${ns}(${this.uid})`;
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

  /**
   * pause died: the old sandbox goes (its files and cgroups with it), a new
   * one comes, init containers run again, and every container restarts in it.
   */
  private async recreateSandbox(): Promise<void> {
    if (this.recreating) return;
    this.recreating = true;
    this.event('Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    try {
      const old = this.sandboxId;
      this.sandboxId = undefined;
      for (const r of [...this.init, ...this.app]) {
        r.clearTimers();
        r.id = undefined;
      }
      if (old) {
        // Its containers are gone and its files released; pause may still be
        // dying (the kernel waits for every process of its namespace): it is
        // removed when it has, never waited for here.
        await this.runtime.stopPodSandbox(old, true);
        void this.runtime.removePodSandbox(old).catch((err: unknown) => this.event('Warning', 'FailedKillPod', (err as Error).message));
      }
      if (this.finishing) return;
      await this.createSandbox();
    } catch (err) {
      this.recreating = false;
      this.fail('FailedCreatePodSandBox', err);
      return;
    }
    this.recreating = false;
    for (const r of this.init) r.succeededHere = false;
    for (const r of [...this.init, ...this.app]) {
      // OnFailure leaves a container that succeeded alone; the rest start at once.
      const done = this.policy === 'OnFailure' && r.exited && r.lastExitCode === 0 && !r.isInit;
      r.restartAt = done ? undefined : 0;
      if (!done) delete r.obs.waiting;
    }
    this.sync();
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
   * period), then its stop signal, then SIGKILL to all of the container
   * when the grace period ends; pause only after every container is gone.
   * A zero grace period still gets the kubelet's minimum; only force kills
   * at once. A later call may shorten the grace period, never lengthen it.
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
      // Liveness and startup stop (as successes); readiness goes on while the pod ends.
      r.prober?.podTerminating();
      if (!r.running) continue;
      if (options.force) {
        this.kill(r);
      } else if (r.killing) {
        // A failed probe's kill is under way: the pod's grace period may only shorten it.
        this.armKill(r, Math.min(r.killAt ?? deadline, deadline));
      } else if (first) {
        void this.terminateContainer(r, () => this.terminating?.deadline ?? Date.now(), `Stopping container ${r.name}`);
      } else {
        this.armKill(r, deadline);
      }
    }
    this.writeStatus();
    this.sync();
    return this.done;
  }

  /** SIGKILL to all of the container's current attempt, now. */
  private kill(r: ContainerState): void {
    r.abortHooks();
    if (r.id) void this.runtime.killContainer(r.id).catch(() => undefined);
  }

  /**
   * Stops one container: the Killing event, its preStop hook, its stop
   * signal, SIGKILL at `deadline()` (read again after the hook: a pod
   * delete may have shortened it).
   */
  private async terminateContainer(r: ContainerState, deadline: () => number, message: string): Promise<void> {
    if (!r.id) return;
    const id = r.id;
    this.event('Normal', 'Killing', message, r);
    const preStop = r.spec.lifecycle?.preStop;
    const minimum = MIN_GRACE_SECONDS * 1000;
    // The grace period bounds everything, the hook included, whatever the
    // hook does; a preStop that used it all still leaves the stop signal the
    // kubelet's minimum.
    this.armKill(r, deadline() + (preStop ? minimum : 0));
    if (preStop && r.running) {
      r.busy = true;
      const result = await runHook(this.hookContext(r), 'PreStop', preStop, deadline() - Date.now(), r.hookSignal());
      r.busy = false;
      if (!result.ok) this.event('Warning', 'FailedPreStopHook', result.message, r);
    }
    if (!r.running || r.id !== id) return this.sync();
    this.runtime.signalContainer(id, (r.image?.config.stopSignal ?? 'SIGTERM') as NodeJS.Signals);
    this.armKill(r, preStop ? Math.max(deadline(), Date.now() + minimum) : deadline());
  }

  /** SIGKILL to everything of the container at `at` (ms since epoch): the end of its grace period. */
  private armKill(r: ContainerState, at: number): void {
    if (r.killTimer) clearTimeout(r.killTimer);
    r.killAt = at;
    r.killTimer = setTimeout(() => this.kill(r), Math.max(at - Date.now(), 0));
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
      if (r.running) this.kill(r);
    }
    const exits = all.flatMap((r) => (r.running && r.id ? [this.runtime.waitContainer(r.id)] : []));
    await Promise.all(exits);
    // pause goes last; forced, at once.
    if (this.sandboxId) await this.runtime.stopPodSandbox(this.sandboxId, this.terminating?.grace === 0);
    const status = this.writeStatus();
    try {
      await this.teardown();
    } catch (err) {
      // What could not be removed now, the next peapod reclaims; say what it was.
      process.stderr.write(`peapod: tearing down pod ${this.name}: ${(err as Error).message}\n`);
    }
    this.resolveDone(this.result(status));
  }

  private result(status: PodStatus): PodResult {
    const containers = this.app
      .filter((r) => r.obs.current?.finishedAt !== undefined && r.obs.current.id !== '')
      .map((r) => {
        const cur = r.obs.current as NonNullable<ContainerState['obs']['current']>;
        const exit = cur.signal !== undefined ? { signal: cur.signal } : { code: cur.exitCode ?? 0 };
        return {
          name: r.name,
          exit,
          ...(cur.reason ? { reason: cur.reason } : {}),
          exitCode: cur.exitCode ?? 0,
          restartCount: r.obs.restartCount,
          startedAt: new Date(cur.startedAt),
          finishedAt: new Date(cur.finishedAt as string),
        };
      });
    const failedInit = this.init.find((r) => r.exited && r.lastExitCode !== 0);
    const exitCode = containers.find((c) => c.exitCode !== 0)?.exitCode ?? (failedInit ? (failedInit.lastExitCode ?? 1) : 0);
    return { containers, exitCode, status };
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
      network: this.statusIPs(),
      ...(this.failure ? { failure: this.failure } : {}),
      ...(this.lastStatus ? { previous: this.lastStatus } : {}),
      now: new Date().toISOString(),
    });
  }

  /**
   * Recomputes the status; when it changed, tells the listener at once and
   * schedules the write of pod.json (coalesced to one write per turn of the
   * event loop: a start changes the status a dozen times).
   */
  private writeStatus(): PodStatus {
    const status = this.computeStatus();
    this.lastStatus = status;
    if (this.tornDown) return status;
    const object = this.podObject(status);
    const text = JSON.stringify(object);
    if (text !== this.lastWritten) {
      this.lastWritten = text;
      this.files.set(this.paths.podFile, object);
      // What the next daemon takes the pod over from changes with its status.
      if (this.options.detached) this.saveRecord();
      this.options.onStatus?.(object);
    }
    return status;
  }

  private event(type: PodEvent['type'], reason: string, message: string, r?: ContainerState): void {
    const e = this.events.record(type, reason, message, r?.fieldPath);
    this.options.onEvent?.(e);
    if (!this.tornDown) this.files.set(this.paths.eventsFile, this.events.events);
  }

  /** The record changes with every process started: written with the next flush. */
  private saveRecord(): void {
    if (!this.tornDown) this.files.set(this.paths.recordFile, this.withCheckpoint());
  }

  /** The record, with the kubelet's checkpoint as it is now when the pod outlives this process. */
  private withCheckpoint(): PodRecord {
    if (this.options.detached) this.record.kubelet = this.checkpoint();
    return this.record;
  }

  /** Writes what changed to disk now (atomically: write, then rename); what cannot be written is retried. */
  flush(): void {
    if (!this.tornDown) this.files.flush();
  }

  /** The runtime's part (its sandboxes, with their mounts and cgroups), then the kubelet's (volumes, logs, state). */
  private async teardown(): Promise<void> {
    this.flush();
    this.tornDown = true;
    leavePod(this.options.paths, this.name);
    this.files.close();
    this.control?.close();
    if (this.record.control) rmSync(this.record.control, { force: true });
    if (this.nul >= 0) closeSync(this.nul);
    this.nul = -1;
    this.supervising = false;
    for (const s of this.runtime.listPodSandbox()) await this.runtime.removePodSandbox(s.id);
    this.runtime.close();
    unmountPodDir(this.paths.state, this.paths.data);
    // Renamed away now (the name is free, nothing half-removed is seen), removed once the pod is reported gone.
    const trash = join(this.options.paths.data, 'pods');
    void discard(this.paths.data, trash);
    if (this.paths.state !== this.paths.data) void discard(this.paths.state, join(this.options.paths.state, 'pods'));
  }

  /** A start that failed half-way: kill what runs, then remove everything. */
  private async rollback(): Promise<void> {
    this.images.close();
    for (const r of [...this.init, ...this.app]) {
      r.clearTimers();
      if (r.running) this.kill(r);
    }
    await this.teardown();
    removeCreated(this.createdVolumes);
  }
}

/** A container the runtime no longer knows, as the kubelet reports one it cannot find. */
function lostStatus(id: string): Omit<RuntimeContainerStatus, 'logPath'> {
  const now = Date.now() * 1e6;
  return {
    id,
    metadata: { name: '', attempt: 0 },
    state: 'CONTAINER_EXITED',
    createdAt: now,
    startedAt: now,
    finishedAt: now,
    exitCode: 137,
    image: { image: '' },
    imageRef: '',
    reason: 'ContainerStatusUnknown',
    message: 'The container could not be located when the pod was terminated',
    labels: {},
    annotations: {},
    mounts: [],
    pid: 0,
  };
}

function formatSeconds(s: number): string {
  if (s >= 60 && s % 60 === 0) return `${s / 60}m0s`;
  if (s >= 60) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${s}s`;
}
