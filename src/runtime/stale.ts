// Reclaiming what a dead supervisor left: a pod whose supervisor is gone is
// stale (PDEATHSIG has already killed its pause, and with it the pod's
// processes); its mounts, directories and record are removed here.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { podPaths, type RuntimePaths } from './paths.js';
import { unmountPodDir } from './pod-files.js';
import { isSameProcess } from './proc.js';
import { readRecord, type PodRecord } from './state.js';

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

/** Removes one stale pod. The caller has checked it is not live. */
export function reclaimPod(paths: RuntimePaths, name: string): void {
  const pp = podPaths(paths, name);
  const record = readRecord(pp.recordFile);
  if (record?.sandbox) killIfSame(record.sandbox.pid, record.sandbox.startTime);
  for (const c of Object.values(record?.containers ?? {})) killIfSame(c.pid, c.startTime);
  const dataDir = record?.dataDir ?? pp.data;
  unmountPodDir(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(pp.state, { recursive: true, force: true });
}

/** Reclaims every stale pod under the root; returns their names. */
export function reclaimStalePods(paths: RuntimePaths): string[] {
  const dir = join(paths.state, 'pods');
  if (!existsSync(dir)) return [];
  const reclaimed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (isLive(readRecord(podPaths(paths, name).recordFile))) continue;
    reclaimPod(paths, name);
    reclaimed.push(name);
  }
  return reclaimed;
}
