// A process the runtime started from a plan: its pid, a pidfd to signal it
// without pid-reuse races, and its exit, observed through the pidfd. Or one
// it adopted (started by a daemon before this one): watched the same way,
// its exit status told by whoever reaped it (an ExitSource).
import { closeSync } from 'node:fs';
import { pidfdOpen, spawnPlan, watchEnd, watchExit, pidfdSignal, type ExitStatus } from '../native/addon.js';
import type { SpawnPlan } from '../plan/types.js';
import { isRunning, processStartTime } from './proc.js';

export type { ExitStatus };

/**
 * Where the exit status of an adopted process comes from. The kernel tells
 * it only to the parent, and the parent of an adopted process is the
 * reaper the previous daemon ran under (see native/reaper.c).
 */
export interface ExitSource {
  /** The recorded exit of the process that ended; undefined when nobody recorded it (its status is lost). */
  exitOf(pid: number, startTime: number): Promise<ExitStatus | undefined>;
}

/** Where every exit this process collects is written, before the zombie is reaped (see journalExits). */
let journal: ((pid: number, startTime: number, exit: ExitStatus) => void) | undefined;

/**
 * Writes down every exit of a pod's process this process collects,
 * synchronously, before anything else happens and before the zombie is
 * reaped (native/exit_watch.cc): a daemon killed at that moment must not
 * take the exit code with it (killed before the line is written, it leaves
 * the zombie to its reaper, which records it). The node daemon appends them
 * to its reaper's log, where the next daemon looks (node/reaper-logs.ts).
 */
export function journalExits(write: (pid: number, startTime: number, exit: ExitStatus) => void): void {
  journal = write;
}

export class PlanProcess {
  readonly startedAt: Date;
  readonly startTime: number;
  exit: ExitStatus | undefined;
  finishedAt: Date | undefined;
  /** Adopted and ended with no exit status recorded anywhere (its reaper was gone too). */
  exitUnknown = false;
  readonly exited: Promise<ExitStatus>;
  private pidfd: number;

  private constructor(
    readonly name: string,
    readonly pid: number,
    pidfd: number,
    /** exec -t: the master of the pty the process got from its container. */
    readonly master?: number,
    adopted?: { startTime: number; startedAt: Date; exits: ExitSource },
    /** Its exit goes to the journal (pause and containers: what a pod's status is made of). */
    journaled = false,
  ) {
    this.pidfd = pidfd;
    this.startedAt = adopted?.startedAt ?? new Date();
    this.startTime = adopted ? adopted.startTime : (processStartTime(pid) ?? 0);
    this.exited = new Promise((resolve) => {
      const done = (exit: ExitStatus): void => {
        this.exit = exit;
        this.finishedAt ??= new Date();
        resolve(exit);
      };
      if (!adopted) {
        watchExit(pidfd, (exit) => {
          if (journaled) journal?.(pid, this.startTime, exit);
          done(exit);
        });
        return;
      }
      const ended = (): void => {
        // The pidfd was closed by the watch (or never opened): no signal may use its number now.
        this.pidfd = -1;
        this.finishedAt = new Date();
        void adopted.exits.exitOf(pid, adopted.startTime).then((exit) => {
          if (!exit) this.exitUnknown = true;
          // Nobody recorded it: the kubelet's answer for a container it cannot find, 137.
          done(exit ?? { signal: 9 });
        });
      };
      if (pidfd < 0) ended();
      else watchEnd(pidfd, ended);
    });
  }

  /** `journaled`: a pod's own process (pause, a container), whose exit the journal keeps (see journalExits). */
  static spawn(plan: SpawnPlan, stdio: [number, number, number], journaled = false): PlanProcess {
    const { pid, pidfd, master } = spawnPlan(plan, stdio);
    return new PlanProcess(plan.name, pid, pidfd, master, undefined, journaled);
  }

  /**
   * A process a daemon before this one started, by its pid and start time:
   * watched through a pidfd of its own when it still runs, ended at once
   * when it does not (its exit then comes from `exits`, if anyone recorded it).
   */
  static adopt(name: string, pid: number, startTime: number, startedAt: Date, exits: ExitSource): PlanProcess {
    let pidfd = -1;
    if (pid > 0) {
      try {
        pidfd = pidfdOpen(pid);
      } catch {
        // Gone, and reaped already.
      }
      // Checked after the pidfd is held: the pid cannot be reused behind it any more.
      if (pidfd >= 0 && processStartTime(pid) !== startTime) {
        closeSync(pidfd);
        pidfd = -1;
      }
    }
    return new PlanProcess(name, pid, pidfd, undefined, { startTime, startedAt, exits });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /**
   * Running as the kernel sees it now: false for a zombie whose exit the
   * event loop has not delivered yet, and for a process that has begun to
   * exit (a dying pause still holds its PID namespace, but nothing can be
   * started in it any more).
   */
  get alive(): boolean {
    return this.running && isRunning(this.pid, this.startTime);
  }

  /** Sends a signal; false if the process has already exited. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running || this.pidfd < 0) return false;
    return pidfdSignal(this.pidfd, sig);
  }
}

/** The shell's convention: 128+N for a signal. */
export function exitCodeOf(exit: ExitStatus): number {
  return exit.signal !== undefined ? 128 + exit.signal : exit.code;
}
