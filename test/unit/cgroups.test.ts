// The cgroup drivers' limit code on fake cgroup trees (plain directories):
// which file gets which value, for v1 and v2.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cgroupMounts, detectDriver } from '../../src/runtime/cgroups/detect.js';
import { containerLimits, podLimits } from '../../src/kubelet/resources.js';
import { lastOomVictim, parseOomKills } from '../../src/runtime/cgroups/oom-log.js';
import { V1Driver } from '../../src/runtime/cgroups/v1.js';
import { singleProcessOOMKillFromEnv } from '../../src/runtime/runtime-service.js';
import { V2Driver } from '../../src/runtime/cgroups/v2.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'peapod-fakecg-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const read = (...p: string[]): string => readFileSync(join(dir, ...p), 'utf8');

describe('cgroup v2 driver (fake tree)', () => {
  it('enables memory, cpu and pids down the tree and writes memory.max, cpu.max, pids.max', () => {
    for (const d of ['', 'peapod', 'peapod/podX']) {
      mkdirSync(join(dir, d), { recursive: true });
      writeFileSync(join(dir, d, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    }
    const cg = new V2Driver(dir).create('peapod/podX/web');
    expect(read('cgroup.subtree_control')).toBe('+memory +cpu +pids');
    expect(read('peapod', 'podX', 'cgroup.subtree_control')).toBe('+memory +cpu +pids');
    cg.setLimits({ memoryBytes: 64 * 1024 * 1024, cpuMillis: 200, pids: 64 });
    expect(read('peapod/podX/web/memory.max')).toBe('67108864');
    expect(read('peapod/podX/web/cpu.max')).toBe('20000 100000');
    expect(read('peapod/podX/web/pids.max')).toBe('64');
    expect(cg.procsFiles).toEqual([join(dir, 'peapod/podX/web/cgroup.procs')]);
  });
  it('reads usage and OOM kills from memory.current, cpu.stat and memory.events', () => {
    const cg = new V2Driver(dir).create('p');
    writeFileSync(join(dir, 'p', 'memory.current'), '4096\n');
    writeFileSync(join(dir, 'p', 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\n');
    writeFileSync(join(dir, 'p', 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    expect(cg.usage()).toEqual({ memoryBytes: 4096, cpuNanos: 1_500_000 });
    expect(cg.oomKills()).toBe(1);
  });
});

describe('OOM kills: the whole container (memory.oom.group), and which process the kernel chose', () => {
  it('sets memory.oom.group on v2 where the memory controller has it, and says when it cannot', () => {
    const cg = new V2Driver(dir).create('p');
    expect(cg.setOomGroup(true)).toBe(false);
    writeFileSync(join(dir, 'p', 'memory.oom.group'), '0\n');
    expect(cg.setOomGroup(true)).toBe(true);
    expect(read('p', 'memory.oom.group')).toBe('1');
    cg.setOomGroup(false);
    expect(read('p', 'memory.oom.group')).toBe('0');
  });
  // As /dev/kmsg gave them on this machine (kernel 6.18), after the record prefix.
  const log = [
    'tail invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0',
    'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/peapod/podA/hog,task_memcg=/peapod/podA/hog,task=tail,pid=32561,uid=0',
    'Memory cgroup out of memory: Killed process 32561 (tail) total-vm:18812kB, anon-rss:15872kB, file-rss:1556kB, shmem-rss:0kB, UID:0 pgtables:72kB oom_score_adj:0',
    'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/peapod/podB,task_memcg=/peapod/podB/other,task=node,pid=4000,uid=0',
    'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/peapod/podA/hog,task_memcg=/peapod/podA/hog,task=sh,pid=32600,uid=0',
  ];
  it('reads the victims from the kernel log, and the last one of a cgroup', () => {
    expect(parseOomKills(log).map((v) => [v.pid, v.comm, v.memcg])).toEqual([
      [32561, 'tail', '/peapod/podA/hog'],
      [4000, 'node', '/peapod/podB/other'],
      [32600, 'sh', '/peapod/podA/hog'],
    ]);
    expect(lastOomVictim('peapod/podA/hog', log)).toEqual({ pid: 32600, comm: 'sh', memcg: '/peapod/podA/hog' });
    expect(lastOomVictim('peapod/podB/other', log.slice(0, 4))?.comm).toBe('node');
    expect(lastOomVictim('peapod/podC/x', log)).toBeUndefined();
  });
  it('is switched per node by PEAPOD_SINGLE_PROCESS_OOM_KILL (default: the whole container)', () => {
    expect(singleProcessOOMKillFromEnv({})).toBe(false);
    expect(singleProcessOOMKillFromEnv({ PEAPOD_SINGLE_PROCESS_OOM_KILL: 'true' })).toBe(true);
    expect(singleProcessOOMKillFromEnv({ PEAPOD_SINGLE_PROCESS_OOM_KILL: '0' })).toBe(false);
    expect(() => singleProcessOOMKillFromEnv({ PEAPOD_SINGLE_PROCESS_OOM_KILL: 'yes' })).toThrow('PEAPOD_SINGLE_PROCESS_OOM_KILL=yes: expected true or false');
  });
});

describe('cgroup v1 driver (fake tree)', () => {
  it('writes one directory per controller, memory with memsw, and the CFS quota', () => {
    const mounts = new Map(['memory', 'cpu', 'cpuacct', 'pids', 'freezer'].map((c) => [c as 'memory', join(dir, c)]));
    const cg = new V1Driver(mounts).create('peapod/podX/web');
    writeFileSync(join(dir, 'memory/peapod/podX/web/memory.memsw.limit_in_bytes'), '');
    cg.setLimits({ memoryBytes: 1 << 20, cpuMillis: 1500, pids: 10 });
    expect(read('memory/peapod/podX/web/memory.limit_in_bytes')).toBe('1048576');
    expect(read('memory/peapod/podX/web/memory.memsw.limit_in_bytes')).toBe('1048576');
    expect(read('cpu/peapod/podX/web/cpu.cfs_period_us')).toBe('100000');
    expect(read('cpu/peapod/podX/web/cpu.cfs_quota_us')).toBe('150000');
    expect(read('pids/peapod/podX/web/pids.max')).toBe('10');
    expect(cg.procsFiles).toHaveLength(5);
    writeFileSync(join(dir, 'memory/peapod/podX/web/memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    expect(cg.oomKills()).toBe(2);
  });
});

describe('driver detection', () => {
  const v1 = [
    '31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
    '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
    '32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
    '41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
  ].join('\n');
  it('picks v1 hierarchies on a hybrid host and v2 on a unified one', () => {
    expect(detectDriver(cgroupMounts(v1))?.kind).toBe('v1');
    expect(detectDriver(cgroupMounts('30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw'))?.kind).toBe('v2');
    expect(detectDriver(cgroupMounts(''))).toBeNull();
  });
});

describe('pod and container limits', () => {
  const c = (name: string, limits?: Record<string, string>): { name: string; image: string; resources?: { limits: Record<string, string> } } => ({ name, image: 'busybox', ...(limits ? { resources: { limits } } : {}) });
  it('takes a container’s limits in bytes and millicores', () => {
    expect(containerLimits(c('a', { memory: '64Mi', cpu: '200m' }))).toEqual({ memoryBytes: 64 * 1024 * 1024, cpuMillis: 200 });
  });
  it('sums the containers’ limits for the pod only when every container has one', () => {
    expect(podLimits({ containers: [c('a', { memory: '1Gi', cpu: '1' }), c('b', { memory: '1Gi', cpu: '500m' })] }, 64)).toEqual({ pids: 64, memoryBytes: 2 ** 31, cpuMillis: 1500 });
    expect(podLimits({ containers: [c('a', { memory: '1Gi' }), c('b')] }, 64)).toEqual({ pids: 64 });
  });
});

describe('admission arithmetic', async () => {
  const { admit, nodeAllocatable, podRequests } = await import('../../src/kubelet/admission.js');
  const c = (name: string, requests: Record<string, string>, limits?: Record<string, string>): { name: string; image: string; resources: { requests: Record<string, string>; limits?: Record<string, string> } } => ({
    name,
    image: 'busybox',
    resources: { requests, ...(limits ? { limits } : {}) },
  });
  it('sums app containers, takes the larger of that and any init container, and defaults requests to limits', () => {
    expect(podRequests({ containers: [c('a', { memory: '1Gi' }), c('b', { memory: '1Gi', cpu: '250m' })] })).toEqual({ memoryBytes: 2 ** 31, cpuMillis: 250 });
    expect(podRequests({ containers: [c('a', { cpu: '100m' })], initContainers: [c('i', { cpu: '2' })] })).toEqual({ memoryBytes: 0, cpuMillis: 2000 });
    expect(podRequests({ containers: [{ name: 'l', image: 'busybox', resources: { limits: { memory: '64Mi' } } }] }).memoryBytes).toBe(64 * 2 ** 20);
  });
  it('takes the override, and the system reserve off the host', () => {
    expect(nodeAllocatable('memory=2Gi,cpu=2')).toMatchObject({ memoryBytes: 2 ** 31, cpuMillis: 2000 });
    const full = nodeAllocatable(undefined, 'memory=0');
    expect(nodeAllocatable(undefined, 'memory=1Gi').memoryBytes).toBe(full.memoryBytes - 2 ** 30);
    expect(() => nodeAllocatable('disk=1Gi')).toThrow(/only memory and cpu/);
  });
  it('refuses with the kubelet’s reason, what is asked and what is left', () => {
    const spec = { containers: [c('a', { memory: '1Gi' }), c('b', { memory: '1Gi' })] };
    expect(() => admit('p', spec, { memoryBytes: 3 * 2 ** 30, cpuMillis: 1000 }, [spec])).toThrow(
      'OutOfmemory: pod "p" requests memory 2Gi in all, and this node has 1Gi left (allocatable 3Gi, 2Gi requested by 1 running pod); nothing was started',
    );
  });
});
