// The CRI's stats messages from the runtime's samples (src/runtime/stats.ts):
// cumulative CPU, and the CPU rate (nano-cores) between this reading and
// the previous one of the same container or sandbox; memory as usage and
// working set (the cgroup's usage: peapod does not subtract the page cache
// the kernel could reclaim); the writable layer; the pod's interfaces.
import type { ContainerStatus, PodSandboxStatus } from '../runtime/api.js';
import type { RuntimeService } from '../runtime/runtime-service.js';
import type { CgroupSample } from '../runtime/stats.js';

/** The previous CPU reading of each container and sandbox, for the rate. */
export type StatsMemory = Map<string, { timestamp: number; cpuNanos: number }>;

const value = (n: number): { value: number } => ({ value: Math.max(0, Math.round(n)) });

function cpu(id: string, timestamp: number, sample: CgroupSample | null, memory: StatsMemory): object {
  const cpuNanos = sample?.cpuNanos ?? 0;
  const before = memory.get(id);
  memory.set(id, { timestamp, cpuNanos });
  const elapsed = before ? timestamp - before.timestamp : 0;
  const rate = before && elapsed > 0 ? ((cpuNanos - before.cpuNanos) / elapsed) * 1e9 : undefined;
  return { timestamp, usageCoreNanoSeconds: value(cpuNanos), ...(rate !== undefined ? { usageNanoCores: value(rate) } : {}) };
}

function memoryUsage(timestamp: number, sample: CgroupSample | null): object {
  const bytes = sample?.memoryBytes ?? 0;
  return { timestamp, workingSetBytes: value(bytes), usageBytes: value(bytes) };
}

export function containerStats(rt: RuntimeService, c: ContainerStatus, memory: StatsMemory): object {
  const s = rt.containerStats(c.id);
  return {
    attributes: { id: c.id, metadata: c.metadata, labels: c.labels, annotations: c.annotations },
    cpu: cpu(c.id, s.timestamp, s.cgroup, memory),
    memory: memoryUsage(s.timestamp, s.cgroup),
    writableLayer: { timestamp: s.timestamp, fsId: { mountpoint: s.writableLayer.path }, usedBytes: value(s.writableLayer.bytes), inodesUsed: value(s.writableLayer.inodes) },
  };
}

export function podSandboxStats(rt: RuntimeService, s: PodSandboxStatus, containers: ContainerStatus[], memory: StatsMemory): object {
  const sample = rt.podSandboxStats(s.id);
  const [first, ...rest] = sample.interfaces.map((i) => ({ name: i.name, rxBytes: value(i.rxBytes), rxErrors: value(i.rxErrors), txBytes: value(i.txBytes), txErrors: value(i.txErrors) }));
  return {
    attributes: { id: s.id, metadata: s.metadata, labels: s.labels, annotations: s.annotations },
    linux: {
      cpu: cpu(s.id, sample.timestamp, sample.cgroup, memory),
      memory: memoryUsage(sample.timestamp, sample.cgroup),
      network: { timestamp: sample.timestamp, ...(first ? { defaultInterface: first } : {}), interfaces: rest },
      process: { timestamp: sample.timestamp, processCount: value(sample.cgroup?.processes ?? 0) },
      containers: containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => containerStats(rt, c, memory)),
    },
  };
}
