// A runtime layer without processes, for the pod worker's unit tests: it
// keeps sandboxes and containers as data, logs every CRI call it gets, and
// lets the test say what the kernel would (a container exits with a code,
// pause dies, a start fails, a hook answers). Exits are delivered on a later
// turn of the event loop, as a pidfd's are.
import type {
  ContainerConfig,
  ContainerFilter,
  ContainerStatus,
  ExecSyncResponse,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStatus,
} from '../../src/runtime/api.js';
import { resolveImage } from '../../src/image/store.js';
import { pauseBinary } from '../../src/package.js';
import type { SpawnPlan } from '../../src/plan/types.js';
import { planContainer } from '../../src/runtime/container.js';
import { podPaths } from '../../src/runtime/paths.js';
import type { PlanProcess } from '../../src/runtime/process.js';
import { planSandbox, sandboxFacts } from '../../src/runtime/sandbox.js';
import { NotFoundError, type NodeRuntime, type RuntimeOptions, type SandboxFacts, type SandboxProcess } from '../../src/runtime/runtime-service.js';

const SIGKILL = 9;
const SIGTERM = 15;

interface FakeSandbox {
  id: string;
  config: PodSandboxConfig;
  ready: boolean;
  pause: { -readonly [K in keyof SandboxProcess]: SandboxProcess[K] };
  endPause: () => void;
}

interface FakeContainer {
  status: ContainerStatus;
  sandboxId: string;
  exited: Promise<ContainerStatus>;
  resolve: (s: ContainerStatus) => void;
}

/** How the fake answers an ExecSync (a hook): after `ms`, with `exitCode`. */
export interface ExecAnswer {
  exitCode: number;
  ms?: number;
}

export class FakeRuntime implements NodeRuntime {
  /** Every call, in order: "RunPodSandbox 0", "CreateContainer app 1", "StartContainer app", "ExecSync app echo hi", ... */
  readonly calls: string[] = [];
  /** Every request, as the kubelet's half sent it. */
  readonly requests: Array<{ sandbox: PodSandboxConfig } | { container: ContainerConfig }> = [];
  /** The plans the real runtime would spawn, made by its own planners (pause's, then each container's by name). */
  readonly plans: Array<{ name: string; plan: SpawnPlan }> = [];
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly containers = new Map<string, FakeContainer>();
  /** Containers (by name) that do not end on SIGTERM, as a program that ignores it. */
  readonly ignoreTerm = new Set<string>();
  /** The next StartContainer of a container (by name) throws this message. */
  readonly failNextStart = new Map<string, string>();
  /** ExecSync answers by the command's first word (default: exit 0 at once). */
  readonly execAnswers = new Map<string, ExecAnswer>();
  private nextId = 1;
  /** Above any pid_max (2^22 at most): a path the worker builds from these (a probe's /proc/PID/ns/net) never names a real process. */
  private nextPid = 2 ** 23;

  constructor(readonly options: RuntimeOptions) {}

  private get launcher(): string {
    return this.options.pauseBinary ?? pauseBinary;
  }

  private sandbox(id: string): FakeSandbox {
    const s = this.sandboxes.get(id);
    if (!s) throw new NotFoundError(`sandbox ${id} not found`);
    return s;
  }

  private container(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError(`container ${id} not found`);
    return c;
  }

  /** The container of that name that runs now (the test's handle). */
  running(name: string): FakeContainer {
    const c = [...this.containers.values()].find((x) => x.status.metadata.name === name && x.status.state === 'CONTAINER_RUNNING');
    if (!c) throw new Error(`no running container ${name}; calls: ${this.calls.join(', ')}`);
    return c;
  }

  /** The kernel says the container's main process ended. */
  exit(name: string, exitCode: number, signal?: number): void {
    this.end(this.running(name), exitCode, signal);
  }

  /** pause dies: the kernel ends every process of the pod's PID namespace with it. */
  killPause(): void {
    for (const s of this.sandboxes.values()) {
      if (!s.ready) continue;
      for (const c of this.containers.values()) if (c.sandboxId === s.id && c.status.state === 'CONTAINER_RUNNING') this.end(c, 128 + SIGKILL, SIGKILL);
      s.ready = false;
      s.endPause();
    }
  }

  private end(c: FakeContainer, exitCode: number, signal?: number): void {
    if (c.status.state !== 'CONTAINER_RUNNING') return;
    c.status.state = 'CONTAINER_EXITED';
    c.status.exitCode = exitCode;
    c.status.finishedAt = Date.now() * 1e6;
    c.status.reason = exitCode === 0 ? 'Completed' : 'Error';
    if (signal !== undefined) c.status.signal = signal;
    const status = { ...c.status };
    setImmediate(() => c.resolve(status));
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    this.calls.push(`RunPodSandbox ${config.metadata.attempt}`);
    this.requests.push({ sandbox: structuredClone(config) });
    this.plans.push({ name: 'pause', plan: planSandbox(config, this.launcher, []) });
    const id = `sandbox-${this.nextId++}`;
    let endPause!: () => void;
    const exited = new Promise<{ code: number }>((resolve) => (endPause = () => resolve({ code: 0 })));
    const pause: FakeSandbox['pause'] = { pid: this.nextPid++, startTime: 0, startedAt: new Date(), exited, running: true, finishedAt: undefined };
    this.sandboxes.set(id, {
      id,
      config,
      ready: true,
      pause,
      endPause: () => {
        pause.running = false;
        endPause();
      },
    });
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    this.calls.push('StopPodSandbox');
    const s = this.sandbox(id);
    for (const c of this.containers.values()) if (c.sandboxId === id) this.end(c, 128 + SIGKILL, SIGKILL);
    if (s.ready) {
      s.ready = false;
      s.endPause();
    }
  }

  async removePodSandbox(id: string): Promise<void> {
    this.calls.push('RemovePodSandbox');
    for (const [cid, c] of this.containers) if (c.sandboxId === id) this.containers.delete(cid);
    this.sandboxes.delete(id);
  }

  podSandboxStatus(id: string): PodSandboxStatus {
    const s = this.sandbox(id);
    return {
      id,
      metadata: s.config.metadata,
      state: s.ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
      createdAt: s.pause.startedAt.getTime() * 1e6,
      network: { ip: '', additionalIps: [] },
      linux: { namespaces: { options: s.config.linux.securityContext.namespaceOptions } },
      labels: s.config.labels,
      annotations: s.config.annotations,
      pid: s.pause.pid,
    };
  }

  listPodSandbox(filter: PodSandboxFilter = {}): PodSandboxStatus[] {
    return [...this.sandboxes.keys()].map((id) => this.podSandboxStatus(id)).filter((s) => filter.id === undefined || s.id === filter.id);
  }

  createContainer(sandboxId: string, config: ContainerConfig): string {
    this.calls.push(`CreateContainer ${config.metadata.name} ${config.metadata.attempt}`);
    this.requests.push({ container: structuredClone(config) });
    const sandbox = this.sandbox(sandboxId);
    // Planned as RuntimeService plans it: a request it would refuse, the fake refuses too.
    const image = resolveImage(this.options.paths.images, config.image.image);
    const { plan } = planContainer({
      config,
      image,
      sandbox: sandboxFacts(podPaths(this.options.paths, sandbox.config.metadata.name), sandbox.config.hostname, sandbox.pause.pid),
      dirs: podPaths(this.options.paths, sandbox.config.metadata.name).container(config.metadata.name),
      fs: image.fs,
      launcher: this.launcher,
      cgroupProcs: [],
      stateRoot: this.options.paths.state,
    });
    this.plans.push({ name: config.metadata.name, plan });
    const id = `container-${this.nextId++}`;
    let resolve!: (s: ContainerStatus) => void;
    const exited = new Promise<ContainerStatus>((r) => (resolve = r));
    const status: ContainerStatus = {
      id,
      metadata: config.metadata,
      state: 'CONTAINER_CREATED',
      createdAt: Date.now() * 1e6,
      startedAt: 0,
      finishedAt: 0,
      exitCode: 0,
      image: config.image,
      imageRef: config.image.image,
      reason: '',
      message: '',
      labels: config.labels,
      annotations: config.annotations,
      mounts: config.mounts,
      logPath: `/nonexistent/${config.logPath}`,
      pid: 0,
    };
    this.containers.set(id, { status, sandboxId, exited, resolve });
    return id;
  }

  startContainer(id: string): void {
    const c = this.container(id);
    const name = c.status.metadata.name;
    this.calls.push(`StartContainer ${name}`);
    const failure = this.failNextStart.get(name);
    if (failure !== undefined) {
      this.failNextStart.delete(name);
      throw new Error(failure);
    }
    c.status.state = 'CONTAINER_RUNNING';
    c.status.startedAt = Date.now() * 1e6;
    c.status.pid = this.nextPid++;
  }

  async stopContainer(id: string): Promise<void> {
    this.calls.push(`StopContainer ${this.container(id).status.metadata.name}`);
    this.end(this.container(id), 128 + SIGKILL, SIGKILL);
  }

  removeContainer(id: string): void {
    const c = this.containers.get(id);
    if (!c) return;
    if (c.status.state === 'CONTAINER_RUNNING') throw new Error(`container ${id} is running; stop it first`);
    this.calls.push(`RemoveContainer ${c.status.metadata.name}`);
    this.containers.delete(id);
  }

  containerStatus(id: string): ContainerStatus {
    return { ...this.container(id).status };
  }

  listContainers(filter: ContainerFilter = {}): ContainerStatus[] {
    return [...this.containers.values()].map((c) => ({ ...c.status })).filter((s) => filter.id === undefined || s.id === filter.id);
  }

  waitContainer(id: string): Promise<ContainerStatus> {
    return this.container(id).exited;
  }

  exec(): PlanProcess {
    throw new Error('the fake runtime runs no processes');
  }

  async execSync(id: string, argv: string[], timeoutSeconds: number, abort?: AbortSignal, label = 'exec'): Promise<ExecSyncResponse> {
    this.calls.push(`ExecSync ${this.container(id).status.metadata.name} ${label} ${argv.join(' ')}`);
    const answer = this.execAnswers.get(argv[0] ?? '') ?? { exitCode: 0 };
    const ms = Math.min(answer.ms ?? 0, timeoutSeconds * 1000);
    const ended = await new Promise<'done' | 'aborted'>((resolve) => {
      const timer = setTimeout(() => resolve('done'), ms);
      abort?.addEventListener('abort', () => (clearTimeout(timer), resolve('aborted')), { once: true });
    });
    const none = Buffer.alloc(0);
    if (ended === 'aborted') return { stdout: none, stderr: none, exitCode: 137, aborted: true };
    return { stdout: none, stderr: none, exitCode: answer.exitCode };
  }

  updateContainerResources(): void {}

  reopenContainerLog(): void {}

  pauseOf(sandboxId: string): SandboxProcess {
    return this.sandbox(sandboxId).pause;
  }

  facts(sandboxId: string): SandboxFacts {
    const s = this.sandbox(sandboxId);
    return { id: s.id, pid: s.pause.pid, startTime: 0, containers: {} };
  }

  async killContainer(id: string): Promise<void> {
    const c = this.container(id);
    this.calls.push(`Kill ${c.status.metadata.name}`);
    this.end(c, 128 + SIGKILL, SIGKILL);
  }

  signalContainer(id: string, sig: NodeJS.Signals): boolean {
    const c = this.container(id);
    this.calls.push(`Signal ${c.status.metadata.name} ${sig}`);
    if (c.status.state !== 'CONTAINER_RUNNING') return false;
    if (sig === 'SIGTERM' && !this.ignoreTerm.has(c.status.metadata.name)) this.end(c, 128 + SIGTERM, SIGTERM);
    return true;
  }

  cgroupOf(): undefined {
    return undefined;
  }

  adoptSandbox(facts: SandboxFacts): void {
    throw new Error(`the fake runtime adopts nothing (sandbox ${facts.id})`);
  }

  close(): void {
    this.calls.push('Close');
  }
}
