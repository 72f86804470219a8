// Admission, all or nothing (seed 003's gang scheduling): a pod's
// requests are summed as Kubernetes sums them and checked against what
// this node has left; a pod that does not fit is refused before anything
// is created, with the kubelet's OutOfmemory / OutOfcpu reasons.
import { cpus, totalmem } from 'node:os';
import { bytes, cpuMillis } from '../manifest/quantity.js';
import type { Container, PodSpec } from '../manifest/types.js';

export interface Resources {
  memoryBytes: number;
  cpuMillis: number;
}

export class AdmissionError extends Error {
  override name = 'AdmissionError';
  constructor(
    readonly reason: 'OutOfmemory' | 'OutOfcpu',
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}

/** A container's request: its requests, else its limits (Kubernetes defaults requests to limits). */
export function containerRequests(c: Container): Resources {
  const pick = (name: string): string | undefined => c.resources?.requests?.[name] ?? c.resources?.limits?.[name];
  const mem = pick('memory');
  const cpu = pick('cpu');
  return { memoryBytes: mem === undefined ? 0 : bytes(mem), cpuMillis: cpu === undefined ? 0 : cpuMillis(cpu) };
}

/** The pod's request: the larger of the biggest init container and the sum of the app containers. */
export function podRequests(spec: PodSpec): Resources {
  const app = spec.containers.map(containerRequests).reduce((a, b) => ({ memoryBytes: a.memoryBytes + b.memoryBytes, cpuMillis: a.cpuMillis + b.cpuMillis }), { memoryBytes: 0, cpuMillis: 0 });
  const init = (spec.initContainers ?? []).map(containerRequests);
  return {
    memoryBytes: Math.max(app.memoryBytes, ...init.map((r) => r.memoryBytes)),
    cpuMillis: Math.max(app.cpuMillis, ...init.map((r) => r.cpuMillis)),
  };
}

/** `memory=2Gi,cpu=2` (Kubernetes quantities), as --node-allocatable takes it. */
export function parseAllocatable(text: string): Partial<Resources> {
  const out: Partial<Resources> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [key, value] = part.split('=');
    if (!value) throw new Error(`node allocatable "${part}": expected NAME=QUANTITY, like memory=2Gi or cpu=2`);
    if (key === 'memory') out.memoryBytes = bytes(value);
    else if (key === 'cpu') out.cpuMillis = cpuMillis(value);
    else throw new Error(`node allocatable "${part}": only memory and cpu are known`);
  }
  return out;
}

let capacityOnce: Resources | undefined;

/**
 * The host's memory and CPUs, read once per process as the kubelet reads its
 * machine info once at start-up: os.cpus() reads /proc/cpuinfo and /proc/stat
 * and os.totalmem() /proc/meminfo, 0.1-0.4 ms at every pod admitted.
 */
function hostCapacity(): Resources {
  return (capacityOnce ??= { memoryBytes: totalmem(), cpuMillis: cpus().length * 1000 });
}

export const DEFAULT_RESERVE: Resources = { memoryBytes: 256 * 1024 * 1024, cpuMillis: 0 };

/**
 * What the node offers pods: the host's memory and cpus minus what is kept
 * for the system (the kubelet's --system-reserved; here `reserved`, or
 * PEAPOD_SYSTEM_RESERVED, as `memory=256Mi,cpu=100m`), unless overridden.
 */
export function nodeAllocatable(override?: string, reserved: string | undefined = process.env.PEAPOD_SYSTEM_RESERVED): Resources {
  const reserve = { ...DEFAULT_RESERVE, ...(reserved ? parseAllocatable(reserved) : {}) };
  const capacity = hostCapacity();
  const host = { memoryBytes: capacity.memoryBytes - reserve.memoryBytes, cpuMillis: capacity.cpuMillis - reserve.cpuMillis };
  return { ...host, ...(override ? parseAllocatable(override) : {}) };
}

/** As Kubernetes writes a quantity: a whole number with the largest binary suffix that divides it (1536Mi, not 1.5Gi). */
export function formatBytes(n: number): string {
  const units: Array<[string, number]> = [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]];
  for (const [u, size] of units) if (n >= size && n % size === 0) return `${n / size}${u}`;
  return String(n);
}

export function formatMillis(m: number): string {
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

/** Throws AdmissionError naming the resource, what the pod asks and what is left. */
export function admit(name: string, spec: PodSpec, allocatable: Resources, admitted: readonly PodSpec[]): void {
  const want = podRequests(spec);
  const used = admitted.map(podRequests).reduce((a, b) => ({ memoryBytes: a.memoryBytes + b.memoryBytes, cpuMillis: a.cpuMillis + b.cpuMillis }), { memoryBytes: 0, cpuMillis: 0 });
  const left = { memoryBytes: allocatable.memoryBytes - used.memoryBytes, cpuMillis: allocatable.cpuMillis - used.cpuMillis };
  if (want.memoryBytes > left.memoryBytes) {
    throw new AdmissionError(
      'OutOfmemory',
      `pod "${name}" requests memory ${formatBytes(want.memoryBytes)} in all, and this node has ${formatBytes(Math.max(left.memoryBytes, 0))} left (allocatable ${formatBytes(allocatable.memoryBytes)}, ${formatBytes(used.memoryBytes)} requested by ${admitted.length} running pod${admitted.length === 1 ? '' : 's'}); nothing was started`,
    );
  }
  if (want.cpuMillis > left.cpuMillis) {
    throw new AdmissionError(
      'OutOfcpu',
      `pod "${name}" requests cpu ${formatMillis(want.cpuMillis)} in all, and this node has ${formatMillis(Math.max(left.cpuMillis, 0))} left (allocatable ${formatMillis(allocatable.cpuMillis)}, ${formatMillis(used.cpuMillis)} requested by ${admitted.length} running pod${admitted.length === 1 ? '' : 's'}); nothing was started`,
    );
  }
}
