// Small, checked file operations on cgroupfs: every error names the file.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { CgroupError } from './types.js';

export function readCg(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CgroupError(`read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function writeCg(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    throw new CgroupError(`write "${value}" to ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function mkdirCg(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw new CgroupError(`mkdir ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function readPids(procsFile: string): number[] {
  if (!existsSync(procsFile)) return [];
  return readCg(procsFile)
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

/** A flat `key value` file (memory.stat, memory.events, cpu.stat, memory.oom_control). */
export function keyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

/**
 * rmdir of a cgroup fails with EBUSY while a dying process is still
 * accounted to it; it clears within milliseconds, so try a little while.
 */
export async function removeCgDir(path: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      rmdirSync(path);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) throw new CgroupError(`rmdir ${path}: ${code}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The names of the directories in a cgroup's directory (its child cgroups); none when it is gone. */
export function subdirectories(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** rmdir that leaves a directory still in use alone (another pod's parent). */
export function removeIfEmpty(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // ENOTEMPTY/EBUSY: another pod still uses it; ENOENT: gone already.
  }
}
