// `peapod exec` from any peapod process: a command in a running container
// of a pod this state root holds, found through its supervisor's record
// (the container's pid, env, working directory, cgroup and identity, all
// resolved once when it was made). The command never gets this process's
// own descriptors: pipes (or a pty of its container with -t) that peapod
// copies.
import { closeSync, writeSync } from 'node:fs';
import { setWinsize } from '../native/addon.js';
import { copyOut, drainOutput, execStdio, spawnInContainer, startFailureCode, type ExecTarget } from '../runtime/exec.js';
import { isSameProcess } from '../runtime/proc.js';
import { exitCodeOf, type PlanProcess } from '../runtime/process.js';
import type { StoredPod } from './store.js';

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
  const target: ExecTarget = {
    name: container,
    containerPid: record.pid,
    env: record.env ?? [],
    workingDir: record.workingDir ?? '/',
    cgroupProcs: stored.record?.cgroups?.containers[container] ?? [],
    // As the container was made; a record without it (an older peapod's) gets a default container's, never more.
    security: record.security,
  };
  // The child's ends are closed here once it runs; ours are copied.
  const { stdio, ours, theirs } = execStdio(opts.tty !== undefined);
  let proc: PlanProcess;
  try {
    proc = spawnInContainer(target, 'exec', argv, stdio, opts.tty && { rows: opts.tty.rows, cols: opts.tty.cols });
  } catch (err) {
    for (const fd of ours) closeSync(fd);
    throw new ExecError((err as Error).message, startFailureCode(err));
  } finally {
    for (const fd of theirs) closeSync(fd);
  }
  if (opts.tty) {
    const master = proc.master;
    if (master === undefined) throw new ExecError('exec -t: the container sent no terminal', 126);
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
