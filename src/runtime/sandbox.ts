// A pod sandbox of the runtime layer: pause holding the pod's namespaces,
// the pod's cgroup (and pause's below it), and what the sandbox shares with
// its containers: /dev/shm, /etc/hostname, /etc/resolv.conf. It knows
// nothing of the pod's containers beyond the cgroups they are given.
import { rmSync } from 'node:fs';
import { sandboxPlan } from '../plan/sandbox.js';
import { joinCgroup } from '../plan/cgroup.js';
import type { SpawnPlan } from '../plan/types.js';
import type { SandboxFacts } from '../plan/container.js';
import type { NamespaceOption, PodSandboxConfig, PodSandboxStatus } from './api.js';
import { nanos } from './api.js';
import { limitsOf, pauseCgroupPath, podCgroupPath } from './cgroups/layout.js';
import type { Cgroup, CgroupDriver } from './cgroups/types.js';
import { MODE, makeDir } from './modes.js';
import type { PodPaths, RuntimePaths } from './paths.js';
import { PodNetwork } from '../network/pod-network.js';
import type { NetworkOptions } from '../network/options.js';
import { mountPodShm, unmountPodDir, writeSandboxFiles } from './pod-files.js';
import { PlanProcess, type ExitSource } from './process.js';

/** pause's plan for a sandbox config, joining its cgroup first: pure, so `explain` makes exactly what the runtime makes. */
export function planSandbox(config: PodSandboxConfig, pauseBinary: string, cgroupProcs: readonly string[], detached = false): SpawnPlan {
  return joinCgroup(
    sandboxPlan({ hostname: config.hostname, pauseBinary, namespaces: config.linux.securityContext.namespaceOptions, sysctls: config.linux.sysctls, foreignPause: config.pauseBinary !== undefined, detached }),
    cgroupProcs,
  );
}

/** What a container of a sandbox is planned from: pause's pid, the hostname, the files the sandbox shares. */
export function sandboxFacts(paths: PodPaths, hostname: string, pid: number): SandboxFacts {
  return { pid, hostname, shm: paths.shm, etc: { hostname: paths.etc.hostname, resolvConf: paths.etc.resolvConf } };
}

/** The kubelet's floor for a grace period: how long a stopped pause is given before SIGKILL. */
const PAUSE_GRACE_MS = 2000;

export interface SandboxContext {
  id: string;
  config: PodSandboxConfig;
  paths: PodPaths;
  pauseBinary: string;
  /** /dev/null, read-write: pause's stdio. */
  nul: number;
  /** The pod network (CNI): where configurations and plugins are, and who hears what it says. */
  network: { options: NetworkOptions; paths: RuntimePaths; event(type: 'Normal' | 'Warning', reason: string, message: string): void };
  /** Its processes outlive this process (the node daemon's pods): see RuntimeOptions.detached. */
  detached?: boolean;
}

/** What a sandbox leaves on disk for the next runtime to adopt it. */
export interface SavedSandbox {
  config: PodSandboxConfig;
  /** ms since the epoch. */
  createdAt: number;
  pid: number;
  startTime: number;
  /** Its network attachment's id (network/records.ts), when it has one. */
  network?: string;
}

export class Sandbox {
  createdAt = new Date();
  pause!: PlanProcess;
  podCgroup: Cgroup | undefined;
  pauseCgroup: Cgroup | undefined;
  /** Set once StopPodSandbox has been asked. */
  stopped = false;
  /** Its network: CNI ADD once pause exists, DEL when it stops. */
  readonly network: PodNetwork;
  private filesRemoved = false;

  constructor(readonly ctx: SandboxContext) {
    const { metadata, linux, portMappings } = ctx.config;
    this.network = new PodNetwork({
      pod: { name: metadata.name, namespace: metadata.namespace, uid: metadata.uid, hostNetwork: linux.securityContext.namespaceOptions.network === 'NODE', portMappings },
      paths: ctx.network.paths,
      options: ctx.network.options,
      event: ctx.network.event,
      ownedByPause: ctx.detached === true,
    });
  }

  /**
   * A sandbox a runtime before this one made, from what it saved: pause
   * adopted (watched through a pidfd, its exit from `exits`), its cgroups
   * and network attachment taken over.
   */
  static adopt(ctx: SandboxContext, saved: SavedSandbox, driver: CgroupDriver | null, exits: ExitSource): Sandbox {
    const sandbox = new Sandbox(ctx);
    sandbox.createdAt = new Date(saved.createdAt);
    sandbox.pause = PlanProcess.adopt('pause', saved.pid, saved.startTime, new Date(saved.createdAt), exits);
    if (driver) {
      sandbox.podCgroup = driver.open(podCgroupPath(ctx.config));
      sandbox.pauseCgroup = driver.open(pauseCgroupPath(ctx.config));
    }
    sandbox.network.adopt(saved.network);
    return sandbox;
  }

  /** What the next runtime needs to adopt this sandbox. */
  saved(): SavedSandbox {
    const network = this.network.attachmentId;
    return {
      config: this.ctx.config,
      createdAt: this.createdAt.getTime(),
      pid: this.pause?.pid ?? 0,
      startTime: this.pause?.startTime ?? 0,
      ...(network ? { network } : {}),
    };
  }

  /** CNI ADD for pause, as it is now; throws with the plugin's message (the network is still torn down at stop). */
  async setUpNetwork(): Promise<void> {
    await this.network.setUp(this.pause.pid, this.pause.startTime);
  }

  get id(): string {
    return this.ctx.id;
  }

  get namespaces(): NamespaceOption {
    return this.ctx.config.linux.securityContext.namespaceOptions;
  }

  /** The pod's cgroup (with its limits) and pause's, before any process exists. */
  createCgroups(driver: CgroupDriver | null): void {
    if (!driver) return;
    this.podCgroup = driver.create(podCgroupPath(this.ctx.config));
    this.podCgroup.setLimits(limitsOf(this.ctx.config.linux.resources));
    this.pauseCgroup = driver.create(pauseCgroupPath(this.ctx.config));
  }

  /** The files and /dev/shm the sandbox shares with its containers. */
  createFiles(): void {
    const { paths, config } = this.ctx;
    makeDir(paths.data, MODE.podDir);
    writeSandboxFiles(paths, config.hostname, config.dnsConfig);
    mountPodShm(paths);
  }

  /** The files and /dev/shm go (the kubelet's files beside them stay): only while no other sandbox of the pod has made them again. */
  removeFiles(): void {
    if (this.filesRemoved) return;
    this.filesRemoved = true;
    const { paths } = this.ctx;
    unmountPodDir(paths.shm);
    for (const path of [paths.shm, paths.etc.hostname, paths.etc.resolvConf]) rmSync(path, { recursive: true, force: true });
  }

  /** pause, in new namespaces (or the host's, as the config says). */
  startPause(): void {
    const plan = planSandbox(this.ctx.config, this.ctx.pauseBinary, this.pauseCgroup?.procsFiles ?? [], this.ctx.detached === true);
    this.pause = PlanProcess.spawn(plan, [this.ctx.nul, this.ctx.nul, this.ctx.nul], true);
  }

  /** What a container of this sandbox is planned from. */
  facts(): SandboxFacts {
    return sandboxFacts(this.ctx.paths, this.ctx.config.hostname, this.pause.pid);
  }

  /** READY while pause runs (a dying pause is not ready: nothing may join it). */
  get ready(): boolean {
    return this.pause?.alive === true;
  }

  /**
   * pause goes: SIGTERM (it exits 0), with SIGCONT so that a stopped pause
   * takes it, and SIGKILL if it has not gone after the kubelet's minimum
   * grace period; at once with `force`. Resolves when it has exited.
   */
  async stopPause(force = false): Promise<void> {
    const pause = this.pause;
    if (!pause) return;
    if (force) {
      pause.signal('SIGKILL');
    } else {
      pause.signal('SIGTERM');
      pause.signal('SIGCONT');
      const kill = setTimeout(() => pause.signal('SIGKILL'), PAUSE_GRACE_MS);
      void pause.exited.then(() => clearTimeout(kill));
    }
    await pause.exited;
  }

  status(): PodSandboxStatus {
    const { config } = this.ctx;
    return {
      id: this.id,
      metadata: config.metadata,
      state: this.ready && !this.stopped ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
      createdAt: nanos(this.createdAt),
      network: { ip: this.network.podIPs[0] ?? '', additionalIps: this.network.podIPs.slice(1) },
      linux: { namespaces: { options: this.namespaces } },
      labels: config.labels,
      annotations: config.annotations,
      pid: this.pause?.pid ?? 0,
    };
  }
}
