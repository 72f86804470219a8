// What peapod keeps of each attachment, under <state root>/network/: the
// record (everything a DEL needs: the configuration as it was at ADD, the
// plugin directories, the arguments and the ADD's result, as libcni caches
// them) and the pinned namespace beside it. They live apart from the pod's
// directory because a DEL that fails must outlive the pod: the next reclaim
// retries it with the same configuration and the same namespace.
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeOwnDir, MODE, writeFileWithMode } from '../runtime/modes.js';
import { isSameProcess, processStartTime } from '../runtime/proc.js';
import type { RuntimePaths } from '../runtime/paths.js';
import type { Attachment } from './cni.js';

export interface NetworkRecord {
  sandboxId: string;
  pod: { name: string; namespace: string; uid: string };
  /** The supervisor that made it (or, for the node daemon's pods, their pause): while it lives, nobody else touches the attachment. */
  owner: { pid: number; startTime: number };
  /** Its pod is gone and a DEL failed: any reclaim retries it. */
  orphan?: boolean;
  /** The configuration's file (or "default"). */
  source: string;
  attachment: Attachment;
  /** The ADD's result, chained as prevResult on CHECK and DEL. */
  result: Record<string, unknown> | null;
  /** The ADD failed at this plugin (the ones after it never ran). */
  failedAt?: number;
  lastError?: string;
}

export function networkDir(paths: RuntimePaths): string {
  return join(paths.state, 'network');
}

export function recordPath(paths: RuntimePaths, sandboxId: string): string {
  return join(networkDir(paths), `${sandboxId}.json`);
}

export function pinPath(paths: RuntimePaths, sandboxId: string): string {
  return join(networkDir(paths), `${sandboxId}.netns`);
}

export function thisProcess(): NetworkRecord['owner'] {
  return { pid: process.pid, startTime: processStartTime(process.pid) ?? 0 };
}

export function writeNetworkRecord(paths: RuntimePaths, record: NetworkRecord): void {
  makeOwnDir(networkDir(paths), MODE.rootDir);
  const path = recordPath(paths, record.sandboxId);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileWithMode(tmp, `${JSON.stringify(record, null, 2)}\n`, MODE.record);
  renameSync(tmp, path);
}

export function removeNetworkRecord(paths: RuntimePaths, sandboxId: string): void {
  rmSync(recordPath(paths, sandboxId), { force: true });
}

/** One attachment's record, or undefined when it is not there or cannot be read. */
export function readNetworkRecord(paths: RuntimePaths, sandboxId: string): NetworkRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(paths, sandboxId), 'utf8')) as NetworkRecord;
  } catch {
    return undefined;
  }
}

export function listNetworkRecords(paths: RuntimePaths): NetworkRecord[] {
  let names: string[];
  try {
    names = readdirSync(networkDir(paths));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    if (!n.endsWith('.json')) return [];
    try {
      return [JSON.parse(readFileSync(join(networkDir(paths), n), 'utf8')) as NetworkRecord];
    } catch {
      return [];
    }
  });
}

/** Its owner is gone, or gave it up: a reclaim may DEL it. */
export function isAbandoned(record: NetworkRecord): boolean {
  return record.orphan === true || !isSameProcess(record.owner.pid, record.owner.startTime);
}
