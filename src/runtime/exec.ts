// A command run inside a running container: hooks, the library's exec and
// the CLI's (from any peapod process). The container's namespaces, cgroup,
// identity, environment and working directory, and a session of its own.
// The CLI's exec never lends the container its own descriptors: the command
// gets pipes (or a pty of its container with -t) that peapod copies.
import { closeSync, createReadStream, writeSync } from 'node:fs';
import { pauseBinary, pipe, setWinsize, SpawnError } from '../native/addon.js';
import { joinCgroup } from '../plan/cgroup.js';
import { execPlan } from '../plan/exec.js';
import { resolveSecurity, type ProcessSecurity } from '../plan/security.js';
import { findLocalImage } from '../image/store.js';
import { withImageUser } from '../image/config.js';
import { isSameProcess } from './proc.js';
import { exitCodeOf, PlanProcess } from './process.js';
import type { StoredPod } from './store.js';

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
export function spawnInContainer(target: ExecTarget, label: string, argv: string[], stdio: [number, number, number], tty = false): PlanProcess {
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

export class ExecError extends Error {
  override name = 'ExecError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface ExecOptions {
  /** Copy this process's stdin to the command (-i); without it the command reads an empty pipe. */
  stdin: boolean;
  /**
   * A pseudo-terminal from the container's devpts: the command gets its
   * peer as stdin/out/err and controlling terminal; the caller gets the
   * master to copy to and from, and may resize it.
   */
  tty?: { onMaster(master: number, resize: (rows: number, cols: number) => void): void; rows: number; cols: number };
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

/** Copies our stdin into the command's pipe until either ends. */
function copyIn(fd: number): () => void {
  const onData = (d: Buffer): void => {
    try {
      writeSync(fd, d);
    } catch {
      // The command closed its stdin.
    }
  };
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    process.stdin.off('data', onData);
    process.stdin.off('end', close);
    process.stdin.pause();
    closeSync(fd);
  };
  process.stdin.on('data', onData);
  process.stdin.on('end', close);
  return close;
}

export async function execInContainer(stored: StoredPod, container: string, argv: string[], opts: ExecOptions): Promise<number> {
  const pod = stored.pod ?? stored.record?.pod;
  const names = [...(pod?.spec.initContainers ?? []), ...(pod?.spec.containers ?? [])].map((c) => c.name);
  if (!names.includes(container)) throw new ExecError(`container ${container} is not valid for pod ${stored.name}`, 1);
  const record = stored.record?.containers[container];
  if (!stored.live || !record || !isSameProcess(record.pid, record.startTime)) {
    throw new ExecError(`cannot exec in a stopped container: container "${container}" of pod "${stored.name}" is not running`, 1);
  }
  const spec = [...(pod?.spec.initContainers ?? []), ...(pod?.spec.containers ?? [])].find((c) => c.name === container);
  const imagesDir = stored.record?.imagesDir;
  // Issue 13: the image the container runs (by ID), its User applied as at start.
  const image = spec && imagesDir ? findLocalImage(imagesDir, record.image ?? spec.image) : undefined;
  const runAs = spec && image ? withImageUser(spec, pod?.spec, image) : spec;
  const target: ExecTarget = {
    name: container,
    containerPid: record.pid,
    env: record.env ?? [],
    workingDir: record.workingDir ?? '/',
    cgroupProcs: stored.record?.cgroups?.containers[container] ?? [],
    security: runAs && image ? resolveSecurity({ container: runAs, podSpec: pod?.spec, rootfs: image.rootfs, fs: image.fs }) : undefined,
  };
  // The child's ends are closed here once it runs; ours are copied.
  const ours: number[] = [];
  const theirs: number[] = [];
  let stdio: [number, number, number] = [-1, -1, -1];
  if (!opts.tty) {
    const [inR, inW] = pipe();
    const [outR, outW] = pipe();
    const [errR, errW] = pipe();
    ours.push(inW, outR, errR);
    theirs.push(inR, outW, errW);
    stdio = [inR, outW, errW];
  }
  let proc: PlanProcess;
  try {
    proc = spawnInContainer(target, 'exec', argv, stdio, opts.tty !== undefined);
  } catch (err) {
    for (const fd of ours) closeSync(fd);
    // The shell's convention: 127 when the command is not found, 126 when it cannot run.
    const code = err instanceof SpawnError && err.code === 'ENOENT' ? 127 : 126;
    throw new ExecError((err as Error).message, code);
  } finally {
    for (const fd of theirs) closeSync(fd);
  }
  if (opts.tty) {
    const master = proc.master;
    if (master === undefined) throw new ExecError('exec -t: the container sent no terminal', 126);
    setWinsize(master, opts.tty.rows, opts.tty.cols);
    opts.tty.onMaster(master, (rows, cols) => setWinsize(master, rows, cols));
    return exitCodeOf(await proc.exited);
  }
  const [inW, outR, errR] = ours as [number, number, number];
  const closeIn = opts.stdin ? copyIn(inW) : (closeSync(inW), () => {});
  const out = copyOut(outR, process.stdout);
  const err = copyOut(errR, process.stderr);
  const code = exitCodeOf(await proc.exited);
  closeIn();
  await drainOutput([out, err]);
  return code;
}
