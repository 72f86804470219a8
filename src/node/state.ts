// The pod's record on disk, written atomically (write, then rename), so that
// another peapod process can tell a live pod from a stale one.
import { readJsonFile, writeJsonAtomic, type Read } from '../runtime/json-file.js';
import type { ProcessSecurity } from '../plan/security.js';
import type { Pod } from '../manifest/types.js';

export interface ProcessRecord {
  pid: number;
  /** Start time in clock ticks: with the pid, identifies the process. */
  startTime: number;
  /** A container's environment and working directory, for exec. */
  env?: string[];
  workingDir?: string;
  /** A container's image ID (what `rmi` must not remove while it runs). */
  image?: string;
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

export function writeRecord(path: string, record: PodRecord): void {
  writeJsonAtomic(path, record);
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
