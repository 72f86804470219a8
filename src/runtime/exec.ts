// A command run inside a running container from any peapod process (the
// CLI's exec): the container's namespaces, environment and working
// directory, our own stdio. The exit code is the command's.
import { closeSync, openSync } from 'node:fs';
import { openPty, setWinsize, SpawnError } from '../native/addon.js';
import { joinCgroup } from '../plan/cgroup.js';
import { execPlan } from '../plan/exec.js';
import { resolveSecurity } from '../plan/security.js';
import { resolveImage } from '../image/store.js';
import { hostFs } from './host-fs.js';
import { isSameProcess } from './proc.js';
import { exitCodeOf, PlanProcess } from './process.js';
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
    // In the container's cgroup too: its limits hold for what exec starts.
    const spec = [...(pod?.spec.initContainers ?? []), ...(pod?.spec.containers ?? [])].find((c) => c.name === container);
    const imagesDir = stored.record?.imagesDir;
    const image = spec && imagesDir ? resolveImage(imagesDir, spec.image) : undefined;
    // exec gets the container's identity and capabilities, never the runtime's.
    const security = spec && image ? resolveSecurity({ container: spec, podSpec: pod?.spec, rootfs: image.rootfs, fs: hostFs }) : undefined;
    const plan = execPlan({ name: `${container} (exec)`, containerPid: record.pid, argv, env: record.env ?? [], workingDir: record.workingDir ?? '/', security, tty: pty !== undefined });
    const stdio: [number, number, number] = pty ? [pty.slave, pty.slave, pty.slave] : [opts.stdin ? 0 : nul, 1, 2];
    if (pty && opts.tty) setWinsize(pty.master, opts.tty.rows, opts.tty.cols);
    proc = PlanProcess.spawn(joinCgroup(plan, stored.record?.cgroups?.containers[container] ?? []), stdio);
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
