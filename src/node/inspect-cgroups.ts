// The cgroup limits a process lives under, read from the kernel: which
// cgroup /proc/PID/cgroup names for each controller, then that cgroup's own
// files (memory.max or memory.limit_in_bytes, cpu.max or cpu.cfs_quota_us,
// pids.max). v1 and v2 alike, and a hybrid host (v1 controllers beside an
// empty unified tree) reads each limit where its controller is. Never writes.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { leavesRoot } from '../plan/scoped-path.js';
import type { MountinfoEntry } from '../runtime/mountinfo.js';

/** A limit: a number, "max" (the kernel's word for none), or null when the controller is not there. */
export type Limit = number | 'max' | null;

export interface CgroupLimits {
  /** The cgroup's path below its hierarchy's root, as /proc/PID/cgroup names it (the memory one, else v2's). */
  path: string;
  memoryBytes: Limit;
  /** CPU quota and period in microseconds; millicores = 1000 * quota / period. */
  cpu: { quotaUs: number; periodUs: number } | 'max' | null;
  pids: Limit;
}

/** One line of /proc/PID/cgroup: "hierarchy-id:controllers:path" (v2: "0::path"). */
export interface CgroupMembership {
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.push({ controllers: m[1] === '' ? [] : (m[1] as string).split(','), path: m[2] as string });
  }
  return out;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** v1 memory.limit_in_bytes says "none" with the page counter's maximum (about 2^63), rounded to a page. */
const V1_UNLIMITED = 2 ** 62;

function limitOf(text: string | null): Limit {
  if (text === null) return null;
  if (text === 'max' || text === '-1') return 'max';
  const n = Number(text);
  if (!Number.isFinite(n)) return null;
  return n >= V1_UNLIMITED ? 'max' : n;
}

/** Where a cgroup's files are: the mount of its hierarchy, relative to that mount's root. */
function directory(mounts: readonly MountinfoEntry[], membership: CgroupMembership | undefined, v2: boolean): string | null {
  if (!membership) return null;
  const mount = mounts.find((m) =>
    v2 ? m.fsType === 'cgroup2' : m.fsType === 'cgroup' && membership.controllers.every((c) => m.superOptions.includes(c)),
  );
  if (!mount) return null;
  const rel = posix.relative(mount.root, membership.path);
  if (leavesRoot(rel)) return null;
  return posix.join(mount.mountPoint, rel);
}

/**
 * The limits of the cgroup a process is in (its /proc/PID/cgroup lines), or
 * of the one `up` levels above it (the pod's cgroup is its members' parent).
 */
export function cgroupLimits(memberships: readonly CgroupMembership[], mounts: readonly MountinfoEntry[], up = 0): CgroupLimits {
  const climb = (m: CgroupMembership | undefined): CgroupMembership | undefined => {
    if (!m) return undefined;
    let path = m.path;
    for (let i = 0; i < up; i++) path = posix.dirname(path);
    return { ...m, path };
  };
  const v1 = (controller: string): string | null =>
    directory(mounts, climb(memberships.find((m) => m.controllers.includes(controller))), false);
  const unified = directory(mounts, climb(memberships.find((m) => m.controllers.length === 0)), true);
  const file = (v1Dir: string | null, v1Name: string, v2Name: string): string | null => {
    if (v1Dir) {
      const text = readText(posix.join(v1Dir, v1Name));
      if (text !== null) return text;
    }
    return unified ? readText(posix.join(unified, v2Name)) : null;
  };

  const memDir = v1('memory');
  const cpuDir = v1('cpu');
  const memoryBytes = limitOf(file(memDir, 'memory.limit_in_bytes', 'memory.max'));
  const pids = limitOf(file(v1('pids'), 'pids.max', 'pids.max'));
  let cpu: CgroupLimits['cpu'] = null;
  const quota = cpuDir ? readText(posix.join(cpuDir, 'cpu.cfs_quota_us')) : null;
  if (quota !== null && cpuDir) {
    const period = Number(readText(posix.join(cpuDir, 'cpu.cfs_period_us')));
    cpu = quota === '-1' ? 'max' : { quotaUs: Number(quota), periodUs: period };
  } else if (unified) {
    const max = readText(posix.join(unified, 'cpu.max'))?.split(/\s+/);
    if (max) cpu = max[0] === 'max' ? 'max' : { quotaUs: Number(max[0]), periodUs: Number(max[1]) };
  }
  const named = climb(memberships.find((m) => m.controllers.includes('memory')) ?? memberships.find((m) => m.controllers.length === 0));
  return { path: named?.path ?? '?', memoryBytes, cpu, pids };
}

/**
 * The limits of the cgroup process `pid` is in (`up` levels above it: 1 for
 * the pod's), found through the host's mounts; null if it is gone.
 */
export function cgroupLimitsOf(pid: number, mounts: readonly MountinfoEntry[], up = 0): CgroupLimits | null {
  const text = readText(`/proc/${pid}/cgroup`);
  if (text === null) return null;
  return cgroupLimits(parseProcCgroup(text), mounts, up);
}
