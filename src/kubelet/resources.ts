// The kubelet's resource arithmetic for a pod's cgroups: a container's
// limits from resources.limits; the pod's the sum of its containers' when
// every one has a limit (the larger of that and any init container's), and
// the pod-level pids limit (the kubelet's --pod-max-pids). The runtime is
// handed the numbers (container-config.ts), never the quantities.
import type { Limits } from '../runtime/cgroups/types.js';
import { bytes, cpuMillis } from '../manifest/quantity.js';
import type { Container, PodSpec } from '../manifest/types.js';

export const DEFAULT_POD_PIDS_LIMIT = 4096;

/** The cgroup every pod's cgroup goes under (the kubelet's --cgroup-root): `peapod`, or PEAPOD_CGROUP_PARENT. */
export function cgroupParentFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.PEAPOD_CGROUP_PARENT ?? 'peapod';
}

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

