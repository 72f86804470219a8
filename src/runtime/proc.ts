// Reading the kernel's view of processes: what /proc says is the truth the
// runtime acts on (a process's start time, its namespaces).
import { readdirSync, readFileSync, statSync } from 'node:fs';

export interface ProcessStat {
  /** R, S, D, T, Z, ... (field 3). */
  state: string;
  /** The kernel's PF_* flags (field 9). */
  flags: number;
  /** Start time in clock ticks since boot (field 22): with the pid, identifies the process. */
  startTime: number;
}

/** What /proc/PID/stat says of a process, or null if it is gone. */
export function processStat(pid: number): ProcessStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = Number(fields[19]);
    if (!Number.isFinite(startTime)) return null;
    return { state: fields[0] ?? '?', flags: Number(fields[6]), startTime };
  } catch {
    return null;
  }
}

let selfStartTime: number | null = null;

/** Start time in clock ticks since boot (field 22 of /proc/PID/stat), or null if gone. */
export function processStartTime(pid: number): number | null {
  // This process's is asked at every record, holder and lease it writes; it never changes.
  if (pid === process.pid) return (selfStartTime ??= processStat(pid)?.startTime ?? null);
  return processStat(pid)?.startTime ?? null;
}

/** True when `pid` still exists (a zombie too) and is the same process that was recorded. */
export function isSameProcess(pid: number, startTime: number): boolean {
  return pid > 0 && processStartTime(pid) === startTime;
}

/** PF_EXITING: the process has begun to exit (set before it ends the rest of its PID namespace). */
const PF_EXITING = 0x4;

/**
 * Running as the kernel sees it: the recorded process, neither a zombie
 * waiting for its reaper nor one that has begun to exit.
 */
export function isRunning(pid: number, startTime?: number): boolean {
  const stat = pid > 0 ? processStat(pid) : null;
  if (!stat || (startTime !== undefined && stat.startTime !== startTime)) return false;
  return stat.state !== 'Z' && stat.state !== 'X' && (stat.flags & PF_EXITING) === 0;
}

export function namespaceInode(pid: number, ns: string): number | null {
  try {
    return statSync(`/proc/${pid}/ns/${ns}`).ino;
  } catch {
    return null;
  }
}

/** Every pid whose namespace `ns` is the one with inode `inode`. */
export function pidsInNamespace(ns: string, inode: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (namespaceInode(pid, ns) === inode) out.push(pid);
  }
  return out;
}
