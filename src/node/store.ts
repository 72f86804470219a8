// Reading pods from any peapod process: what the supervisors wrote under
// the state root (pod.json, runtime.json, events.json), and whether each
// supervisor is alive, which only the kernel says (liveness.ts). A pod
// whose supervisor died shows as it will once reclaimed (Failed,
// SupervisorLost); a file a live supervisor is rewriting is waited for a
// moment; one that cannot be read is said so. Never writes.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PodEvent } from '../kubelet/events.js';
import { supervisorOf } from './liveness.js';
import { podPaths, type PodPaths, type RuntimePaths } from '../runtime/paths.js';
import type { PodObject } from '../kubelet/types.js';
import { tombstone } from './stale.js';
import { readJsonFile, type Read } from '../runtime/json-file.js';
import { isDaemonPod, readRecordFile, type PodRecord } from './state.js';
import { qosClass } from '../kubelet/status/pod-status.js';
import type { PodSpec } from '../manifest/types.js';

export interface StoredPod {
  name: string;
  paths: PodPaths;
  /** The last status the supervisor wrote (a tombstone when it is dead; Unknown when it cannot be read). */
  pod: PodObject | null;
  record: PodRecord | null;
  /** Why the record cannot be read, when it cannot. */
  recordError?: string;
  /** The supervisor runs: the pod is live, and its control socket answers. */
  live: boolean;
  /** The supervisor's pid, when it runs and is known. */
  supervisorPid?: number;
  /** Its events, when they came with it (from the daemon); else in its events.json. */
  events?: PodEvent[];
}

export class PodNotFoundError extends Error {
  override name = 'PodNotFoundError';
  constructor(name: string) {
    // kubectl's wording.
    super(`Error from server (NotFound): pods "${name}" not found`);
  }
}

/** The pods' state is root's alone (see modes.ts): another user is told so, not that there are no pods. */
export class StateAccessError extends Error {
  override name = 'StateAccessError';
  constructor(path: string) {
    super(`cannot read ${path}: permission denied; the pods' state is root's alone: run peapod as root`);
  }
}

function denied(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

/** Whether `path` exists; throws StateAccessError when this user may not look. */
function present(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if (denied(err)) throw new StateAccessError(path);
    return false;
  }
}

/** The entries of the state root's pods/ directory (none when it does not exist yet). */
function podDirNames(paths: RuntimePaths): string[] {
  const dir = join(paths.state, 'pods');
  try {
    return readdirSync(dir);
  } catch (err) {
    if (denied(err)) throw new StateAccessError(dir);
    return [];
  }
}

/** How long a reader waits for a live supervisor to rewrite a file it cannot read. */
const REPAIR_WAIT_MS = 500;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isPodObject(v: unknown): boolean {
  const p = v as PodObject | null;
  return typeof p === 'object' && p !== null && typeof p.metadata?.name === 'string' && Array.isArray(p.status?.containerStatuses) && Array.isArray(p.status?.conditions);
}

/**
 * A status that cannot be read, as Kubernetes says it of a pod whose state
 * is not known: Unknown, with why. The record (or the last status) gives
 * the spec; without either, only the name is known.
 */
export function unknownPod(name: string, record: PodRecord | null, why: string, since: string, last?: PodObject | null, reason = 'StatusUnreadable'): PodObject {
  const pod = record?.pod ?? last ?? { apiVersion: 'v1' as const, kind: 'Pod' as const, metadata: { name }, spec: { containers: [] } };
  return {
    ...pod,
    metadata: { ...pod.metadata, namespace: pod.metadata.namespace ?? 'default', uid: record?.uid ?? last?.metadata.uid ?? '', creationTimestamp: record?.createdAt ?? last?.metadata.creationTimestamp ?? since },
    status: {
      phase: 'Unknown',
      reason,
      message: reason === 'StatusUnreadable' ? `its status cannot be read: ${why}` : why,
      conditions: [],
      containerStatuses: [],
      qosClass: qosClass([...(pod.spec.initContainers ?? []), ...pod.spec.containers]),
    },
  };
}

export function readStoredPod(paths: RuntimePaths, name: string): StoredPod | null {
  const pp = podPaths(paths, name);
  if (!present(pp.state)) return null;
  let recordRead: Read<PodRecord>;
  let podRead: Read<PodObject>;
  let supervisor: ReturnType<typeof supervisorOf>;
  for (const deadline = Date.now() + REPAIR_WAIT_MS; ; sleepSync(20)) {
    recordRead = readRecordFile(pp.recordFile);
    podRead = readJsonFile<PodObject>(pp.podFile, isPodObject);
    supervisor = supervisorOf(paths, pp, 'value' in recordRead ? recordRead.value : null);
    // A live supervisor rewrites what it finds changed under it: give it a moment.
    const damaged = 'unreadable' in recordRead || 'unreadable' in podRead;
    if (!damaged || !supervisor.live || Date.now() > deadline) break;
  }
  const record = 'value' in recordRead ? recordRead.value : null;
  let pod = 'value' in podRead ? podRead.value : null;
  if ('unreadable' in podRead && (record || supervisor.live)) {
    const why = [`${pp.podFile}: ${podRead.unreadable}`, ...('unreadable' in recordRead ? [`${pp.recordFile}: ${recordRead.unreadable}`] : [])].join('; ');
    pod = unknownPod(name, record, why, statSync(pp.state).mtime.toISOString());
  }
  // Dead, the pod is what the next reclaim will leave of it (a daemon's pod outlives its daemon: the next one adopts it).
  if (record && !supervisor.live && !isDaemonPod(record)) pod = tombstone(pod, record);
  return {
    name,
    paths: pp,
    pod,
    record,
    ...('unreadable' in recordRead ? { recordError: `${pp.recordFile}: ${recordRead.unreadable}` } : {}),
    live: supervisor.live,
    ...(supervisor.live && supervisor.pid !== null ? { supervisorPid: supervisor.pid } : {}),
  };
}

export function getStoredPod(paths: RuntimePaths, name: string): StoredPod {
  const stored = readStoredPod(paths, name);
  if (!stored || (!stored.pod && !stored.live)) throw new PodNotFoundError(name);
  return stored;
}

/** The names of the pods under the root (their directories), sorted. */
export function podNames(paths: RuntimePaths): string[] {
  return podDirNames(paths)
    .filter((name) => !name.startsWith('.'))
    .sort();
}

export function listStoredPods(paths: RuntimePaths): StoredPod[] {
  return podNames(paths)
    .map((name) => readStoredPod(paths, name))
    .filter((p): p is StoredPod => p !== null && (p.pod !== null || p.live));
}

export function readEvents(pp: PodPaths): PodEvent[] {
  const read = readJsonFile<PodEvent[]>(pp.eventsFile, Array.isArray);
  return 'value' in read ? read.value : [];
}

/** The specs of the pods whose supervisor runs (admission needs only these: one small file each, two when a record is damaged). */
export function livePodSpecs(paths: RuntimePaths, names: readonly string[] = podNames(paths)): Array<{ name: string; spec: PodSpec }> {
  return names.flatMap((name) => {
    const pp = podPaths(paths, name);
    const read = readRecordFile(pp.recordFile);
    if ('missing' in read) return [];
    const record = 'value' in read ? read.value : null;
    // A daemon's pod runs while no daemon does.
    if (!supervisorOf(paths, pp, record).live && !isDaemonPod(record)) return [];
    if (record) return [{ name, spec: record.pod.spec }];
    const status = readJsonFile<PodObject>(pp.podFile, isPodObject);
    return 'value' in status ? [{ name, spec: status.value.spec }] : [];
  });
}
