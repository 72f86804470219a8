// One container of the runtime layer, as containerd keeps one: made from a
// ContainerConfig (created), its process started (running), ended with
// whatever it left (exited), removed. It knows nothing of restart policies
// or hooks: a new attempt is a new container, made by the kubelet's half.
import { close, closeSync, fstatSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { ImageUserError, resolveImageUser } from '../image/config.js';
import type { OverlayImage } from '../image/lowerdir.js';
import type { Image } from '../image/store.js';
import { pipe } from '../native/addon.js';
import { joinCgroup } from '../plan/cgroup.js';
import { containerPlan, PlanError, type SandboxFacts } from '../plan/container.js';
import { resolveSecurity, SecurityError, type ProcessSecurity } from '../plan/security.js';
import { resolveCommand } from '../plan/command.js';
import type { FsView } from '../plan/scoped-path.js';
import type { SpawnPlan } from '../plan/types.js';
import type { ContainerConfig, ContainerState, ContainerStatus, LinuxContainerSecurityContext } from './api.js';
import { nanos } from './api.js';
import { lastOomVictim } from './cgroups/oom-log.js';
import type { Cgroup, OomWatch } from './cgroups/types.js';
import { ContainerLog, type LogListener, type LogRotation } from './logs.js';
import { discard } from './discard.js';
import { makeContainerDirs, type ContainerDirs } from './paths.js';
import { ensureMountPointLayer, etcMountPoints, mountPointLayerDir } from './mount-point-layer.js';
import { pidsInNamespace } from './proc.js';
import { PlanProcess, type ExitSource, type ExitStatus } from './process.js';
import { openStdio, removeFifos, reopenFifos, type StdioFifos } from './stdio.js';

/** One Attach to a running container. */
export interface ContainerAttachment {
  /** Whether the container reads what is written (it was made with stdin). */
  stdin: boolean;
  /** Its stdin closes when this attach's does (stdinOnce). */
  stdinOnce: boolean;
  write(data: Buffer): void;
  /** The client closed its stdin. */
  end(): void;
  detach(): void;
}

export interface ContainerContext {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  image: Image;
  sandbox: SandboxFacts;
  /** Where its root is assembled on the host. */
  dirs: ContainerDirs;
  /** The sandbox's logDirectory + the config's logPath. */
  logPath: string;
  cgroup: Cgroup | undefined;
  launcher: string;
  onLog?: LogListener | undefined;
  logRotation?: LogRotation | undefined;
  /**
   * The kernel's OOM killer ends all of the container when it ends one of
   * its processes (the kubelet's default since 1.28, memory.oom.group), or
   * only that process (its singleProcessOOMKill).
   */
  groupOomKill?: boolean | undefined;
  /** What the runtime has to say of the container (OOMKilling), for the pod's events. */
  onEvent?: ((type: 'Normal' | 'Warning', reason: string, message: string) => void) | undefined;
  /** Its processes outlive this process (the node daemon's pods): see RuntimeOptions.detached. */
  detached?: boolean | undefined;
  /** The state root, where the mount-point layers its root may use are kept (runtime/mount-point-layer.ts); none without it. */
  stateRoot?: string | undefined;
}

/** What a container leaves on disk for the next runtime to adopt it. */
export interface SavedContainer {
  id: string;
  config: ContainerConfig;
  /** ms since the epoch. */
  createdAt: number;
  startedAt?: number;
  pid: number;
  startTime: number;
  logPath: string;
  fifos?: StdioFifos;
  /** The cgroup's OOM kills when it started (an OOMKilled exit is one more). */
  oomKillsAtStart: number;
  /** How it ended, when it had before the runtime went. */
  exit?: ExitStatus;
  finishedAt?: number;
  reason?: string;
  message?: string;
  env: string[];
  workingDir: string;
  security: ProcessSecurity;
}

/**
 * The image's USER when the request names no user, as containerd's CRI
 * applies it: the uid (names looked up in the image's /etc/passwd), and its
 * group when the USER names one and the request does not.
 */
function withImageUser(sc: LinuxContainerSecurityContext, image: Pick<Image, 'ref' | 'rootfs' | 'config'>, fs: FsView): LinuxContainerSecurityContext {
  const user = image.config.user;
  if (!user || sc.runAsUser !== undefined) return sc;
  const { uid, gid } = resolveImageUser(user, image.rootfs, fs, image.ref);
  const runAsGroup = sc.runAsGroup ?? gid;
  return { ...sc, runAsUser: uid, ...(runAsGroup !== undefined ? { runAsGroup } : {}) };
}

/** What a container's process is made of, decided once at create: exec and hooks read it, never re-resolve. */
export interface ContainerProcessSpec {
  plan: SpawnPlan;
  env: string[];
  workingDir: string;
  security: ProcessSecurity;
  /** The mount-point layer its root is mounted with, to be made before it is spawned (runtime/mount-point-layer.ts). */
  mountPoints?: string;
}

/**
 * The plan of a container's process, and what exec and hooks will reuse of
 * it: pure (the host is only read through `fs`), so `explain` makes exactly
 * what the runtime makes.
 */
export function planContainer(inputs: {
  config: ContainerConfig;
  image: Pick<Image, 'ref' | 'rootfs' | 'config'> & OverlayImage;
  sandbox: SandboxFacts;
  dirs: ContainerDirs | { rootfs: string; upper: string; work: string };
  fs: FsView;
  launcher: string;
  /** The cgroup.procs files it joins first (none without cgroups). */
  cgroupProcs: readonly string[];
  /** It outlives the process that starts it (the node daemon's pods). */
  detached?: boolean | undefined;
  /** The state root, where the mount-point layers are kept; without it the mount points are made in the container's root. */
  stateRoot?: string | undefined;
}): ContainerProcessSpec {
  const { config, sandbox, fs } = inputs;
  const mountPoints = inputs.stateRoot ? mountPointLayerDir(inputs.stateRoot, inputs.image.rootfs, fs, etcMountPoints(config)) : null;
  // (What a plan reads of the image, not a spread: an image's names are read from the store when asked for.)
  const { ref, rootfs, config: imageConfig, layers, links } = inputs.image;
  const image = mountPoints ? { ref, rootfs, config: imageConfig, layers, links, mountPoints } : inputs.image;
  const command = resolveCommand(image.config, { ...config, name: config.metadata.name }, sandbox.hostname);
  let security: ProcessSecurity;
  try {
    const sc = withImageUser(config.linux.securityContext, image, fs);
    security = resolveSecurity({ sc, rootfs: image.rootfs, fs, where: `container "${config.metadata.name}"` });
  } catch (err) {
    throw err instanceof SecurityError || err instanceof ImageUserError ? new PlanError(err.message) : err;
  }
  const plan = joinCgroup(containerPlan({ config, image, sandbox, dirs: inputs.dirs, fs, launcher: inputs.launcher, security, detached: inputs.detached }), inputs.cgroupProcs);
  return { plan, env: command.env, workingDir: command.workingDir, security, ...(mountPoints ? { mountPoints } : {}) };
}

export class Container {
  createdAt = new Date();
  state: ContainerState = 'CONTAINER_CREATED';
  process: PlanProcess | undefined;
  log: ContainerLog | undefined;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  exit: ExitStatus | undefined;
  reason = '';
  message = '';
  readonly spec: ContainerProcessSpec;
  /** Resolves once the container has exited: its leftovers killed and its output read to the end. */
  readonly exited: Promise<ContainerStatus>;
  private resolveExited!: (s: ContainerStatus) => void;
  /**
   * The mount namespace of its process: an fd pins it while its processes
   * may still be looked for (a freed namespace's inode is reused at once).
   */
  private mntFd = -1;
  mntInode: number | null = null;
  private oomKillsAtStart = 0;
  /** The write end of its stdin, for Attach (config.stdin). */
  private stdin: Socket | undefined;
  /** OOM kills already reported by an event. */
  private oomKillsReported = 0;
  /** The whole container was killed because the OOM killer ended one of its processes. */
  private oomGroupKilled = false;
  private oomWatch: OomWatch | undefined;

  /** Its named pipes (detached), and the count of OOM kills its cgroup had when it started. */
  private fifos: StdioFifos | undefined;

  constructor(
    readonly ctx: ContainerContext,
    /** Adopted: what exec needs, as it was resolved when it was made (nothing is made again). */
    adopted?: Pick<ContainerProcessSpec, 'env' | 'workingDir' | 'security'>,
  ) {
    const { config, image, sandbox } = ctx;
    if (adopted) {
      // Never started here: a plan that is never run.
      this.spec = { ...adopted, plan: { name: config.metadata.name, newNamespaces: [], keepSignalsBlocked: false, steps: [] } };
    } else {
      // A fresh upper layer: every container starts from its image.
      rmSync(ctx.dirs.upper, { recursive: true, force: true });
      rmSync(ctx.dirs.work, { recursive: true, force: true });
      makeContainerDirs(ctx.dirs, image.rootfs);
      this.spec = planContainer({ config, image, sandbox, dirs: ctx.dirs, fs: image.fs, launcher: ctx.launcher, cgroupProcs: ctx.cgroup?.procsFiles ?? [], detached: ctx.detached, stateRoot: ctx.stateRoot });
      if (this.spec.mountPoints) ensureMountPointLayer(this.spec.mountPoints);
    }
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    // v2: the kernel ends the whole container itself (false where there is no such switch: v1 watches instead).
    ctx.cgroup?.setOomGroup?.(ctx.groupOomKill ?? true);
  }

  /**
   * A container a runtime before this one made and started, from what it
   * saved: its process adopted (its exit from `exits` when it ended while
   * no runtime watched), its output read on from its named pipes, its log
   * file appended to.
   */
  static adopt(ctx: ContainerContext, saved: SavedContainer, exits: ExitSource): Container {
    const c = new Container(ctx, { env: saved.env, workingDir: saved.workingDir, security: saved.security });
    c.createdAt = new Date(saved.createdAt);
    c.oomKillsAtStart = saved.oomKillsAtStart;
    c.fifos = saved.fifos;
    if (saved.startedAt === undefined) return c;
    c.startedAt = new Date(saved.startedAt);
    if (saved.exit) {
      // Ended, and seen to end, before: as it was.
      c.state = 'CONTAINER_EXITED';
      c.exit = saved.exit;
      c.finishedAt = new Date(saved.finishedAt ?? saved.startedAt);
      c.reason = saved.reason ?? '';
      c.message = saved.message ?? '';
      c.resolveExited(c.status());
      return c;
    }
    const proc = PlanProcess.adopt(c.name, saved.pid, saved.startTime, c.startedAt, exits);
    c.process = proc;
    c.state = 'CONTAINER_RUNNING';
    c.log = new ContainerLog(c.name, ctx.logPath, ctx.onLog, ctx.logRotation);
    const readers = saved.fifos ? reopenFifos(saved.fifos) : undefined;
    if (readers) {
      c.log.attach(readers.stdout, 'stdout');
      c.log.attach(readers.stderr, 'stderr');
    } else {
      c.log.close();
    }
    if (proc.running && proc.pid > 0) c.pinNamespace(proc.pid);
    void proc.exited.then((exit) => c.onExit(exit));
    return c;
  }

  /** What the next runtime needs to adopt this container (its process must have been started). */
  saved(): SavedContainer {
    return {
      id: this.id,
      config: this.ctx.config,
      createdAt: this.createdAt.getTime(),
      ...(this.startedAt ? { startedAt: this.startedAt.getTime() } : {}),
      pid: this.process?.pid ?? 0,
      startTime: this.process?.startTime ?? 0,
      logPath: this.ctx.logPath,
      ...(this.fifos ? { fifos: this.fifos } : {}),
      oomKillsAtStart: this.oomKillsAtStart,
      ...(this.state === 'CONTAINER_EXITED' && this.exit ? { exit: this.exit, finishedAt: (this.finishedAt ?? new Date()).getTime(), reason: this.reason, message: this.message } : {}),
      env: this.spec.env,
      workingDir: this.spec.workingDir,
      security: this.spec.security,
    };
  }

  get id(): string {
    return this.ctx.id;
  }

  get name(): string {
    return this.ctx.config.metadata.name;
  }

  get running(): boolean {
    return this.state === 'CONTAINER_RUNNING';
  }

  /** Spawns its process; throws a SpawnError naming the step that failed (the container is then exited, never started). */
  start(nul: number): PlanProcess {
    if (this.state !== 'CONTAINER_CREATED') throw new Error(`container ${this.id} is ${this.state}, not created`);
    if (this.ctx.cgroup?.frozen?.()) throw new Error(`container ${this.name}: its cgroup is frozen (a kill is under way); not started into it`);
    this.oomKillsAtStart = this.ctx.cgroup?.oomKills() ?? 0;
    this.oomKillsReported = this.oomKillsAtStart;
    const stdio = openStdio(this.ctx.detached === true, this.ctx.dirs.run, this.id);
    // A container asked to keep stdin open reads a pipe that Attach writes to; else /dev/null.
    const [inR, inW] = this.ctx.config.stdin ? pipe() : [nul, -1];
    let proc: PlanProcess;
    try {
      proc = PlanProcess.spawn(this.spec.plan, [inR, stdio.out, stdio.err], true);
    } catch (err) {
      closeSync(stdio.readers.stdout);
      closeSync(stdio.readers.stderr);
      removeFifos(stdio.fifos);
      if (inW >= 0) closeSync(inW);
      this.state = 'CONTAINER_EXITED';
      this.finishedAt = new Date();
      this.reason = 'ContainerCannotRun';
      this.message = (err as Error).message;
      this.resolveExited(this.status());
      throw err;
    } finally {
      // Only the child may hold the write ends, or the log never sees EOF.
      closeSync(stdio.out);
      closeSync(stdio.err);
      if (inW >= 0) closeSync(inR);
    }
    if (inW >= 0) {
      this.stdin = new Socket({ fd: inW, readable: false, writable: true });
      this.stdin.on('error', () => this.stdin?.destroy());
    }
    this.fifos = stdio.fifos;
    this.log = new ContainerLog(this.name, this.ctx.logPath, this.ctx.onLog, this.ctx.logRotation);
    this.log.attach(stdio.readers.stdout, 'stdout');
    this.log.attach(stdio.readers.stderr, 'stderr');
    this.process = proc;
    this.startedAt = proc.startedAt;
    this.state = 'CONTAINER_RUNNING';
    this.pinNamespace(proc.pid);
    this.watchOom();
    void proc.exited.then((exit) => this.onExit(exit));
    return proc;
  }

  /** v1, with a memory limit: the OOM notification, to end all of the container at once (or say which process died). */
  private watchOom(): void {
    const cgroup = this.ctx.cgroup;
    if (!cgroup?.watchOom || this.ctx.config.linux.resources.memoryLimitInBytes === undefined) return;
    const group = this.ctx.groupOomKill ?? true;
    this.oomWatch = cgroup.watchOom(group, () => {
      if (group && this.running) this.oomGroupKilled = true;
      this.reportOom();
    });
  }

  /** An OOMKilling event naming the process the kernel chose (from its log), once per kill counted. */
  private reportOom(): void {
    const cgroup = this.ctx.cgroup;
    let kills = 0;
    try {
      kills = cgroup?.oomKills() ?? 0;
    } catch {
      return;
    }
    if (!cgroup || kills <= this.oomKillsReported) return;
    this.oomKillsReported = kills;
    const victim = lastOomVictim(cgroup.path);
    const who = victim ? `process ${victim.pid} (${victim.comm})` : 'a process (the kernel log did not say which)';
    const rest = this.oomGroupKilled || (this.ctx.groupOomKill ?? true) ? ', and with it the rest of the container' : '';
    this.ctx.onEvent?.('Warning', 'OOMKilling', `Memory cgroup out of memory: killed ${who} of container ${this.name}${rest}`);
  }

  /**
   * Its main process has ended: whatever it left in the container goes with
   * it, its output is read to the end, and then it is exited (with OOMKilled
   * when the cgroup's own count says the kernel's OOM killer did it).
   */
  private async onExit(exit: ExitStatus): Promise<void> {
    try {
      await this.kill();
      await this.log?.done;
      await this.kill();
    } finally {
      this.stdin?.destroy();
      // An OOM being handled (its freeze, its kill) ends before the container is exited: a next attempt must not join a frozen cgroup.
      await this.oomWatch?.stop();
      this.oomWatch = undefined;
      this.releaseNamespace();
      this.exit = exit;
      this.finishedAt = this.process?.finishedAt ?? new Date();
      // Killed by the kernel (v2's group kill included), or by the runtime for it (v1's group kill).
      const oom = this.oomGroupKilled || (exit.signal === 9 && (this.ctx.cgroup?.oomKills() ?? 0) > this.oomKillsAtStart);
      // A kill no watch reported (v2, or v1 without event_control): said now.
      if (oom) this.reportOom();
      this.reason = oom ? 'OOMKilled' : exit.code === 0 ? 'Completed' : 'Error';
      if (this.process?.exitUnknown) {
        // Adopted, and it ended while no runtime watched it and no reaper recorded it: the kubelet's words.
        this.reason = 'ContainerStatusUnknown';
        this.message = 'The container could not be located when the pod was terminated';
      }
      removeFifos(this.fifos);
      this.state = 'CONTAINER_EXITED';
      this.resolveExited(this.status());
    }
  }

  /**
   * The CRI's Attach: the output of its main process as it comes, and its
   * stdin (when the container was made with stdin). `end()` closes that
   * stdin for good when the container was made with stdinOnce.
   */
  attach(output: (stream: 'stdout' | 'stderr', data: string) => void): ContainerAttachment {
    const log = this.log;
    if (!this.running || !log) throw new Error(`container ${this.id} is not running; only a running container can be attached to`);
    log.taps.add(output);
    const stdin = this.stdin;
    return {
      stdin: stdin !== undefined,
      stdinOnce: this.ctx.config.stdinOnce === true,
      write: (data) => void stdin?.write(data),
      end: () => {
        if (this.ctx.config.stdinOnce) stdin?.end();
      },
      detach: () => void log.taps.delete(output),
    };
  }

  /** A signal to its main process; false once it has exited. */
  signal(sig: NodeJS.Signals): boolean {
    return this.process?.signal(sig) ?? false;
  }

  /**
   * SIGKILL to the main process and to every process of the container:
   * through its cgroup (nothing escapes, not even a process that left the
   * pod's PID tree), else every process in its mount namespace.
   */
  async kill(): Promise<void> {
    this.process?.signal('SIGKILL');
    const cgroup = this.ctx.cgroup;
    if (cgroup) {
      try {
        await cgroup.killAll();
      } catch {
        // The cgroup went away meanwhile (teardown): nothing left in it to kill.
      }
      return;
    }
    if (this.mntInode === null) return;
    for (const pid of pidsInNamespace('mnt', this.mntInode)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
  }

  /**
   * The CRI's StopContainer: its stop signal (the image's StopSignal, else
   * SIGTERM), then, if it has not exited `timeoutSeconds` later, SIGKILL
   * to all of it. Resolves once it has exited.
   */
  async stop(timeoutSeconds: number): Promise<void> {
    if (this.state !== 'CONTAINER_RUNNING') return;
    if (timeoutSeconds <= 0) {
      await this.kill();
    } else {
      this.signal((this.ctx.image.config.stopSignal ?? 'SIGTERM') as NodeJS.Signals);
      const timer = setTimeout(() => void this.kill(), timeoutSeconds * 1000);
      void this.exited.then(() => clearTimeout(timer));
    }
    await this.exited;
  }

  private pinNamespace(pid: number): void {
    this.releaseNamespace();
    try {
      this.mntFd = openSync(`/proc/${pid}/ns/mnt`, 'r');
      this.mntInode = fstatSync(this.mntFd).ino;
    } catch {
      // Already gone: nothing of it to find later either.
      this.mntInode = null;
    }
  }

  /**
   * Once it is over and its leftovers killed, the namespace may go. The
   * last reference's close unmounts all of it (a millisecond or more a
   * container): on libuv's threads, off the exit's path.
   */
  releaseNamespace(): void {
    if (this.mntFd >= 0) close(this.mntFd, () => undefined);
    this.mntFd = -1;
    this.mntInode = null;
  }

  /** Its directories (the writable layer) go, renamed into `trash` and removed in the background; the log stays (the kubelet prunes logs). */
  remove(trash?: string): void {
    this.releaseNamespace();
    removeFifos(this.fifos);
    void discard(this.ctx.dirs.upper, trash);
    void discard(this.ctx.dirs.work, trash);
  }

  status(): ContainerStatus {
    const exit = this.exit;
    return {
      id: this.id,
      metadata: this.ctx.config.metadata,
      state: this.state,
      createdAt: nanos(this.createdAt),
      startedAt: nanos(this.startedAt),
      finishedAt: nanos(this.finishedAt),
      exitCode: exit ? (exit.signal !== undefined ? 128 + exit.signal : exit.code) : this.state === 'CONTAINER_EXITED' ? 128 : 0,
      image: this.ctx.config.image,
      imageRef: this.ctx.image.id,
      reason: this.reason,
      message: this.message,
      labels: this.ctx.config.labels,
      annotations: this.ctx.config.annotations,
      mounts: this.ctx.config.mounts,
      logPath: this.ctx.logPath,
      pid: this.process?.pid ?? 0,
      ...(exit?.signal !== undefined ? { signal: exit.signal } : {}),
    };
  }
}

/** The sandbox's logDirectory joined with a container's logPath. */
export function containerLogPath(logDirectory: string, logPath: string): string {
  return join(logDirectory, logPath);
}
