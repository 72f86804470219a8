// cgroup v1: one hierarchy per controller (memory, cpu, cpuacct, pids,
// freezer), as on these machines. A container's cgroup is a directory of
// the same name in each; killing everything is freeze, kill, thaw, so no
// process can fork a new one between the read of the list and the kill.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { watchMemcgOom, type OomNotice } from '../../native/addon.js';
import { noticeQueue } from './oom-notices.js';
import { keyValues, mkdirCg, readCg, readPids, removeCgDir, removeIfEmpty, sleep, subdirectories, writeCg } from './files.js';
import { CgroupError, type Cgroup, type CgroupDriver, type Limits, type OomWatch, type Usage } from './types.js';

export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer'] as const;
type Controller = (typeof V1_CONTROLLERS)[number];

const CFS_PERIOD_US = 100_000;

export class V1Cgroup implements Cgroup {
  readonly procsFiles: string[];

  constructor(
    private readonly mounts: ReadonlyMap<Controller, string>,
    readonly path: string,
  ) {
    this.procsFiles = [...mounts.values()].map((m) => join(m, path, 'cgroup.procs'));
  }

  private dir(c: Controller): string {
    const mount = this.mounts.get(c);
    if (!mount) throw new CgroupError(`cgroup v1 controller ${c} is not mounted`);
    return join(mount, this.path);
  }

  private has(c: Controller): boolean {
    return this.mounts.has(c);
  }

  setLimits(limits: Limits): void {
    if (limits.memoryBytes !== undefined && this.has('memory')) {
      writeCg(join(this.dir('memory'), 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // With swap, memory+swap must be capped too, or the limit only pushes pages out.
      const memsw = join(this.dir('memory'), 'memory.memsw.limit_in_bytes');
      if (existsSync(memsw)) writeCg(memsw, String(limits.memoryBytes));
    }
    if (limits.cpuMillis !== undefined && this.has('cpu')) {
      writeCg(join(this.dir('cpu'), 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
      writeCg(join(this.dir('cpu'), 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round((limits.cpuMillis * CFS_PERIOD_US) / 1000))));
    }
    if (limits.pids !== undefined && this.has('pids')) writeCg(join(this.dir('pids'), 'pids.max'), String(limits.pids));
  }

  usage(): Usage {
    const memoryBytes = this.has('memory') ? Number(readCg(join(this.dir('memory'), 'memory.usage_in_bytes'))) : 0;
    const cpuNanos = this.has('cpuacct') ? Number(readCg(join(this.dir('cpuacct'), 'cpuacct.usage'))) : 0;
    return { memoryBytes, cpuNanos };
  }

  oomKills(): number {
    if (!this.has('memory')) return 0;
    return keyValues(readCg(join(this.dir('memory'), 'memory.oom_control'))).get('oom_kill') ?? 0;
  }

  frozen(): boolean {
    if (!this.has('freezer')) return false;
    try {
      return readCg(join(this.dir('freezer'), 'freezer.state')).trim() !== 'THAWED';
    } catch {
      return false;
    }
  }

  watchOom(groupKill: boolean, onKill: () => void): OomWatch | undefined {
    if (!this.has('memory')) return undefined;
    const freezer = groupKill && this.has('freezer') ? join(this.dir('freezer'), 'freezer.state') : '';
    const kills = (): number => {
      try {
        return this.oomKills();
      } catch {
        return -1;
      }
    };
    let seen = kills();
    const handle = async (notice: OomNotice): Promise<void> => {
      try {
        // Notified before the kernel picks and kills its victim: wait briefly for the kill to be counted.
        let now = kills();
        for (let i = 0; i < 40 && now <= seen && now >= 0; i++) {
          await sleep(5);
          now = kills();
        }
        if (now <= seen) return;
        seen = now;
        if (groupKill) await this.killAll();
        onKill();
      } finally {
        // Frozen at the notification: never left so (an empty frozen cgroup would freeze the next attempt).
        if (notice.frozen && existsSync(freezer)) writeCg(freezer, 'THAWED');
      }
    };
    const notices = noticeQueue(handle);
    try {
      const unwatch = watchMemcgOom(this.dir('memory'), freezer, (notice) => notices.notify(notice));
      return {
        stop: () => {
          unwatch();
          return notices.settled();
        },
      };
    } catch {
      // No cgroup.event_control (a kernel without it): the exit still tells OOMKilled from the count.
      return undefined;
    }
  }

  pids(): number[] {
    const first = this.procsFiles[0];
    return first ? readPids(first) : [];
  }

  async killAll(): Promise<void> {
    // Empty (the usual case at teardown): no freeze round-trip needed.
    if (!this.exists() || this.pids().length === 0) return;
    const freezer = this.has('freezer') ? join(this.dir('freezer'), 'freezer.state') : undefined;
    if (freezer && existsSync(freezer)) {
      writeCg(freezer, 'FROZEN');
      // Freezing is asynchronous: wait until every task is frozen.
      for (let i = 0; i < 200 && readCg(freezer).trim() === 'FREEZING'; i++) await sleep(5);
    }
    for (let round = 0; round < 50; round++) {
      const pids = this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      if (freezer && existsSync(freezer)) writeCg(freezer, 'THAWED');
      await sleep(round === 0 ? 1 : 10);
    }
    if (freezer && existsSync(freezer)) writeCg(freezer, 'THAWED');
  }

  async remove(): Promise<void> {
    for (const c of this.mounts.keys()) await removeCgDir(this.dir(c));
  }

  async removeParentIfEmpty(): Promise<void> {
    for (const c of this.mounts.keys()) removeIfEmpty(dirname(this.dir(c)));
  }

  children(): Cgroup[] {
    const names = new Set<string>();
    for (const c of this.mounts.keys()) for (const n of subdirectories(this.dir(c))) names.add(n);
    return [...names].map((n) => new V1Cgroup(this.mounts, join(this.path, n)));
  }

  exists(): boolean {
    return [...this.mounts.keys()].some((c) => existsSync(this.dir(c)));
  }
}

export class V1Driver implements CgroupDriver {
  readonly kind = 'v1' as const;
  constructor(private readonly mounts: ReadonlyMap<Controller, string>) {}

  create(path: string): Cgroup {
    for (const mount of this.mounts.values()) mkdirCg(join(mount, path));
    return new V1Cgroup(this.mounts, path);
  }

  open(path: string): Cgroup {
    return new V1Cgroup(this.mounts, path);
  }

  exists(path: string): boolean {
    return [...this.mounts.values()].some((m) => existsSync(join(m, path)));
  }
}

export function v1Controllers(): readonly Controller[] {
  return V1_CONTROLLERS;
}
