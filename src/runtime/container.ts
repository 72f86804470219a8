// One container of a pod across its restarts: each run is a fresh instance
// (a new overlay upper layer, a new log file, the same namespaces and
// volumes), and what was observed of every run feeds its status.
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, rmSync } from 'node:fs';
import { pipe } from '../native/addon.js';
import type { Image } from '../image/store.js';
import { withImageUser } from '../image/config.js';
import { resolveCommand } from '../plan/command.js';
import { joinCgroup } from '../plan/cgroup.js';
import { containerPlan, TERMINATION_LOG_VOLUME, type PreparedVolume } from '../plan/container.js';
import type { Cgroup } from './cgroups/types.js';
import type { Container, PodSpec } from '../spec/types.js';
import { Backoff, type BackoffConfig } from './backoff.js';
import { ContainerLog, type LogListener, type LogRotation } from './logs.js';
import { MODE, writeFileWithMode } from './modes.js';
import { makeContainerDirs, type PodPaths } from './paths.js';
import { pidsInNamespace } from './proc.js';
import { PlanProcess, type ExitStatus } from './process.js';
import { containerStatus } from './status/container-status.js';
import type { ContainerObservation, ContainerStatus } from './status/types.js';

export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
const MESSAGE_LIMIT = 4096;
const FALLBACK_LINES = 80;
const FALLBACK_BYTES = 2048;

/** Where a container instance lives: filled by the pod for each start. */
export interface InstanceContext {
  sandboxPid: number;
  hostname: string;
  paths: PodPaths;
  volumes: ReadonlyMap<string, PreparedVolume>;
  stdin: number;
  onLog?: LogListener;
  logRotation?: LogRotation;
  /** The pod's spec: security context, host namespaces, process-namespace sharing. */
  podSpec?: PodSpec;
  /** The init that reaps in a container with its own PID namespace (pause --init). */
  initBinary?: string;
}


/**
 * The container's termination message file is a mount the runtime adds (as
 * the kubelet does): the container with that mount, and the volumes with
 * the host file behind it. Also used by `explain`, so it shows what runs.
 */
export function withTerminationLog(
  container: Container,
  volumes: ReadonlyMap<string, PreparedVolume>,
  hostFile: string,
): { container: Container; volumes: Map<string, PreparedVolume> } {
  const mountPath = container.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH;
  return {
    container: { ...container, volumeMounts: [...(container.volumeMounts ?? []), { name: TERMINATION_LOG_VOLUME, mountPath }] },
    volumes: new Map([...volumes, [TERMINATION_LOG_VOLUME, { hostPath: hostFile, kind: 'file' }]]),
  };
}

function tailOfLog(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return '';
  }
  const lines = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ').slice(3).join(' '));
  return lines.slice(-FALLBACK_LINES).join('\n').slice(-FALLBACK_BYTES);
}

export class ContainerRunner {
  readonly obs: ContainerObservation;
  readonly backoff: Backoff;
  process: PlanProcess | undefined;
  log: ContainerLog | undefined;
  /**
   * The mount namespace of the current instance: its processes are the
   * container's. An fd pins it while we may still look for its processes:
   * a freed namespace's inode number is reused at once by the kernel.
   */
  mntInode: number | null = null;
  private mntFd = -1;
  env: string[] = [];
  workingDir = '/';
  /** A postStart or preStop hook is running. */
  busy = false;
  private hookAbort: AbortController | undefined;
  /** The main process has exited; its output is still being read. */
  draining = false;
  /** When a scheduled restart is due (ms since epoch), and its timer. */
  restartAt: number | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  /** Succeeded in the current sandbox (init containers run again in a new one). */
  succeededHere = false;
  /** The container's cgroup, when the host has cgroups: limits, OOM events, kill. */
  cgroup: Cgroup | undefined;
  private oomKillsAtStart = 0;
  private instances = 0;

  /** The image it runs: set before each start (issue 13: pulled as its imagePullPolicy says, image/ensure.ts). */
  image: Image | undefined;
  /** The container as it runs: the manifest's, with the image's User applied (withImageUser). */
  spec: Container;

  constructor(
    readonly manifest: Container,
    readonly isInit: boolean,
    backoff: BackoffConfig,
  ) {
    this.spec = manifest;
    this.backoff = new Backoff(backoff);
    this.obs = { name: manifest.name, image: manifest.image, imageID: '', restartCount: 0, started: false };
  }

  /** The image the next instance runs (its User becomes runAsUser unless the pod sets one). */
  setImage(image: Image, podSpec: PodSpec | undefined): void {
    this.spec = withImageUser(this.manifest, podSpec, image);
    this.image = image;
    this.obs.imageID = image.id;
  }

  /** The image of a container that has started (hooks, exec, stop signal). */
  get runningImage(): Image {
    if (!this.image) throw new Error(`container "${this.spec.name}" has no image yet`);
    return this.image;
  }

  get fieldPath(): string {
    return `spec.${this.isInit ? 'initContainers' : 'containers'}{${this.spec.name}}`;
  }

  get running(): boolean {
    return this.process?.running === true || this.draining;
  }

  /** Ran, and its last instance has ended. */
  get exited(): boolean {
    return this.obs.current?.finishedAt !== undefined && !this.running;
  }

  get lastExitCode(): number | undefined {
    return this.obs.current?.exitCode;
  }

  status(): ContainerStatus {
    return containerStatus(this.obs);
  }

  get terminationMessagePath(): string {
    return this.spec.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH;
  }

  /**
   * Starts a new instance. Throws (with the failed step) if the process
   * cannot be made; the caller decides whether that rolls back the pod.
   */
  startInstance(ctx: InstanceContext): PlanProcess {
    const dirs = ctx.paths.container(this.spec.name);
    // A fresh upper layer: a restarted container starts from its image again.
    rmSync(dirs.upper, { recursive: true, force: true });
    rmSync(dirs.work, { recursive: true, force: true });
    const image = this.runningImage;
    makeContainerDirs(dirs, image.rootfs);
    // Any uid the container runs as may write its termination message (the kubelet does the same).
    writeFileWithMode(dirs.terminationLog, '', MODE.terminationLog);

    const { container: spec, volumes } = withTerminationLog(this.spec, ctx.volumes, dirs.terminationLog);

    const command = resolveCommand(image.config, this.spec, ctx.hostname);
    this.env = command.env;
    this.workingDir = command.workingDir;
    const plan = containerPlan({
      container: spec,
      image,
      hostname: ctx.hostname,
      sandboxPid: ctx.sandboxPid,
      dirs,
      pod: { shm: ctx.paths.shm, hosts: ctx.paths.etc.hosts, hostname: ctx.paths.etc.hostname, resolvConf: ctx.paths.etc.resolvConf },
      volumes,
      // The image's root as its layers make it (issue 13: image/layered-fs.ts).
      fs: image.fs,
      podSpec: ctx.podSpec,
      initBinary: ctx.initBinary,
    });
    const restartCount = this.instances === 0 ? 0 : this.obs.restartCount + 1;
    this.oomKillsAtStart = this.cgroup?.oomKills() ?? 0;
    const [outR, outW] = pipe();
    const [errR, errW] = pipe();
    let proc: PlanProcess;
    try {
      proc = PlanProcess.spawn(joinCgroup(plan, this.cgroup?.procsFiles ?? []), [ctx.stdin, outW, errW]);
    } catch (err) {
      closeSync(outR);
      closeSync(errR);
      throw err;
    } finally {
      // Only the child may hold the write ends, or the logs never see EOF.
      closeSync(outW);
      closeSync(errW);
    }
    this.instances++;
    this.obs.restartCount = restartCount;
    this.log = new ContainerLog(this.spec.name, ctx.paths.log(this.spec.name, restartCount), ctx.onLog, ctx.logRotation);
    this.log.attach(outR, 'stdout');
    this.log.attach(errR, 'stderr');
    this.process = proc;
    this.pinNamespace(proc.pid);
    if (this.obs.current) this.obs.previous = this.obs.current;
    this.obs.current = { id: `peapod://${randomBytes(16).toString('hex')}`, startedAt: proc.startedAt.toISOString() };
    delete this.obs.waiting;
    this.obs.started = false;
    this.succeededHere = false;
    this.restartAt = undefined;
    return proc;
  }

  /**
   * A start that failed before the program ran counts as a run that ended at
   * once, so the restart policy and back-off apply. As the kubelet reports
   * it: exec failing is a terminated StartError (exit 128); anything before
   * it (a mount, a namespace, the identity) leaves the container waiting in
   * CreateContainerError.
   */
  recordStartError(message: string, beforeExec: boolean): void {
    const now = new Date().toISOString();
    if (this.obs.current) this.obs.previous = this.obs.current;
    if (this.instances > 0) this.obs.restartCount++;
    this.instances++;
    this.obs.current = { id: '', startedAt: now, finishedAt: now, exitCode: 128, reason: 'StartError', message };
    if (beforeExec) this.obs.waiting = { reason: 'CreateContainerError', message };
    else delete this.obs.waiting;
    this.obs.started = false;
    this.restartAt = undefined;
  }

  /** Records the end of the current instance, with its termination message. */
  recordExit(exit: ExitStatus, podPaths: PodPaths): void {
    const cur = this.obs.current;
    if (!cur) return;
    cur.finishedAt = (this.process?.finishedAt ?? new Date()).toISOString();
    if (exit.signal !== undefined) {
      cur.signal = exit.signal;
      cur.exitCode = 128 + exit.signal;
      // The cgroup's own count says whether the kernel's OOM killer did it.
      if (exit.signal === 9 && (this.cgroup?.oomKills() ?? 0) > this.oomKillsAtStart) cur.reason = 'OOMKilled';
    } else {
      cur.exitCode = exit.code;
    }
    const message = this.terminationMessage(podPaths, cur.exitCode);
    if (message) cur.message = message;
    this.obs.started = false;
    if (this.isInit && cur.exitCode === 0) this.succeededHere = true;
  }

  private terminationMessage(podPaths: PodPaths, exitCode: number): string {
    let message = '';
    try {
      message = readFileSync(podPaths.container(this.spec.name).terminationLog, 'utf8').slice(0, MESSAGE_LIMIT);
    } catch {
      // No file: no message.
    }
    if (message === '' && exitCode !== 0 && this.spec.terminationMessagePolicy === 'FallbackToLogsOnError') {
      message = tailOfLog(podPaths.log(this.spec.name, this.obs.restartCount));
    }
    return message;
  }

  /**
   * SIGKILL to the main process and to every process of the container:
   * through its cgroup (nothing escapes, not even a process that left the
   * pod's PID tree), else every process in its mount namespace.
   */
  async kill(): Promise<void> {
    this.abortHooks();
    this.process?.signal('SIGKILL');
    if (this.cgroup) {
      try {
        await this.cgroup.killAll();
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

  /** The signal that ends a hook of this container early (when it is killed). */
  hookSignal(): AbortSignal {
    this.hookAbort = new AbortController();
    return this.hookAbort.signal;
  }

  abortHooks(): void {
    this.hookAbort?.abort();
    this.hookAbort = undefined;
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

  /** Once the instance is over and its leftovers killed, the namespace may go. */
  releaseNamespace(): void {
    if (this.mntFd >= 0) closeSync(this.mntFd);
    this.mntFd = -1;
    this.mntInode = null;
  }

  clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.killTimer) clearTimeout(this.killTimer);
    this.restartTimer = undefined;
    this.killTimer = undefined;
  }
}
