// How a process of a container starts: never by an execve from the spawn
// child itself. That child is a clone of Node, so while the kernel runs the
// container's command, /proc/self/exe is the host's node binary: a command
// that is a script with `#!/proc/self/exe` (or /proc/self/exe itself) would
// run node inside the container with a loader the container planted, able
// to rewrite or chmod the host's binary (CVE-2019-5736's route). So the
// child execs pause, from a private read-only nosuid copy of its mount, and
// pause execs the command: /proc/self/exe is then a static binary on a
// mount nobody can write, and with no loader to plant.
import { PLAN_FDS, type Step } from './types.js';

export interface Launch {
  /** Where the read-only pause is opened (before the root changes). */
  open: Extract<Step, { op: 'open_exe' }>;
  fd: number;
}

export function openPause(path: string, fd: number): Launch {
  return { open: { op: 'open_exe', path, fd }, fd };
}

/**
 * The last step: exec the read-only pause with the command. 'exec': pause
 * --exec execs it in place and reports a failed exec on the status pipe.
 * 'init': pause --init stays as PID 1 of the container's own PID namespace
 * and starts the command as its child.
 */
export function execThroughPause(
  fd: number,
  command: { candidates: string[]; argv: string[]; env: string[] },
  mode: 'exec' | 'init',
): Extract<Step, { op: 'exec' }> {
  const n = String(command.candidates.length);
  const what = command.argv[0] ?? '';
  if (mode === 'init') {
    return { op: 'exec', candidates: [], fd, argv: ['pause', '--init', n, ...command.candidates, ...command.argv], env: command.env, what };
  }
  return {
    op: 'exec',
    candidates: [],
    fd,
    argv: ['pause', '--exec', String(PLAN_FDS.execStatus), n, ...command.candidates, ...command.argv],
    env: command.env,
    statusFd: PLAN_FDS.execStatus,
    what,
  };
}
