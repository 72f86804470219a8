// What a container and a sandbox use, as the CRI's stats report it: CPU
// and memory from their cgroups, the writable layer from its directory,
// the pod's network from pause's /proc/PID/net/dev, its processes from its
// cgroup. Read when asked: the kubelet asks every few seconds, not more.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cgroup } from './cgroups/types.js';

export interface CgroupSample {
  /** Cumulative CPU time, ns. */
  cpuNanos: number;
  memoryBytes: number;
  /** Processes in it now. */
  processes: number;
}

export interface DiskUsage {
  bytes: number;
  inodes: number;
}

export interface InterfaceSample {
  name: string;
  rxBytes: number;
  rxErrors: number;
  txBytes: number;
  txErrors: number;
}

export interface ContainerSample {
  /** When it was read, ns since the epoch. */
  timestamp: number;
  cgroup: CgroupSample | null;
  writableLayer: DiskUsage & { path: string };
}

export interface SandboxSample {
  timestamp: number;
  cgroup: CgroupSample | null;
  interfaces: InterfaceSample[];
}

export function sampleCgroup(cgroup: Cgroup | undefined): CgroupSample | null {
  if (!cgroup) return null;
  try {
    const usage = cgroup.usage();
    return { cpuNanos: usage.cpuNanos, memoryBytes: usage.memoryBytes, processes: cgroup.pids().length };
  } catch {
    // Removed meanwhile (a sandbox going away): nothing to say.
    return null;
  }
}

/** Bytes and inodes under `dir`, not following links nor crossing into what is mounted there. */
export function diskUsage(dir: string): DiskUsage {
  let bytes = 0;
  let inodes = 0;
  let dev: number | undefined;
  const walk = (path: string): void => {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    dev ??= st.dev;
    if (st.dev !== dev) return;
    inodes++;
    bytes += st.blocks * 512;
    if (!st.isDirectory()) return;
    let names: string[] = [];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const n of names) walk(join(path, n));
  };
  walk(dir);
  return { bytes, inodes };
}

/** The interfaces of a process's network namespace, loopback left out (/proc/PID/net/dev). */
export function networkInterfaces(pid: number): InterfaceSample[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .slice(2)
    .flatMap((line) => {
      const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
      if (!m || m[1] === 'lo') return [];
      const f = (m[2] as string).trim().split(/\s+/).map(Number);
      return [{ name: m[1] as string, rxBytes: f[0] ?? 0, rxErrors: f[2] ?? 0, txBytes: f[8] ?? 0, txErrors: f[10] ?? 0 }];
    });
}

export function nowNanos(): number {
  return Date.now() * 1e6;
}
