// The exits the node's reapers recorded (native/reaper.c). Every daemon runs
// under a reaper of its own; when a daemon dies, its pods fall to that
// reaper, which reaps each one that ends and appends a line to its log. The
// next daemon (under another reaper) adopts those pods: when one of them
// ends, the kernel tells it only that (its pidfd turns readable), and the
// exit code and signal are read here, matched by pid and start time.
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { ExitSource, ExitStatus } from '../runtime/process.js';
import { isRunning } from '../runtime/proc.js';

/** How long an ended process's record may take to appear (its reaper reaps at once); after that it is lost. */
export const RECORD_WAIT_MS = 3000;
const POLL_MS = 50;

export interface ReaperLog {
  path: string;
  /** The reaper that writes it, from its first line. */
  reaper: { pid: number; startTime: number } | undefined;
  exits: Map<string, ExitStatus>;
}

const key = (pid: number, startTime: number): string => `${pid}:${startTime}`;

/** Reads one reaper log; lines it cannot read are skipped (a line is one write, so only a torn disk makes one). */
export function readReaperLog(path: string): ReaperLog {
  const log: ReaperLog = { path, reaper: undefined, exits: new Map() };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return log;
  }
  for (const line of text.split('\n')) {
    const header = /^reaper (\d+) (\d+)$/.exec(line);
    if (header) {
      log.reaper = { pid: Number(header[1]), startTime: Number(header[2]) };
      continue;
    }
    const m = /^(\d+) (\d+) (exit|signal) (\d+)$/.exec(line);
    if (!m) continue;
    const value = Number(m[4]);
    log.exits.set(key(Number(m[1]), Number(m[2])), m[3] === 'exit' ? { code: value } : { signal: value });
  }
  return log;
}

export class ReaperLogs implements ExitSource {
  constructor(
    /** The directory every reaper of this state root logs into. */
    readonly dir: string,
    /** How long an ended process's record is waited for. */
    private readonly waitMs = RECORD_WAIT_MS,
  ) {}

  logs(): ReaperLog[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.log')).map((n) => readReaperLog(join(this.dir, n)));
  }

  /** The recorded exit, if any reaper has recorded it yet. */
  find(pid: number, startTime: number): ExitStatus | undefined {
    for (const log of this.logs()) {
      const exit = log.exits.get(key(pid, startTime));
      if (exit) return exit;
    }
    return undefined;
  }

  /**
   * The exit of an adopted process that has ended: its reaper writes it as
   * it reaps it, so it is waited for a moment (an inotify watch of the
   * directory, and a poll). Undefined when no record comes: its reaper was
   * killed too, and the kernel gave the status to PID 1.
   */
  exitOf(pid: number, startTime: number): Promise<ExitStatus | undefined> {
    const found = this.find(pid, startTime);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      let watcher: FSWatcher | undefined;
      const deadline = Date.now() + this.waitMs;
      const finish = (exit: ExitStatus | undefined): void => {
        clearInterval(poll);
        watcher?.close();
        resolve(exit);
      };
      const look = (): void => {
        const exit = this.find(pid, startTime);
        if (exit || Date.now() > deadline) finish(exit);
      };
      const poll = setInterval(look, POLL_MS);
      try {
        watcher = watch(this.dir, { persistent: false }, look);
        watcher.on('error', () => watcher?.close());
      } catch {
        // No inotify left: the poll alone.
      }
    });
  }

  /**
   * Removes the logs of reapers that are gone (everything they held has
   * ended and was recorded there): called once what they said has been
   * taken in, after an adoption. `keep` is the log of this daemon's own reaper.
   */
  prune(keep: string | undefined): void {
    for (const log of this.logs()) {
      if (log.path === keep) continue;
      if (log.reaper && isRunning(log.reaper.pid, log.reaper.startTime)) continue;
      rmSync(log.path, { force: true });
    }
  }
}

/**
 * One exit, appended to a reaper's log in its own format (the daemon writes
 * there the exits it reaps itself: see journalExits). Never throws: a full
 * disk loses the line, and only matters if the daemon dies at that moment.
 */
export function appendExit(log: string, pid: number, startTime: number, exit: ExitStatus): void {
  try {
    appendFileSync(log, exit.signal !== undefined ? `${pid} ${startTime} signal ${exit.signal}\n` : `${pid} ${startTime} exit ${exit.code}\n`);
  } catch {
    // Nowhere to write it: the pod's status will say it, if the daemon lives to write that.
  }
}

/** Whether any reaper log is in `dir` (a daemon has run under this root). */
export function hasReaperLogs(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((n) => n.endsWith('.log'));
}
