// The pod's record on disk, written atomically (write, then rename), so that
// another peapod process can tell a live pod from a stale one.
import { readFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeDir, MODE, writeFileWithMode } from './modes.js';
import type { Pod } from '../spec/types.js';

export interface ProcessRecord {
  pid: number;
  /** Start time in clock ticks: with the pid, identifies the process. */
  startTime: number;
  /** A container's environment and working directory, for exec. */
  env?: string[];
  workingDir?: string;
  /** A container's image ID, for exec (issue 13). */
  image?: string;
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

/** Write, then rename: a reader sees the old file or the new one, never half. Root's alone: it holds the pod's env. */
export function writeJsonAtomic(path: string, value: unknown): void {
  makeDir(dirname(path), MODE.podDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileWithMode(tmp, `${JSON.stringify(value, null, 2)}\n`, MODE.record);
  renameSync(tmp, path);
}

export function writeRecord(path: string, record: PodRecord): void {
  writeJsonAtomic(path, record);
}

export function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

export function readRecord(path: string): PodRecord | null {
  return readJson<PodRecord>(path);
}
