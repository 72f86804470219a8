// The CRI's RuntimeService over the runtime layer: each call a translation
// (translate.ts) onto src/runtime's RuntimeService. What the CRI reports
// beyond the runtime's statuses (each sandbox's runtime handler, each
// container's resources and image reference) goes into the configs the
// runtime keeps, so that a daemon's next runtime, adopting them, reports the
// same. The CRI sees only its own sandboxes (a daemon's pods share the
// runtime): those whose directories are the CRI's (`pods/.cri-*`).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { resolveImageUser } from '../image/config.js';
import { ImageStore } from '../image/store.js';
import type { NetworkOptions } from '../network/options.js';
import type { ContainerEvent, ContainerStatus, PodSandboxStatus } from '../runtime/api.js';
import { podPaths, type RuntimePaths } from '../runtime/paths.js';
import { unmountPodDir } from '../runtime/pod-files.js';
import { NotFoundError, type RuntimeService } from '../runtime/runtime-service.js';
import { CriPreconditionError } from './errors.js';
import { networkCondition } from './network-status.js';
import { containerStats, podSandboxStats, type StatsMemory } from './stats.js';
import type { StreamingServer } from './streaming/server.js';
import { containerConfig, containerStatus, CRI_POD_PREFIX, CriArgumentError, CriUnsupportedError, podSandboxConfig, podSandboxStatus, resources, type SandboxDefaults } from './translate.js';
import type { Labels, WireContainerConfig, WireContainerStatus, WirePodSandboxConfig, WirePodSandboxStatus, WireResources } from './wire.js';

export const RUNTIME_NAME = 'peapod';
export const CRI_API_VERSION = 'v1';
/** Runtime handlers peapod answers to: the default ("") and its own name. */
const HANDLERS = new Set(['', RUNTIME_NAME]);
/** ExecSync keeps this much of each stream (the CRI's cap). */
const EXEC_SYNC_LIMIT = 16 * 1024 * 1024;

export interface CriRuntimeOptions {
  runtime: RuntimeService;
  paths: RuntimePaths;
  imagesDir: string;
  network: NetworkOptions;
  streaming: StreamingServer;
  sandbox: SandboxDefaults;
  version: string;
  /** The sandbox image's binary (sandbox-image.ts), resolved when first needed; undefined: peapod's pause. */
  sandboxBinary?: () => Promise<string>;
}

/** Oldest first, whatever order a runtime holds them in (an adopting one reads them in another): the same list before and after a restart. */
function byCreation<T extends { createdAt: number; id: string }>(list: T[]): T[] {
  return list.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

function matches(labels: Labels, selector: Labels | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** Exactly `id`, else the one id among `all` that starts with it (crictl takes short ids), else NotFound. */
function resolveId(id: string, all: Iterable<string>, what: string): string {
  if (id === '') throw new CriArgumentError(`${what} ID: required`);
  const found: string[] = [];
  for (const candidate of all) {
    if (candidate === id) return id;
    if (candidate.startsWith(id)) found.push(candidate);
  }
  if (found.length === 1) return found[0] as string;
  if (found.length > 1) throw new CriArgumentError(`${what} ID "${id}" is ambiguous (${found.length} match); give more of it`);
  throw new NotFoundError(`${what} "${id}" not found`);
}

/** What `find` names, or undefined when it names nothing: an idempotent call's "already gone". */
function ifFound(find: () => string): string | undefined {
  try {
    return find();
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export class CriRuntime {
  private readonly stopped = new Set<string>();
  private readonly statsMemory: StatsMemory = new Map();
  private podCidr = '';

  constructor(private readonly o: CriRuntimeOptions) {}

  private get rt(): RuntimeService {
    return this.o.runtime;
  }

  /** A sandbox of the CRI's: made here, or by the CRI of a daemon before (adopted). */
  private isCri(id: string): boolean {
    try {
      return this.rt.sandboxConfig(id).podDirectory?.startsWith(CRI_POD_PREFIX) === true;
    } catch {
      return false;
    }
  }

  /**
   * What CRI pods left that no sandbox of the runtime holds (a server that
   * kept its pods in memory and was killed): their directories (/dev/shm
   * unmounted first) and the log directories peapod chose for them. Called
   * before serving, by the one server of the root.
   */
  removeOrphans(): void {
    const held = new Set(this.sandboxIds().map((id) => this.rt.sandboxPaths(id).state.split('/').pop()));
    const { paths } = this.o;
    for (const root of new Set([join(paths.state, 'pods'), join(paths.data, 'pods'), this.o.sandbox.logRoot])) {
      if (!existsSync(root)) continue;
      for (const name of readdirSync(root).filter((n) => n.startsWith(CRI_POD_PREFIX) && !held.has(n))) {
        const dir = join(root, name);
        unmountPodDir(dir);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }

  private sandboxIds(): string[] {
    return this.rt
      .listPodSandbox()
      .map((s) => s.id)
      .filter((id) => this.isCri(id));
  }

  private sandboxId(id: string): string {
    return resolveId(id, this.sandboxIds(), 'pod sandbox');
  }

  private containers(filter: { podSandboxId?: string } = {}): ContainerStatus[] {
    const mine = new Set(this.sandboxIds());
    return this.rt.listContainers(filter.podSandboxId ? { podSandboxId: filter.podSandboxId } : {}).filter((c) => mine.has(this.sandboxOf(c.id)));
  }

  private sandboxOf(containerId: string): string {
    return this.rt.containerSandbox(containerId);
  }

  private containerId(id: string): string {
    return resolveId(
      id,
      this.containers().map((c) => c.id),
      'container',
    );
  }

  // ---- version and status ----

  version(): { version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string } {
    return { version: '0.1.0', runtimeName: RUNTIME_NAME, runtimeVersion: this.o.version, runtimeApiVersion: CRI_API_VERSION };
  }

  status(verbose: boolean): object {
    const conditions = [{ type: 'RuntimeReady', status: true, reason: '', message: '' }, networkCondition(this.o.network)];
    return {
      status: { conditions },
      info: verbose ? { config: JSON.stringify({ podCidr: this.podCidr, cgroupDriver: 'cgroupfs', network: this.o.network, imagesDir: this.o.imagesDir }) } : {},
      runtimeHandlers: [{ name: '', features: { recursiveReadOnlyMounts: false, userNamespaces: false } }],
      features: { supplementalGroupsPolicy: false },
    };
  }

  updateRuntimeConfig(podCidr: string): void {
    this.podCidr = podCidr;
  }

  // ---- sandboxes ----

  async runPodSandbox(wire: WirePodSandboxConfig | null, handler: string): Promise<string> {
    if (!HANDLERS.has(handler)) throw new CriArgumentError(`runtime_handler "${handler}": peapod has no such handler; leave it empty (or "${RUNTIME_NAME}")`);
    const config = { ...podSandboxConfig(wire, this.o.sandbox), runtimeHandler: handler };
    const binary = this.o.sandboxBinary ? await this.o.sandboxBinary() : undefined;
    try {
      return await this.rt.runPodSandbox(binary ? { ...config, pauseBinary: binary } : config);
    } catch (err) {
      // The runtime undid what it made; the pod's directories are the CRI's to remove.
      this.removePodDirectories(podPaths(this.o.paths, config.podDirectory ?? config.metadata.name), config.ownLogDirectory ? config.logDirectory : undefined);
      throw err;
    }
  }

  async stopPodSandbox(idText: string): Promise<void> {
    const id = this.sandboxId(idText);
    if (this.stopped.has(id)) return;
    await this.rt.stopPodSandbox(id);
    this.stopped.add(id);
  }

  async removePodSandbox(idText: string): Promise<void> {
    const id = ifFound(() => this.sandboxId(idText));
    if (id === undefined) return;
    const mine = this.containers({ podSandboxId: id }).map((c) => c.id);
    const paths = this.rt.sandboxPaths(id);
    const config = this.rt.sandboxConfig(id);
    await this.rt.removePodSandbox(id);
    this.removePodDirectories(paths, config.ownLogDirectory ? config.logDirectory : undefined);
    for (const c of mine) this.statsMemory.delete(c);
    this.stopped.delete(id);
    this.statsMemory.delete(id);
  }

  /** The pod's directories go with its last sandbox (attempts of one pod share them), and a log directory peapod chose. */
  private removePodDirectories(paths: { state: string; data: string }, logDirectory: string | undefined): void {
    if (this.sandboxIds().some((other) => this.rt.sandboxPaths(other).state === paths.state)) return;
    for (const dir of new Set([paths.state, paths.data])) {
      unmountPodDir(dir);
      rmSync(dir, { recursive: true, force: true });
    }
    if (logDirectory) rmSync(logDirectory, { recursive: true, force: true });
  }

  private sandboxWire(s: PodSandboxStatus): WirePodSandboxStatus {
    const wire = podSandboxStatus(s, this.rt.sandboxConfig(s.id).runtimeHandler ?? '');
    if (this.stopped.has(s.id)) wire.state = 'SANDBOX_NOTREADY';
    return wire;
  }

  podSandboxStatus(idText: string, verbose: boolean): object {
    const id = this.sandboxId(idText);
    const s = this.rt.podSandboxStatus(id);
    const info = verbose ? { info: JSON.stringify({ pid: s.pid, runtimeHandler: this.rt.sandboxConfig(id).runtimeHandler ?? '', paths: this.rt.sandboxPaths(id) }) } : {};
    return {
      status: this.sandboxWire(s),
      info,
      containersStatuses: this.containers({ podSandboxId: id }).map((c) => this.containerWire(c)),
      timestamp: Date.now() * 1e6,
    };
  }

  listPodSandbox(filter: { id: string; state: { state: PodSandboxStatus['state'] } | null; labelSelector: Labels } | null): object[] {
    return byCreation(this.sandboxIds().map((id) => this.sandboxWire(this.rt.podSandboxStatus(id))))
      .filter((s) => !filter || ((filter.id === '' || s.id.startsWith(filter.id)) && (!filter.state || s.state === filter.state.state) && matches(s.labels, filter.labelSelector)))
      .map((s) => ({ id: s.id, metadata: s.metadata, state: s.state, createdAt: s.createdAt, labels: s.labels, annotations: s.annotations, runtimeHandler: s.runtimeHandler }));
  }

  // ---- containers ----

  createContainer(sandboxText: string, wire: WireContainerConfig | null, sandboxConfig: WirePodSandboxConfig | null): string {
    const sandboxId = this.sandboxId(sandboxText);
    if (this.stopped.has(sandboxId)) throw new CriPreconditionError(`pod sandbox ${sandboxId} is stopped: no container can be made in it`);
    const wanted = wire?.image?.image ?? '';
    if (wanted === '') throw new CriArgumentError('config.image.image: required');
    const store = new ImageStore(this.o.imagesDir);
    const record = store.lookup(wanted, { search: ['docker.io'] });
    if (!record) throw new NotFoundError(`image "${wanted}" not found: pull it first (PullImage)`);
    const image = store.view(record, wanted);
    const digests = store.tagsOf(record.id).repoDigests;
    const config = containerConfig(wire, {
      image: record.id,
      imageRef: digests[0] ?? record.id,
      sandboxPrivileged: sandboxConfig?.linux?.securityContext?.privileged ?? false,
      users: {
        uidOf: (name) => resolveImageUser(name, image.rootfs, image.fs, wanted).uid,
      },
    });
    return this.rt.createContainer(sandboxId, config);
  }

  startContainer(idText: string): void {
    this.rt.startContainer(this.containerId(idText));
  }

  async stopContainer(idText: string, timeout: number): Promise<void> {
    await this.rt.stopContainer(this.containerId(idText), timeout);
  }

  async removeContainer(idText: string): Promise<void> {
    const id = ifFound(() => this.containerId(idText));
    if (id === undefined) return;
    // A running container is removed by force, as the CRI says.
    if (this.rt.containerStatus(id).state === 'CONTAINER_RUNNING') {
      await this.rt.killContainer(id);
      await this.rt.waitContainer(id);
    }
    this.rt.removeContainer(id);
    this.statsMemory.delete(id);
  }

  private containerWire(s: ContainerStatus): WireContainerStatus {
    const config = this.rt.containerConfig(s.id);
    return containerStatus(s, { imageRef: config.imageRef ?? s.imageRef, resources: config.linux.resources });
  }

  containerStatus(idText: string, verbose: boolean): object {
    const id = this.containerId(idText);
    const s = this.rt.containerStatus(id);
    const info = verbose ? { info: JSON.stringify({ pid: s.pid, sandboxId: this.sandboxOf(id), ...(s.signal !== undefined ? { signal: s.signal } : {}) }) } : {};
    return { status: this.containerWire(s), info };
  }

  listContainers(filter: { id: string; state: { state: ContainerStatus['state'] } | null; podSandboxId: string; labelSelector: Labels } | null): object[] {
    const sandbox = filter && filter.podSandboxId !== '' ? ifFound(() => this.sandboxId(filter.podSandboxId)) : undefined;
    if (filter && filter.podSandboxId !== '' && sandbox === undefined) return [];
    return byCreation(this.containers(sandbox ? { podSandboxId: sandbox } : {}))
      .filter((c) => !filter || ((filter.id === '' || c.id.startsWith(filter.id)) && (!filter.state || c.state === filter.state.state) && matches(c.labels, filter.labelSelector)))
      .map((c) => {
        const w = this.containerWire(c);
        return { id: c.id, podSandboxId: this.sandboxOf(c.id), metadata: c.metadata, image: w.image, imageRef: w.imageRef, state: c.state, createdAt: c.createdAt, labels: c.labels, annotations: c.annotations, imageId: c.imageRef };
      });
  }

  updateContainerResources(idText: string, wire: WireResources | null): void {
    this.rt.updateContainerResources(this.containerId(idText), resources(wire));
  }

  reopenContainerLog(idText: string): void {
    const id = this.containerId(idText);
    if (this.rt.containerStatus(id).state !== 'CONTAINER_RUNNING') throw new CriPreconditionError(`container ${id} is not running: its log is not reopened`);
    this.rt.reopenContainerLog(id);
  }

  // ---- exec, attach, port-forward ----

  private running(idText: string): string {
    const id = this.containerId(idText);
    if (this.rt.containerStatus(id).state !== 'CONTAINER_RUNNING') throw new CriPreconditionError(`container ${id} is not running`);
    return id;
  }

  async execSync(idText: string, cmd: string[], timeout: number): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
    const id = this.running(idText);
    if (cmd.length === 0) throw new CriArgumentError('cmd: required');
    const r = await this.rt.execSync(id, cmd, timeout, undefined, 'exec', EXEC_SYNC_LIMIT);
    if (r.timedOut) throw Object.assign(new Error(`command ${JSON.stringify(cmd)} timed out after ${timeout} s`), { name: 'CriTimeoutError' });
    if (r.startError) return { stdout: r.stdout, stderr: Buffer.from(`${r.startError}\n`), exitCode: r.exitCode };
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  }

  exec(req: { containerId: string; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): string {
    const id = this.running(req.containerId);
    if (req.cmd.length === 0) throw new CriArgumentError('cmd: required');
    if (!req.stdin && !req.stdout && !req.stderr) throw new CriArgumentError('one of stdin, stdout and stderr must be true');
    if (req.tty && req.stderr) throw new CriArgumentError('tty and stderr cannot both be true: a terminal has one output');
    return this.o.streaming.register({ kind: 'exec', containerId: id, cmd: req.cmd, options: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, tty: req.tty } });
  }

  attach(req: { containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): string {
    const id = this.running(req.containerId);
    if (!req.stdin && !req.stdout && !req.stderr) throw new CriArgumentError('one of stdin, stdout and stderr must be true');
    if (req.tty) throw new CriUnsupportedError('attach with tty: peapod gives containers no terminal (ContainerConfig.tty); attach without one');
    return this.o.streaming.register({ kind: 'attach', containerId: id, options: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, tty: false } });
  }

  portForward(sandboxText: string, ports: number[]): string {
    const id = this.sandboxId(sandboxText);
    if (this.rt.podSandboxStatus(id).state !== 'SANDBOX_READY' || this.stopped.has(id)) throw new CriPreconditionError(`pod sandbox ${id} is not ready`);
    return this.o.streaming.register({ kind: 'portforward', podSandboxId: id, ports });
  }

  // ---- stats ----

  containerStats(idText: string): object {
    const id = this.containerId(idText);
    return containerStats(this.rt, this.rt.containerStatus(id), this.statsMemory);
  }

  listContainerStats(filter: { id: string; podSandboxId: string; labelSelector: Labels } | null): object[] {
    return this.containers()
      .filter((c) => c.state === 'CONTAINER_RUNNING')
      .filter((c) => !filter || ((filter.id === '' || c.id.startsWith(filter.id)) && (filter.podSandboxId === '' || this.sandboxOf(c.id).startsWith(filter.podSandboxId)) && matches(c.labels, filter.labelSelector)))
      .map((c) => containerStats(this.rt, c, this.statsMemory));
  }

  podSandboxStats(idText: string): object {
    const id = this.sandboxId(idText);
    return podSandboxStats(this.rt, this.rt.podSandboxStatus(id), this.containers({ podSandboxId: id }), this.statsMemory);
  }

  listPodSandboxStats(filter: { id: string; labelSelector: Labels } | null): object[] {
    return this.sandboxIds()
      .map((id) => this.rt.podSandboxStatus(id))
      .filter((s) => s.state === 'SANDBOX_READY' && !this.stopped.has(s.id))
      .filter((s) => !filter || ((filter.id === '' || s.id.startsWith(filter.id)) && matches(s.labels, filter.labelSelector)))
      .map((s) => podSandboxStats(this.rt, s, this.containers({ podSandboxId: s.id }), this.statsMemory));
  }

  // ---- events ----

  /** GetContainerEvents: each event of a CRI container, with its sandbox's and containers' statuses then. */
  subscribe(send: (event: object) => void): () => void {
    return this.rt.subscribeContainerEvents((e: ContainerEvent) => {
      if (!this.isCri(e.podSandboxId)) return;
      let sandbox: object | undefined;
      let statuses: object[] = [];
      try {
        sandbox = this.sandboxWire(this.rt.podSandboxStatus(e.podSandboxId));
        statuses = this.containers({ podSandboxId: e.podSandboxId }).map((c) => this.containerWire(c));
      } catch {
        // The sandbox went meanwhile: the event still goes.
      }
      send({ containerId: e.containerId, containerEventType: e.containerEventType, createdAt: e.createdAt, ...(sandbox ? { podSandboxStatus: sandbox } : {}), containersStatuses: statuses });
    });
  }
}
