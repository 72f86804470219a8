// Whether a pod's supervisor runs, as the kernel shows it. With a readable
// record: its pid and start time in /proc, and neither a zombie nor exiting.
// With a record that cannot be read: whoever listens on the pod's control
// socket (the socket table in /proc/net/unix, its holder in /proc/PID/fd).
// A file alone never decides that a pod is dead.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { controlSocketPath } from './control.js';
import type { PodPaths, RuntimePaths } from '../runtime/paths.js';
import { isRunning } from '../runtime/proc.js';
import type { PodRecord } from './state.js';

export type Supervisor = { live: true; pid: number | null } | { live: false };

/** __SO_ACCEPTCON in /proc/net/unix: the socket listens. */
const LISTENING = 0x10000;

/**
 * The inode of the socket listening at `path` in this network namespace, or
 * null. An abstract name is given as `@name`: Node binds one with all 108
 * bytes of sun_path, so /proc shows it padded with '@' (one per NUL).
 */
export function listeningSocket(path: string): number | null {
  const abstract = path.startsWith('@');
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return null;
  }
  for (const line of table.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path (the path, last, may hold spaces).
    const fields = line.trim().split(' ');
    const shown = fields.slice(7).join(' ');
    if (fields.length < 8 || (abstract ? shown.replace(/@+$/, '') : shown) !== path) continue;
    if ((parseInt(fields[3] ?? '0', 16) & LISTENING) !== 0) return Number(fields[6]);
  }
  return null;
}

/** The pid of a running process holding socket `inode`, or null. */
export function socketHolder(inode: number): number | null {
  const target = `socket:[${inode}]`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${entry}/fd/${fd}`) === target && isRunning(Number(entry))) return Number(entry);
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return null;
}

/** The supervisor of the pod at `pp`; `record` is null when its record cannot be read. */
export function supervisorOf(paths: RuntimePaths, pp: PodPaths, record: PodRecord | null): Supervisor {
  if (record) {
    const { pid, startTime } = record.supervisor;
    return isRunning(pid, startTime) ? { live: true, pid } : { live: false };
  }
  const inode = listeningSocket(controlSocketPath(pp, paths.state));
  return inode === null ? { live: false } : { live: true, pid: socketHolder(inode) };
}
