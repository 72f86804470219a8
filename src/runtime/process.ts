// A process the runtime started from a plan: its pid, a pidfd to signal it
// without pid-reuse races, and its exit, observed through the pidfd.
import { spawnPlan, watchExit, pidfdSignal, type ExitStatus } from '../native/addon.js';
import type { SpawnPlan } from '../plan/types.js';
import { isRunning, processStartTime } from './proc.js';

export type { ExitStatus };

export class PlanProcess {
  readonly startedAt = new Date();
  readonly startTime: number;
  exit: ExitStatus | undefined;
  finishedAt: Date | undefined;
  readonly exited: Promise<ExitStatus>;

  private constructor(
    readonly name: string,
    readonly pid: number,
    private readonly pidfd: number,
    /** exec -t: the master of the pty the process got from its container. */
    readonly master?: number,
  ) {
    this.startTime = processStartTime(pid) ?? 0;
    this.exited = new Promise((resolve) => {
      watchExit(pidfd, (exit) => {
        this.exit = exit;
        this.finishedAt = new Date();
        resolve(exit);
      });
    });
  }

  static spawn(plan: SpawnPlan, stdio: [number, number, number]): PlanProcess {
    const { pid, pidfd, master } = spawnPlan(plan, stdio);
    return new PlanProcess(plan.name, pid, pidfd, master);
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
    if (!this.running) return false;
    return pidfdSignal(this.pidfd, sig);
  }
}

/** The shell's convention: 128+N for a signal. */
export function exitCodeOf(exit: ExitStatus): number {
  return exit.signal !== undefined ? 128 + exit.signal : exit.code;
}
