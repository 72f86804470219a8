// The pod's record on disk, written atomically (write, then rename), so that
// another peapod process can tell a live pod from a stale one.
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeDir, MODE, writeFileWithMode } from '../runtime/modes.js';
import type { ProcessSecurity } from '../plan/security.js';
import type { Pod } from '../spec/types.js';

export interface ProcessRecord {
  pid: number;
  /** Start time in clock ticks: with the pid, identifies the process. */
  startTime: number;
  /** A container's environment and working directory, for exec. */
  env?: string[];
  workingDir?: string;
  /** A container's identity and privileges, resolved once at its creation: exec reads them, never re-resolves. */
  security?: ProcessSecurity;
}

export interface PodRecord {
  name: string;
  uid: string;
  createdAt: string;
  supervisor: ProcessRecord;
  sandbox?: ProcessRecord;
  containers: Record<string, ProcessRecord>;
  /** Data directory (may differ from the state directory). */
  dataDir: string;
  /** The image store the pod's images came from. */
  imagesDir?: string;
  /** The supervisor's control socket. */
  control?: string;
  /** The pod's cgroups: the driver, the pod's path, and each container's cgroup.procs files. */
  cgroups?: { driver: 'v1' | 'v2'; pod: string; containers: Record<string, string[]> };
  pod: Pod;
}

/** Write, then rename: a reader sees the old file or the new one, never half; a failed write leaves no temporary file. Root's alone: it holds the pod's env. */
export function writeTextAtomic(path: string, text: string): void {
  makeDir(dirname(path), MODE.podDir);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileWithMode(tmp, text, MODE.record);
    renameSync(tmp, path);
  } catch (err) {
    // A full disk must not be made fuller by what was half written.
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeTextAtomic(path, jsonText(value));
}

export function writeRecord(path: string, record: PodRecord): void {
  writeJsonAtomic(path, record);
}

/** A state file as read: its value, absent, or there but unreadable (with why). */
export type Read<T> = { value: T } | { missing: true } | { unreadable: string };

/** Reads a JSON file; `valid` says whether what it holds has the shape expected. */
export function readJsonFile<T>(path: string, valid: (v: unknown) => boolean = (v) => v !== null && typeof v === 'object'): Read<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'ENOENT' || e.code === 'ENOTDIR' ? { missing: true } : { unreadable: e.message };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { unreadable: text === '' ? 'the file is empty' : (err as Error).message };
  }
  return valid(value) ? { value: value as T } : { unreadable: 'it does not hold what peapod writes there' };
}

export function readJson<T>(path: string): T | null {
  const read = readJsonFile<T>(path);
  return 'value' in read ? read.value : null;
}

function isProcessRecord(v: unknown): boolean {
  const p = v as ProcessRecord | undefined;
  return typeof p === 'object' && p !== null && Number.isInteger(p.pid) && Number.isInteger(p.startTime);
}

/** Enough of a record to act on: its supervisor, processes, directories and spec. */
export function isPodRecord(v: unknown): boolean {
  const r = v as PodRecord | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.name === 'string' &&
    typeof r.dataDir === 'string' &&
    isProcessRecord(r.supervisor) &&
    (r.sandbox === undefined || isProcessRecord(r.sandbox)) &&
    typeof r.containers === 'object' &&
    r.containers !== null &&
    Object.values(r.containers).every(isProcessRecord) &&
    typeof r.pod?.spec === 'object'
  );
}

export function readRecordFile(path: string): Read<PodRecord> {
  return readJsonFile<PodRecord>(path, isPodRecord);
}
