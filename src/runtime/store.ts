// Reading pods from any peapod process: what the supervisors wrote under
// the state root (pod.json, runtime.json, events.json), and whether each
// supervisor is alive. Never writes.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PodEvent } from './events.js';
import { podPaths, type PodPaths, type RuntimePaths } from './paths.js';
import type { PodObject } from './pod.js';
import { isLive } from './stale.js';
import { readJson, readRecord, type PodRecord } from './state.js';

export interface StoredPod {
  name: string;
  paths: PodPaths;
  /** The last status the supervisor wrote (a tombstone when it is dead). */
  pod: PodObject | null;
  record: PodRecord | null;
  /** The supervisor runs: the pod is live, and its control socket answers. */
  live: boolean;
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

export function readStoredPod(paths: RuntimePaths, name: string): StoredPod | null {
  const pp = podPaths(paths, name);
  if (!present(pp.state)) return null;
  const record = readRecord(pp.recordFile);
  return { name, paths: pp, pod: readJson<PodObject>(pp.podFile), record, live: isLive(record) };
}

export function getStoredPod(paths: RuntimePaths, name: string): StoredPod {
  const stored = readStoredPod(paths, name);
  if (!stored || (!stored.pod && !stored.live)) throw new PodNotFoundError(name);
  return stored;
}

export function listStoredPods(paths: RuntimePaths): StoredPod[] {
  return podDirNames(paths)
    .filter((name) => !name.startsWith('.'))
    .sort()
    .map((name) => readStoredPod(paths, name))
    .filter((p): p is StoredPod => p !== null && (p.pod !== null || p.live));
}

export function readEvents(pp: PodPaths): PodEvent[] {
  return readJson<PodEvent[]>(pp.eventsFile) ?? [];
}

/** The records of the pods whose supervisor runs (admission needs only these: one small file each). */
export function liveRecords(paths: RuntimePaths): PodRecord[] {
  return podDirNames(paths).flatMap((name) => {
    if (name.startsWith('.')) return [];
    const record = readRecord(podPaths(paths, name).recordFile);
    return record && isLive(record) ? [record] : [];
  });
}
