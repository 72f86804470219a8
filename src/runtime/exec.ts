// A command run inside a running container (the runtime's Exec and
// ExecSync, hooks, the CLI's exec from any peapod process): the container's
// namespaces, cgroup, identity, environment and working directory, and a
// session of its own.
import { closeSync, createReadStream } from 'node:fs';
import { Socket } from 'node:net';
import { pipe, SpawnError } from '../native/addon.js';
import { pauseBinary } from '../package.js';
import { joinCgroup } from '../plan/cgroup.js';
import { execPlan } from '../plan/exec.js';
import type { ProcessSecurity } from '../plan/security.js';
import type { ExecSyncResponse } from './api.js';
import { exitCodeOf, PlanProcess } from './process.js';

/** A running container, as much as an exec into it needs to know. */
export interface ExecTarget {
  /** The container's name. */
  name: string;
  /** Its main process, as seen from the host. */
  containerPid: number;
  env: string[];
  workingDir: string;
  /** Its cgroup.procs files: what exec starts is accounted and limited like the container. */
  cgroupProcs: readonly string[];
  /** Its identity and capabilities (never more than the container's). */
  security?: ProcessSecurity | undefined;
  /** pause, which every process of a container is started through. Default: the built one. */
  launcher?: string | undefined;
}

/** Starts `argv` in the container; throws a SpawnError naming the failed step. */
export function spawnInContainer(target: ExecTarget, label: string, argv: string[], stdio: [number, number, number], tty?: { rows: number; cols: number }): PlanProcess {
  const plan = execPlan({
    name: `${target.name} (${label})`,
    containerPid: target.containerPid,
    argv,
    env: target.env,
    workingDir: target.workingDir,
    security: target.security,
    launcher: target.launcher ?? pauseBinary,
    tty,
  });
  return PlanProcess.spawn(joinCgroup(plan, target.cgroupProcs), stdio);
}

/** A command's stdio: three pipes (the child's ends, closed once it runs; ours, copied), or none when it gets a terminal. */
export interface ExecStdio {
  stdio: [number, number, number];
  /** stdin's write end, stdout's and stderr's read ends. */
  ours: number[];
  theirs: number[];
}

export function execStdio(tty: boolean): ExecStdio {
  if (tty) return { stdio: [-1, -1, -1], ours: [], theirs: [] };
  const [inR, inW] = pipe();
  const [outR, outW] = pipe();
  const [errR, errW] = pipe();
  return { stdio: [inR, outW, errW], ours: [inW, outR, errR], theirs: [inR, outW, errW] };
}

/** The shell's convention for a command that did not start: 127 not found, 126 cannot run. */
export function startFailureCode(err: unknown): number {
  return err instanceof SpawnError && err.code === 'ENOENT' ? 127 : 126;
}

/** How long output may still arrive after the command has exited, in ExecSync (a background child may hold the pipe). */
const SYNC_DRAIN_MS = 100;
/** ExecSync keeps this much of each stream (hook messages need no more). */
const SYNC_OUTPUT_LIMIT = 16 * 1024;

/**
 * Collects a pipe's output up to a limit; `stop()` gives up on it at once.
 * Read through the event loop (a pipe handle), never a threadpool read:
 * such a read blocks until a background child that holds the pipe exits,
 * and neither stop() nor anything else of the process's fs work gets past it.
 */
function collect(fd: number, limit: number): { data: Promise<Buffer>; stop(): void } {
  const reader = new Socket({ fd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  let size = 0;
  const data = new Promise<Buffer>((resolve) => {
    reader.on('data', (chunk) => {
      const b = chunk as Buffer;
      if (size < limit) chunks.push(b.subarray(0, limit - size));
      size += b.length;
    });
    reader.on('error', () => resolve(Buffer.concat(chunks)));
    reader.on('close', () => resolve(Buffer.concat(chunks)));
  });
  return { data, stop: () => reader.destroy() };
}

/**
 * SIGKILL to the command and everything it started in its session (the
 * exec is a session and process group leader): a timed-out probe leaves no
 * child behind. While the leader is unreaped its pid cannot be reused, so
 * the group is the exec's.
 */
function killSession(proc: PlanProcess): void {
  if (!proc.running) return;
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    // The group has no member left but the leader.
  }
  proc.signal('SIGKILL');
}

/**
 * The CRI's ExecSync: the command in the container, its output collected,
 * killed at the timeout (0: none) or when `abort` fires; never thrown at:
 * a command that cannot start says why in `startError`.
 */
export async function execSyncIn(target: ExecTarget, argv: string[], timeoutSeconds: number, abort?: AbortSignal, label = 'exec', limit = SYNC_OUTPUT_LIMIT): Promise<ExecSyncResponse> {
  const [outR, outW] = pipe();
  const [errR, errW] = pipe();
  const [inR, inW] = pipe();
  closeSync(inW);
  let proc: PlanProcess;
  try {
    proc = spawnInContainer(target, label, argv, [inR, outW, errW]);
  } catch (err) {
    closeSync(outR);
    closeSync(errR);
    return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: startFailureCode(err), startError: (err as Error).message };
  } finally {
    closeSync(inR);
    closeSync(outW);
    closeSync(errW);
  }
  const out = collect(outR, limit);
  const err = collect(errR, limit);
  let timedOut = false;
  const kill = (): void => killSession(proc);
  const timer = timeoutSeconds > 0 ? setTimeout(() => ((timedOut = true), kill()), timeoutSeconds * 1000) : undefined;
  abort?.addEventListener('abort', kill, { once: true });
  const exit = await proc.exited;
  if (timer) clearTimeout(timer);
  abort?.removeEventListener('abort', kill);
  const drained = setTimeout(() => (out.stop(), err.stop()), SYNC_DRAIN_MS);
  const [stdout, stderr] = await Promise.all([out.data, err.data]);
  clearTimeout(drained);
  return {
    stdout,
    stderr,
    exitCode: exitCodeOf(exit),
    ...(timedOut ? { timedOut } : {}),
    ...(abort?.aborted ? { aborted: true } : {}),
    ...(exit.signal !== undefined ? { signal: exit.signal } : {}),
  };
}

/**
 * How long the output may stay silent after the command has exited before
 * peapod stops copying it: a background child may hold the pipe (or the
 * terminal) for ever, but output still flowing is never cut.
 */
export const DRAIN_IDLE_MS = 500;

/** A copy of output that notes when it last saw data. */
export interface OutputCopy {
  done: Promise<void>;
  lastData: number;
  stop(): void;
}

/** Copies a pipe (or a pty master) to one of our streams; `done` at its end (EOF, or EIO from a pty). */
export function copyOut(fd: number, to: NodeJS.WritableStream): OutputCopy {
  const reader = createReadStream('', { fd, autoClose: true });
  const copy: OutputCopy = {
    lastData: Date.now(),
    done: new Promise<void>((resolve) => {
      reader.on('data', (d) => {
        copy.lastData = Date.now();
        to.write(d);
      });
      reader.on('error', () => resolve());
      reader.on('close', () => resolve());
    }),
    stop: () => reader.destroy(),
  };
  return copy;
}

/** Waits, once the command has exited, for its output to end or fall silent; then stops copying. */
export async function drainOutput(copies: readonly OutputCopy[]): Promise<void> {
  let ended = false;
  const all = Promise.all(copies.map((c) => c.done)).then(() => {
    ended = true;
  });
  const exited = Date.now();
  while (!ended) {
    const quiet = Date.now() - Math.max(exited, ...copies.map((c) => c.lastData));
    if (quiet >= DRAIN_IDLE_MS) break;
    await Promise.race([all, new Promise((r) => setTimeout(r, DRAIN_IDLE_MS - quiet).unref())]);
  }
  for (const c of copies) c.stop();
}

