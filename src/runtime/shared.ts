// One runtime for every pod of the node daemon (and whatever else the
// daemon serves on it, such as a CRI server): one RuntimeService, one set of
// sandboxes and containers. Each pod worker gets a view of it that acts on
// the shared service and hears what concerns its own pod (its facts to
// save, its sandbox's events), routed by the pod's uid, as a kubelet's pod
// workers share one CRI connection. The daemon's settings (log rotation,
// network, cgroups, pause) hold for every pod on it.
import type * as Cri from './api.js';
import type { Cgroup } from './cgroups/types.js';
import type { PlanProcess } from './process.js';
import { RuntimeService, type NodeRuntime, type RuntimeOptions, type SandboxFacts, type SandboxProcess } from './runtime-service.js';

/** What a pod's view hears: the callbacks its worker gave. */
type PodListener = Pick<RuntimeOptions, 'onFacts' | 'onSandboxEvent' | 'onContainerEvent'>;

export class SharedRuntime {
  readonly service: RuntimeService;
  /** By pod uid. */
  private readonly listeners = new Map<string, PodListener>();

  constructor(options: RuntimeOptions) {
    this.service = new RuntimeService({
      ...options,
      onFacts: (id, now) => {
        options.onFacts?.(id, now);
        this.listenerOf(id)?.onFacts?.(id, now);
      },
      onSandboxEvent: (id, type, reason, message) => {
        options.onSandboxEvent?.(id, type, reason, message);
        this.listenerOf(id)?.onSandboxEvent?.(id, type, reason, message);
      },
      onContainerEvent: (event) => {
        options.onContainerEvent?.(event);
        this.listenerOf(event.podSandboxId)?.onContainerEvent?.(event);
      },
    });
  }

  /** Whether a pod view holds the sandbox (else it was made on the service directly: the CRI's). */
  viewed(sandboxId: string): boolean {
    return this.listenerOf(sandboxId) !== undefined;
  }

  private listenerOf(sandboxId: string): PodListener | undefined {
    try {
      return this.listeners.get(this.service.podSandboxStatus(sandboxId).metadata.uid);
    } catch {
      return undefined;
    }
  }

  /** A pod's view of the shared runtime; what it hears is what its worker gave in `options`. */
  view(options: RuntimeOptions): NodeRuntime {
    return new PodRuntimeView(this, options);
  }

  listen(uid: string, listener: PodListener): void {
    this.listeners.set(uid, listener);
  }

  forget(uid: string): void {
    this.listeners.delete(uid);
  }
}

/** One pod's runtime: the shared service, seen from one pod (its sandboxes only, and closing it closes nothing shared). */
class PodRuntimeView implements NodeRuntime {
  private readonly service: RuntimeService;
  private readonly mine = new Set<string>();
  private uid: string | undefined;

  constructor(
    private readonly shared: SharedRuntime,
    private readonly options: RuntimeOptions,
  ) {
    this.service = shared.service;
  }

  private own(uid: string, id?: string): void {
    if (this.uid === undefined) {
      this.uid = uid;
      this.shared.listen(uid, this.options);
    }
    if (id) this.mine.add(id);
  }

  async runPodSandbox(config: Cri.PodSandboxConfig): Promise<string> {
    // Heard from before the id exists: the first facts are reported inside RunPodSandbox.
    this.own(config.metadata.uid);
    const id = await this.service.runPodSandbox(config);
    this.mine.add(id);
    return id;
  }

  adoptSandbox(facts: SandboxFacts): void {
    if (facts.saved) this.own(facts.saved.config.metadata.uid);
    this.service.adoptSandbox(facts);
    this.mine.add(facts.id);
  }

  stopPodSandbox(id: string, force?: boolean): Promise<void> {
    return this.service.stopPodSandbox(id, force);
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.service.removePodSandbox(id);
    this.mine.delete(id);
  }

  podSandboxStatus(id: string): Cri.PodSandboxStatus {
    return this.service.podSandboxStatus(id);
  }

  listPodSandbox(filter?: Cri.PodSandboxFilter): Cri.PodSandboxStatus[] {
    return this.service.listPodSandbox(filter).filter((s) => this.mine.has(s.id));
  }

  createContainer(sandboxId: string, config: Cri.ContainerConfig): string {
    return this.service.createContainer(sandboxId, config);
  }

  startContainer(id: string): void {
    this.service.startContainer(id);
  }

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    return this.service.stopContainer(id, timeoutSeconds);
  }

  removeContainer(id: string): void {
    this.service.removeContainer(id);
  }

  containerStatus(id: string): Cri.ContainerStatus {
    return this.service.containerStatus(id);
  }

  listContainers(filter: Cri.ContainerFilter = {}): Cri.ContainerStatus[] {
    const sandboxes = filter.podSandboxId !== undefined ? [filter.podSandboxId].filter((id) => this.mine.has(id)) : [...this.mine];
    return sandboxes.flatMap((podSandboxId) => this.service.listContainers({ ...filter, podSandboxId }));
  }

  waitContainer(id: string): Promise<Cri.ContainerStatus> {
    return this.service.waitContainer(id);
  }

  exec(id: string, argv: string[], stdio: [number, number, number], label?: string): PlanProcess {
    return this.service.exec(id, argv, stdio, label);
  }

  execSync(id: string, argv: string[], timeoutSeconds: number, abort?: AbortSignal, label?: string): Promise<Cri.ExecSyncResponse> {
    return this.service.execSync(id, argv, timeoutSeconds, abort, label);
  }

  updateContainerResources(id: string, resources: Cri.LinuxContainerResources): void {
    this.service.updateContainerResources(id, resources);
  }

  reopenContainerLog(id: string): void {
    this.service.reopenContainerLog(id);
  }

  pauseOf(sandboxId: string): SandboxProcess {
    return this.service.pauseOf(sandboxId);
  }

  facts(sandboxId: string): SandboxFacts {
    return this.service.facts(sandboxId);
  }

  killContainer(id: string): Promise<void> {
    return this.service.killContainer(id);
  }

  signalContainer(id: string, sig: NodeJS.Signals): boolean {
    return this.service.signalContainer(id, sig);
  }

  cgroupOf(id: string): Cgroup | undefined {
    return this.service.cgroupOf(id);
  }

  /** The pod is done with the runtime: it stops hearing from it (the shared service stays open). */
  close(): void {
    if (this.uid !== undefined) this.shared.forget(this.uid);
  }
}

