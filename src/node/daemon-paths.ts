// Where the node daemon of a state root keeps its things: its socket, what
// it says of itself, its output when it was started on demand, and the
// logs of the reapers it and the daemons before it ran under.
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { RuntimePaths } from '../runtime/paths.js';
import { shortSocketPath } from './control.js';

export interface DaemonPaths {
  dir: string;
  /** The daemon's socket (root's alone, 0600): what every command talks to. */
  socket: string;
  /** daemon.json: its pid, start time, reaper and socket, for people and tests (the lock, not this file, says whether it runs). */
  info: string;
  /** Its output, when a command started it in the background. */
  log: string;
  /** One log per reaper (native/reaper.c): the exits of the pods it inherited. */
  reapers: string;
  /** The facts of sandboxes made on the runtime directly (by a CRI server, not a pod worker): one file each, to adopt them. */
  sandboxes: string;
  /** The lock: an abstract unix socket name, freed by the kernel when its holder dies however it dies. */
  lock: string;
}

export function daemonPaths(paths: RuntimePaths): DaemonPaths {
  const dir = join(paths.state, 'daemon');
  return {
    dir,
    socket: shortSocketPath(join(dir, 'daemon.sock'), paths.state),
    info: join(dir, 'daemon.json'),
    log: join(dir, 'daemon.log'),
    reapers: join(dir, 'reapers'),
    sandboxes: join(dir, 'sandboxes'),
    lock: `\0peapod-daemon-${createHash('sha256').update(resolve(paths.state)).digest('hex').slice(0, 32)}`,
  };
}

/** What daemon.json holds. */
export interface DaemonInfo {
  pid: number;
  startTime: number;
  /** Its reaper (its parent) and that reaper's log. */
  reaper: { pid: number; log: string };
  socket: string;
  version: string;
}
