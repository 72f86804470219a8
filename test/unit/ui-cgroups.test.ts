// Reading a process's cgroup limits: /proc/PID/cgroup's lines mapped onto
// the hierarchies' mounts, v1, v2 and a mount whose root is not "/", on a
// made-up tree of cgroup files (no root needed).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MountinfoEntry } from '../../src/runtime/mountinfo.js';
import { cgroupLimits, parseProcCgroup } from '../../src/node/inspect-cgroups.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function files(base: string, entries: Record<string, string>): void {
  for (const [path, text] of Object.entries(entries)) {
    mkdirSync(join(base, path, '..'), { recursive: true });
    writeFileSync(join(base, path), `${text}\n`);
  }
}

function mount(point: string, fsType: string, options: string[], root = '/'): MountinfoEntry {
  return { id: 1, parent: 0, dev: '0:1', root, mountPoint: point, options: ['rw'], fsType, source: fsType, superOptions: ['rw', ...options] };
}

describe('cgroup limits of a process', () => {
  it('reads v1 controllers, and the pod one level up', () => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-cg-'));
    files(dir, {
      'memory/peapod/podU/c0/memory.limit_in_bytes': '67108864',
      'memory/peapod/podU/memory.limit_in_bytes': '9223372036854771712',
      'cpu/peapod/podU/c0/cpu.cfs_quota_us': '50000',
      'cpu/peapod/podU/c0/cpu.cfs_period_us': '100000',
      'cpu/peapod/podU/cpu.cfs_quota_us': '-1',
      'cpu/peapod/podU/cpu.cfs_period_us': '100000',
      'pids/peapod/podU/c0/pids.max': 'max',
      'pids/peapod/podU/pids.max': '4096',
    });
    const mounts = [mount(join(dir, 'memory'), 'cgroup', ['memory']), mount(join(dir, 'cpu'), 'cgroup', ['cpu']), mount(join(dir, 'pids'), 'cgroup', ['pids']), mount(join(dir, 'unified'), 'cgroup2', [])];
    const lines = parseProcCgroup('9:pids:/peapod/podU/c0\n4:memory:/peapod/podU/c0\n1:cpu:/peapod/podU/c0\n0::/\n');
    expect(cgroupLimits(lines, mounts)).toEqual({ path: '/peapod/podU/c0', memoryBytes: 67108864, cpu: { quotaUs: 50000, periodUs: 100000 }, pids: 'max' });
    expect(cgroupLimits(lines, mounts, 1)).toEqual({ path: '/peapod/podU', memoryBytes: 'max', cpu: 'max', pids: 4096 });
  });

  it('reads v2 files, and finds a cgroup below a mount whose root is not /', () => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-cg-'));
    files(dir, { 'fs/peapod/podU/c0/memory.max': 'max', 'fs/peapod/podU/c0/cpu.max': '25000 100000', 'fs/peapod/podU/c0/pids.max': '64' });
    const mounts = [mount(join(dir, 'fs'), 'cgroup2', [], '/outer')];
    expect(cgroupLimits(parseProcCgroup('0::/outer/peapod/podU/c0\n'), mounts)).toEqual({ path: '/outer/peapod/podU/c0', memoryBytes: 'max', cpu: { quotaUs: 25000, periodUs: 100000 }, pids: 64 });
    // A cgroup outside what is mounted cannot be read: null, not a guess.
    expect(cgroupLimits(parseProcCgroup('0::/elsewhere\n'), mounts)).toMatchObject({ memoryBytes: null, cpu: null, pids: null });
  });
});
