// CPU and memory of a live pod and its containers, read from their cgroups:
// memory now, and CPU as the rate between two readings (millicores).
import { detectDriver } from './cgroups/detect.js';
import type { Cgroup } from './cgroups/types.js';
import type { StoredPod } from '../node/store.js';

export interface UsageRow {
  name: string;
  cpuMillis: number;
  memoryBytes: number;
}

export interface PodUsage extends UsageRow {
  containers: UsageRow[];
}

function cgroupsOf(pod: StoredPod): { pod: Cgroup; containers: Array<[string, Cgroup]> } | null {
  const cg = pod.record?.cgroups;
  const driver = cg ? detectDriver() : null;
  if (!cg || !driver || driver.kind !== cg.driver) return null;
  return { pod: driver.open(cg.pod), containers: Object.keys(cg.containers).map((c) => [c, driver.open(`${cg.pod}/${c}`)]) };
}

function sample(cg: Cgroup): { cpuNanos: number; memoryBytes: number } | null {
  try {
    return cg.usage();
  } catch {
    return null; // the pod went away between readings
  }
}

/** Reads every pod's cgroups twice, `intervalMs` apart. Pods without cgroups are left out. */
export async function measureUsage(pods: StoredPod[], intervalMs = 500): Promise<PodUsage[]> {
  const targets = pods.flatMap((p) => {
    const cgs = p.live ? cgroupsOf(p) : null;
    return cgs ? [{ name: p.name, ...cgs }] : [];
  });
  const all = (t: (typeof targets)[number]): Array<[string, Cgroup]> => [['', t.pod], ...t.containers];
  const first = targets.map((t) => all(t).map(([, cg]) => sample(cg)));
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, intervalMs));
  const elapsed = Number(process.hrtime.bigint() - t0);
  return targets.map((t, i) => {
    const rows = all(t).map(([name, cg], j) => {
      const before = first[i]?.[j];
      const after = sample(cg);
      const cpu = before && after ? ((after.cpuNanos - before.cpuNanos) / elapsed) * 1000 : 0;
      return { name, cpuMillis: Math.max(0, Math.round(cpu)), memoryBytes: after?.memoryBytes ?? 0 };
    });
    const [pod, ...containers] = rows;
    return { ...(pod as UsageRow), name: t.name, containers };
  });
}
