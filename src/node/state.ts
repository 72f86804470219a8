// The pod's record on disk, written atomically (write, then rename), so that
// another peapod process can tell a live pod from a stale one.
import { readJsonFile, writeJsonAtomic, type Read } from '../runtime/json-file.js';
import type { ProcessSecurity } from '../plan/security.js';
import type { Pod } from '../manifest/types.js';
import type { SandboxFacts } from '../runtime/runtime-service.js';
import type { WorkerCheckpoint } from '../kubelet/checkpoint.js';

/**
 * The format of runtime.json this peapod writes. Records of peapod before
 * the node daemon have no version (0); a daemon adopts records of its own
 * version and older, and refuses newer ones (written by a later peapod,
 * which may have changed what they mean) with a message saying so.
 */
export const RECORD_VERSION = 1;

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
  /** See RECORD_VERSION; absent in records of peapod before the daemon. */
  version?: number;
  /**
   * 'daemon': held by the node daemon, and outliving it (the next daemon
   * adopts it). Absent: a supervisor of its own (`run -f`), with which it dies.
   */
  owner?: 'daemon';
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
  /** The daemon's pods: what the runtime needs to adopt the sandbox and its containers. */
  runtime?: SandboxFacts;
  /** The daemon's pods: what the kubelet's half needs to take the pod over. */
  kubelet?: WorkerCheckpoint;
}

/** A daemon's pod (the next daemon adopts it, no `run -f` reclaims it). */
export function isDaemonPod(record: PodRecord | null | undefined): boolean {
  return record?.owner === 'daemon';
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
