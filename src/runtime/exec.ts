// A command run inside a running container: hooks, the library's exec and
// the CLI's (from any peapod process). The container's namespaces, cgroup,
// identity, environment and working directory; the caller's stdio.
import { closeSync, openSync } from 'node:fs';
import { openPty, setWinsize, SpawnError } from '../native/addon.js';
import { joinCgroup } from '../plan/cgroup.js';
import { execPlan } from '../plan/exec.js';
import { resolveSecurity, type ProcessSecurity } from '../plan/security.js';
import { resolveImage } from '../image/store.js';
import { hostFs } from './host-fs.js';
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
}

/** Starts `argv` in the container; throws a SpawnError naming the failed step. */
export function spawnInContainer(target: ExecTarget, label: string, argv: string[], stdio: [number, number, number], tty = false): PlanProcess {
  const plan = execPlan({ name: `${target.name} (${label})`, containerPid: target.containerPid, argv, env: target.env, workingDir: target.workingDir, security: target.security, tty });
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
  stdin: boolean;
  /**
   * A pseudo-terminal from the container's devpts: the command gets its
   * peer as stdin/out/err and controlling terminal; the caller gets the
   * master to copy to and from, and may resize it.
   */
  tty?: { onMaster(master: number, resize: (rows: number, cols: number) => void): void; rows: number; cols: number };
}

export async function execInContainer(stored: StoredPod, container: string, argv: string[], opts: ExecOptions): Promise<number> {
  const pod = stored.pod ?? stored.record?.pod;
  const names = [...(pod?.spec.initContainers ?? []), ...(pod?.spec.containers ?? [])].map((c) => c.name);
  if (!names.includes(container)) throw new ExecError(`container ${container} is not valid for pod ${stored.name}`, 1);
  const record = stored.record?.containers[container];
  if (!stored.live || !record || !isSameProcess(record.pid, record.startTime)) {
    throw new ExecError(`cannot exec in a stopped container: container "${container}" of pod "${stored.name}" is not running`, 1);
  }
  const nul = openSync('/dev/null', 'r');
  const pty = opts.tty ? openPty(`/proc/${record.pid}/root/dev/pts/ptmx`) : undefined;
  let proc: PlanProcess;
  try {
    const spec = [...(pod?.spec.initContainers ?? []), ...(pod?.spec.containers ?? [])].find((c) => c.name === container);
    const imagesDir = stored.record?.imagesDir;
    const image = spec && imagesDir ? resolveImage(imagesDir, spec.image) : undefined;
    const target: ExecTarget = {
      name: container,
      containerPid: record.pid,
      env: record.env ?? [],
      workingDir: record.workingDir ?? '/',
      cgroupProcs: stored.record?.cgroups?.containers[container] ?? [],
      security: spec && image ? resolveSecurity({ container: spec, podSpec: pod?.spec, rootfs: image.rootfs, fs: hostFs }) : undefined,
    };
    const stdio: [number, number, number] = pty ? [pty.slave, pty.slave, pty.slave] : [opts.stdin ? 0 : nul, 1, 2];
    if (pty && opts.tty) setWinsize(pty.master, opts.tty.rows, opts.tty.cols);
    proc = spawnInContainer(target, 'exec', argv, stdio, pty !== undefined);
  } catch (err) {
    if (pty) closeSync(pty.master);
    // The shell's convention: 127 when the command is not found, 126 when it cannot run.
    const code = err instanceof SpawnError && err.code === 'ENOENT' ? 127 : 126;
    throw new ExecError((err as Error).message, code);
  } finally {
    closeSync(nul);
    // Only the command holds the terminal's peer: its exit ends the session.
    if (pty) closeSync(pty.slave);
  }
  if (pty && opts.tty) opts.tty.onMaster(pty.master, (rows, cols) => setWinsize(pty.master, rows, cols));
  return exitCodeOf(await proc.exited);
}
