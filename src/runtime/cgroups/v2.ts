// cgroup v2: one unified tree. Limits are memory.max, cpu.max and
// pids.max (enabled for children through cgroup.subtree_control); killing
// is cgroup.kill, which the kernel does atomically for the whole subtree.
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { keyValues, mkdirCg, readCg, readPids, removeCgDir, removeIfEmpty, sleep, subdirectories, writeCg } from './files.js';
import type { Cgroup, CgroupDriver, Limits, Usage } from './types.js';

const CPU_PERIOD_US = 100_000;

export class V2Cgroup implements Cgroup {
  readonly procsFiles: string[];
  private readonly dir: string;

  constructor(
    private readonly root: string,
    readonly path: string,
  ) {
    this.dir = join(root, path);
    this.procsFiles = [join(this.dir, 'cgroup.procs')];
  }

  setLimits(limits: Limits): void {
    if (limits.memoryBytes !== undefined) writeCg(join(this.dir, 'memory.max'), String(limits.memoryBytes));
    if (limits.cpuMillis !== undefined) {
      const quota = Math.max(1000, Math.round((limits.cpuMillis * CPU_PERIOD_US) / 1000));
      writeCg(join(this.dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
    }
    if (limits.pids !== undefined) writeCg(join(this.dir, 'pids.max'), String(limits.pids));
  }

  usage(): Usage {
    const mem = join(this.dir, 'memory.current');
    const memoryBytes = existsSync(mem) ? Number(readCg(mem)) : 0;
    const usec = keyValues(readCg(join(this.dir, 'cpu.stat'))).get('usage_usec') ?? 0;
    return { memoryBytes, cpuNanos: usec * 1000 };
  }

  oomKills(): number {
    const events = join(this.dir, 'memory.events');
    return existsSync(events) ? (keyValues(readCg(events)).get('oom_kill') ?? 0) : 0;
  }

  setOomGroup(on: boolean): boolean {
    const file = join(this.dir, 'memory.oom.group');
    if (!existsSync(file)) return false;
    writeCg(file, on ? '1' : '0');
    return true;
  }

  pids(): number[] {
    return readPids(this.procsFiles[0] as string);
  }

  /** True while processes live in the cgroup or below it (cgroup.events populated). */
  populated(): boolean {
    return keyValues(readCg(join(this.dir, 'cgroup.events'))).get('populated') === 1;
  }

  freeze(frozen: boolean): void {
    writeCg(join(this.dir, 'cgroup.freeze'), frozen ? '1' : '0');
  }

  frozen(): boolean {
    return keyValues(readCg(join(this.dir, 'cgroup.events'))).get('frozen') === 1;
  }

  async killAll(): Promise<void> {
    if (!existsSync(this.dir) || !this.populated()) return;
    writeCg(join(this.dir, 'cgroup.kill'), '1');
    for (let i = 0; i < 200 && this.populated(); i++) await sleep(5);
  }

  async remove(): Promise<void> {
    await removeCgDir(this.dir);
  }

  async removeParentIfEmpty(): Promise<void> {
    removeIfEmpty(dirname(this.dir));
  }

  children(): Cgroup[] {
    return subdirectories(this.dir).map((n) => new V2Cgroup(this.root, join(this.path, n)));
  }

  get rootDir(): string {
    return this.root;
  }
}

export class V2Driver implements CgroupDriver {
  readonly kind = 'v2' as const;
  constructor(private readonly root: string) {}

  create(path: string): V2Cgroup {
    mkdirCg(join(this.root, path));
    this.enableControllers(path);
    return new V2Cgroup(this.root, path);
  }

  /** Limits need each ancestor to hand its controllers down (subtree_control). */
  private enableControllers(path: string): void {
    const wanted = ['memory', 'cpu', 'pids'];
    let dir = dirname(join(this.root, path));
    const chain: string[] = [];
    while (relative(this.root, dir) !== '..' && dir.startsWith(this.root)) {
      chain.unshift(dir);
      if (dir === this.root) break;
      dir = dirname(dir);
    }
    for (const d of chain) {
      if (!existsSync(join(d, 'cgroup.controllers'))) continue;
      const available = readCg(join(d, 'cgroup.controllers')).trim().split(/\s+/).filter(Boolean);
      const enable = wanted.filter((c) => available.includes(c));
      if (enable.length > 0) writeCg(join(d, 'cgroup.subtree_control'), enable.map((c) => `+${c}`).join(' '));
    }
  }

  open(path: string): V2Cgroup {
    return new V2Cgroup(this.root, path);
  }

  exists(path: string): boolean {
    return existsSync(join(this.root, path));
  }
}
