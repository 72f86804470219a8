// What /proc says of a process, read as a test reads it: missing files are
// a process that is gone, not an error.
import { readdirSync, readFileSync } from 'node:fs';

/** A file's text, or '' while it does not exist (or cannot be read). */
export function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Running (a zombie waiting for its reaper counts as dead). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

export const SIGNALS = { HUP: 1, INT: 2, QUIT: 3, USR1: 10, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15 } as const;

/** A mask field of /proc/PID/status (SigCgt, SigIgn, SigBlk, ShdPnd...), as a number; 0 when the process is gone. */
export function signalMask(pid: number, field: string): bigint {
  const line = readOr(`/proc/${pid}/status`).split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? BigInt(`0x${line.split(':')[1]?.trim()}`) : 0n;
}

export type SignalName = keyof typeof SIGNALS;

export function signalBit(signal: SignalName | number): bigint {
  return 1n << BigInt((typeof signal === 'number' ? signal : SIGNALS[signal]) - 1);
}

/** The children of every thread of `pid`, now (none when it is gone). */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((task) => {
    const text = readOr(`/proc/${pid}/task/${task}/children`).trim();
    return text === '' ? [] : text.split(' ').map(Number);
  });
}

/** The pid a process has in its own (innermost) PID namespace: the last field of NSpid. */
export function nsPid(pid: number): number | undefined {
  const field = /^NSpid:\s*(.*)$/m.exec(readOr(`/proc/${pid}/status`))?.[1];
  return field === undefined ? undefined : Number(field.trim().split(/\s+/).at(-1));
}
