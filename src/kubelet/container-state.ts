// What the kubelet's half keeps of one container of a pod across its
// attempts: the runtime container of the current attempt (by id), what was
// observed of every attempt (its status is computed from that), the
// crash-loop back-off, and the timers and hooks in flight.
import { readFileSync } from 'node:fs';
import type { Image } from '../image/store.js';
import type { ContainerStatus as RuntimeContainerStatus } from '../runtime/api.js';
import type { PodPaths } from '../runtime/paths.js';
import type { Container } from '../manifest/types.js';
import { Backoff, type BackoffConfig } from './backoff.js';
import type { ContainerCheckpoint } from './checkpoint.js';
import type { ContainerProber } from './prober/container-prober.js';
import { containerStatus } from './status/container-status.js';
import type { ContainerObservation, ContainerStatus } from './status/types.js';

const MESSAGE_LIMIT = 4096;
const FALLBACK_LINES = 80;
const FALLBACK_BYTES = 2048;

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

export class ContainerState {
  readonly obs: ContainerObservation;
  readonly backoff: Backoff;
  /** The runtime container of the current attempt. */
  id: string | undefined;
  /** The current attempt's main process, as the host sees it (for tools and tests). */
  pid = 0;
  /** Its process runs, or its exit is not yet in (leftovers being killed, output read). */
  running = false;
  /** A postStart or preStop hook is running. */
  busy = false;
  private hookAbort: AbortController | undefined;
  /** When a scheduled restart is due (ms since epoch), and its timer. */
  restartAt: number | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  /** Succeeded in the current sandbox (init containers run again in a new one). */
  succeededHere = false;
  /** Attempts made (the next one's number). */
  attempts = 0;
  /** Its probes (app containers that have any). */
  prober: ContainerProber | undefined;
  /** Its liveness or startup probe failed past its threshold (the current attempt). */
  unhealthy: 'liveness' | 'startup' | undefined;
  /** Being killed for that (its grace period under way). */
  killing = false;
  /** Its last attempt was killed for a failed probe (restarted unless the policy is Never). */
  killedForProbe = false;
  /** When its SIGKILL is due (ms since epoch), while a grace period runs. */
  killAt: number | undefined;

  /** The image of the next attempt (and of the current one): set once the image manager has it. */
  image: Image | undefined;

  constructor(
    readonly spec: Container,
    readonly isInit: boolean,
    backoff: BackoffConfig,
  ) {
    this.backoff = new Backoff(backoff);
    this.obs = { name: spec.name, image: spec.image, imageID: '', restartCount: 0, started: false };
  }

  /** The image the next attempt runs; status.imageID names it as the kubelet does (by repo digest when it has one). */
  setImage(image: Image): void {
    this.image = image;
    this.obs.imageID = image.repoDigests[0] ?? image.id;
  }

  get name(): string {
    return this.spec.name;
  }

  get fieldPath(): string {
    return `spec.${this.isInit ? 'initContainers' : 'containers'}{${this.spec.name}}`;
  }

  /** Ran, and its last attempt has ended. */
  get exited(): boolean {
    return this.obs.current?.finishedAt !== undefined && !this.running;
  }

  get lastExitCode(): number | undefined {
    return this.obs.current?.exitCode;
  }

  status(): ContainerStatus {
    return containerStatus(this.obs);
  }

  checkpoint(): ContainerCheckpoint {
    return {
      ...(this.id !== undefined ? { id: this.id } : {}),
      attempts: this.attempts,
      obs: this.obs,
      ...(this.restartAt !== undefined ? { restartAt: this.restartAt } : {}),
      backoffRestarts: this.backoff.restartCount,
      succeededHere: this.succeededHere,
      running: this.running,
    };
  }

  /** Where a daemon before this one left it. */
  restore(cp: ContainerCheckpoint): void {
    Object.assign(this.obs, cp.obs);
    this.id = cp.id;
    this.attempts = cp.attempts;
    this.restartAt = cp.restartAt;
    this.backoff.restore(cp.backoffRestarts);
    this.succeededHere = cp.succeededHere;
    this.running = cp.running;
  }

  /** A new attempt was started in the runtime. */
  recordStart(id: string, pid: number, startedAt: Date): void {
    const restartCount = this.attempts === 0 ? 0 : this.obs.restartCount + 1;
    this.attempts++;
    this.obs.restartCount = restartCount;
    this.id = id;
    this.pid = pid;
    this.running = true;
    if (this.obs.current) this.obs.previous = this.obs.current;
    this.obs.current = { id: `peapod://${id}`, startedAt: startedAt.toISOString() };
    delete this.obs.waiting;
    this.obs.started = false;
    this.succeededHere = false;
    this.restartAt = undefined;
    this.resetProbes();
  }

  /** A new attempt: its probes start from their initial values (not started, not ready, alive). */
  private resetProbes(): void {
    this.unhealthy = undefined;
    this.killing = false;
    this.killedForProbe = false;
    const has = (kind: 'startup' | 'readiness'): boolean => this.prober?.has(kind) ?? false;
    if (has('startup')) this.obs.startupPassed = false;
    else delete this.obs.startupPassed;
    if (has('readiness')) this.obs.readinessPassed = false;
    else delete this.obs.readinessPassed;
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
    if (this.attempts > 0) this.obs.restartCount++;
    this.attempts++;
    this.obs.current = { id: '', startedAt: now, finishedAt: now, exitCode: 128, reason: 'StartError', message };
    if (beforeExec) this.obs.waiting = { reason: 'CreateContainerError', message };
    else delete this.obs.waiting;
    this.obs.started = false;
    this.restartAt = undefined;
  }

  /** The end of the current attempt, as the runtime reports it, with its termination message. */
  recordExit(status: RuntimeContainerStatus, paths: PodPaths): void {
    this.running = false;
    this.prober?.stop();
    this.killing = false;
    const cur = this.obs.current;
    if (!cur) return;
    cur.finishedAt = new Date(status.finishedAt / 1e6).toISOString();
    cur.exitCode = status.exitCode;
    if (status.signal !== undefined) cur.signal = status.signal;
    if (status.reason === 'OOMKilled') cur.reason = 'OOMKilled';
    const message = this.terminationMessage(paths, status.logPath, cur.exitCode);
    if (message) cur.message = message;
    // Ended while nobody could see how (an adopted container whose reaper died too): said as the kubelet says it.
    if (status.reason === 'ContainerStatusUnknown') {
      cur.reason = status.reason;
      cur.message = message || status.message;
    }
    this.obs.started = false;
    if (this.isInit && cur.exitCode === 0) this.succeededHere = true;
  }

  private terminationMessage(paths: PodPaths, logPath: string, exitCode: number): string {
    let message = '';
    try {
      message = readFileSync(paths.container(this.spec.name).terminationLog, 'utf8').slice(0, MESSAGE_LIMIT);
    } catch {
      // No file: no message.
    }
    if (message === '' && exitCode !== 0 && this.spec.terminationMessagePolicy === 'FallbackToLogsOnError') {
      message = tailOfLog(logPath);
    }
    return message;
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

  clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.killTimer) clearTimeout(this.killTimer);
    this.restartTimer = undefined;
    this.killTimer = undefined;
    this.killAt = undefined;
    this.prober?.stop();
  }
}
