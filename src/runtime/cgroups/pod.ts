// The cgroup layout of a pod: limits per container from resources.limits,
// the pod's own the sum of its containers' when every one has a limit, and
// a pod-level pids limit; removal, leaves first.
import { bytes, cpuMillis } from '../../spec/quantity.js';
import type { Container, PodSpec } from '../../spec/types.js';
import type { Cgroup, Limits } from './types.js';

export const DEFAULT_POD_PIDS_LIMIT = 4096;

export function podPidsLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.PEAPOD_POD_PIDS_LIMIT;
  if (v === undefined || v === '') return DEFAULT_POD_PIDS_LIMIT;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`PEAPOD_POD_PIDS_LIMIT=${v}: expected a whole number >= 1`);
  return n;
}

export function containerLimits(c: Container): Limits {
  const limits = c.resources?.limits ?? {};
  const out: Limits = {};
  if (limits.memory !== undefined) out.memoryBytes = bytes(limits.memory);
  if (limits.cpu !== undefined) out.cpuMillis = cpuMillis(limits.cpu);
  return out;
}

export function podLimits(spec: PodSpec, pids: number): Limits {
  const all = [...spec.containers];
  const out: Limits = { pids };
  const sum = (key: 'memoryBytes' | 'cpuMillis'): number | undefined => {
    const values = all.map((c) => containerLimits(c)[key]);
    if (values.some((v) => v === undefined)) return undefined;
    // Init containers run alone, before the others: the pod needs the larger.
    const apps = (values as number[]).reduce((a, b) => a + b, 0);
    const inits = (spec.initContainers ?? []).map((c) => containerLimits(c)[key] ?? Infinity);
    return Math.max(apps, ...inits);
  };
  const memory = sum('memoryBytes');
  const cpu = sum('cpuMillis');
  if (memory !== undefined && Number.isFinite(memory)) out.memoryBytes = memory;
  if (cpu !== undefined && Number.isFinite(cpu)) out.cpuMillis = cpu;
  return out;
}

/** Kills what is left in each cgroup, then removes containers', pause's, and the pod's. */
export async function removePodCgroups(pod: Cgroup | undefined, containers: ReadonlyArray<Cgroup | undefined>, sandbox: Cgroup | undefined): Promise<void> {
  if (!pod) return;
  for (const cg of [...containers, sandbox]) {
    if (!cg) continue;
    await cg.killAll();
    await cg.remove();
  }
  await pod.killAll();
  await pod.remove();
  await pod.removeParentIfEmpty?.();
}
