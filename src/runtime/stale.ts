// Reclaiming what a dead supervisor left: a pod whose supervisor is gone is
// stale (PDEATHSIG has already killed its pause, and with it the pod's
// processes); its mounts, directories and record are removed here, and its
// last status is kept as a tombstone saying it Failed and why.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { podPaths, type RuntimePaths } from './paths.js';
import { unmountPodDir } from './pod-files.js';
import { isSameProcess } from './proc.js';
import { detectDriver } from './cgroups/detect.js';
import { removePodCgroups } from './cgroups/pod.js';
import { reclaimNetworks } from '../network/pod-network.js';
import { readJson, readRecord, writeJsonAtomic, type PodRecord } from './state.js';
import type { PodStatus } from './status/types.js';

export const SUPERVISOR_LOST = 'SupervisorLost';

/** Where a pod's directory is made before it is renamed into place (see claimName). */
export const CLAIM_PREFIX = '.claim-';

export function isLive(record: PodRecord | null): boolean {
  return record !== null && isSameProcess(record.supervisor.pid, record.supervisor.startTime);
}

function killIfSame(pid: number, startTime: number): void {
  if (!isSameProcess(pid, startTime)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

interface StoredPod {
  metadata?: Record<string, unknown>;
  status?: PodStatus;
}

/** The last status the dead supervisor wrote, turned Failed with the reason. */
function tombstone(last: StoredPod | null, record: PodRecord | null): StoredPod | null {
  if (!last?.status) return null;
  const now = new Date().toISOString();
  const pid = record?.supervisor.pid;
  const killed = (s: PodStatus['containerStatuses'][number]): PodStatus['containerStatuses'][number] => {
    if (!s.state.running) return s;
    return {
      ...s,
      ready: false,
      started: false,
      state: {
        terminated: {
          exitCode: 137,
          signal: 9,
          reason: 'Error',
          message: 'killed with its supervisor',
          startedAt: s.state.running.startedAt,
          finishedAt: now,
          containerID: s.containerID ?? '',
        },
      },
    };
  };
  return {
    ...last,
    status: {
      ...last.status,
      phase: last.status.phase === 'Succeeded' ? 'Succeeded' : 'Failed',
      reason: SUPERVISOR_LOST,
      message: `its supervisor (peapod, pid ${pid ?? '?'}) died; the kernel ended the pod with it, and its resources were reclaimed`,
      conditions: last.status.conditions.map((c) => (c.type === 'PodScheduled' ? c : { ...c, status: 'False', lastTransitionTime: now })),
      containerStatuses: last.status.containerStatuses.map(killed),
      ...(last.status.initContainerStatuses ? { initContainerStatuses: last.status.initContainerStatuses.map(killed) } : {}),
    },
  };
}

/**
 * Removes one stale pod (the caller has checked it is not live). With
 * `keepTombstone`, its final status stays behind as pod.json alone.
 */
export async function reclaimPod(paths: RuntimePaths, name: string, keepTombstone = false): Promise<void> {
  const pp = podPaths(paths, name);
  const record = readRecord(pp.recordFile);
  const last = readJson<StoredPod>(pp.podFile);
  if (record?.sandbox) killIfSame(record.sandbox.pid, record.sandbox.startTime);
  for (const c of Object.values(record?.containers ?? {})) killIfSame(c.pid, c.startTime);
  await reclaimCgroups(record);
  // Pod network (issue 14): CNI DEL of what the dead supervisor attached (a failure is kept, retried, reported).
  for (const failure of await reclaimNetworks(paths, { pod: name, orphans: false })) process.stderr.write(`peapod: ${failure}\n`);
  if (record?.control) rmSync(record.control, { force: true });
  const dataDir = record?.dataDir ?? pp.data;
  unmountPodDir(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(pp.state, { recursive: true, force: true });
  const stone = keepTombstone && record ? tombstone(last, record) : null;
  if (stone) writeJsonAtomic(pp.podFile, stone);
}

/** Whatever still lives in the dead pod's cgroups is killed, and the cgroups removed. */
async function reclaimCgroups(record: PodRecord | null): Promise<void> {
  const cgroups = record?.cgroups;
  const driver = cgroups ? detectDriver() : null;
  if (!cgroups || !driver || driver.kind !== cgroups.driver) return;
  const leaves = [...Object.keys(cgroups.containers), 'pause'].map((c) => driver.open(`${cgroups.pod}/${c}`));
  await removePodCgroups(driver.open(cgroups.pod), leaves, undefined);
}

/** Reclaims every stale pod under the root (tombstones stay); returns their names. */
export async function reclaimStalePods(paths: RuntimePaths): Promise<string[]> {
  const dir = join(paths.state, 'pods');
  // Pod network (issue 14): every attachment no live supervisor owns, a DEL that failed before included.
  for (const failure of await reclaimNetworks(paths)) process.stderr.write(`peapod: ${failure}\n`);
  if (!existsSync(dir)) return [];
  const reclaimed: string[] = [];
  for (const name of readdirSync(dir)) {
    const pp = podPaths(paths, name);
    if (name.startsWith(CLAIM_PREFIX)) {
      // A claim its maker never finished: it holds a record and nothing else.
      if (!isLive(readRecord(pp.recordFile))) rmSync(pp.state, { recursive: true, force: true });
      continue;
    }
    // A directory with no record is a tombstone, or a pod being created right now.
    if (!existsSync(pp.recordFile) || isLive(readRecord(pp.recordFile))) continue;
    await reclaimPod(paths, name, true);
    reclaimed.push(name);
  }
  return reclaimed;
}
