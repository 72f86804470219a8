// emptyDir sizeLimit on disk, enforced as the kubelet's eviction manager
// does it: every few seconds the volume's usage is measured, and a pod whose
// emptyDir holds more than its limit is evicted (killed at once, phase
// Failed, reason Evicted, a Warning event). Nothing stops the writes
// themselves: ext4 here has no project quotas, so usage is a walk counting
// the blocks each file holds, as du does. A Memory emptyDir needs none of
// this: its tmpfs is mounted with the limit as its size.
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseQuantity } from '../manifest/quantity.js';
import type { Volume } from '../manifest/types.js';
import { formatBytes } from './admission.js';

/** The kubelet's eviction monitoring period. */
export const DEFAULT_EVICTION_INTERVAL_SECONDS = 10;

export interface LimitedVolume {
  name: string;
  path: string;
  limitBytes: number;
  /** The limit as Kubernetes writes it in the message ("8Mi"). */
  limit: string;
}

/** As the API server stores a byte quantity: binary when written binary ("8Mi"), else decimal ("10M"). */
export function canonicalBytes(text: string): string {
  const q = parseQuantity(text);
  const n = Number(q.value);
  if (q.format === 'BinarySI' && n % 1024 === 0) return formatBytes(n);
  const suffixes = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  let m = q.value;
  while (i < suffixes.length - 1 && m !== 0n && m % 1000n === 0n) {
    m /= 1000n;
    i++;
  }
  return q.format === 'DecimalExponent' ? `${m}${i > 0 ? `e${3 * i}` : ''}` : `${m}${suffixes[i]}`;
}

/** The kubelet's words for it. */
export function emptyDirEvictionMessage(volume: string, limit: string): string {
  return `Usage of EmptyDir volume "${volume}" exceeds the limit "${limit}".`;
}

/** The emptyDirs on disk with a sizeLimit above 0 (the manifest's quantities were checked when it was read). */
export function limitedEmptyDirs(volumes: readonly Volume[], pathOf: (name: string) => string): LimitedVolume[] {
  return volumes.flatMap((v) => {
    const e = v.emptyDir;
    if (!e || e.medium === 'Memory' || !e.sizeLimit) return [];
    const limitBytes = Number(parseQuantity(e.sizeLimit).value);
    return limitBytes > 0 ? [{ name: v.name, path: pathOf(v.name), limitBytes, limit: canonicalBytes(e.sizeLimit) }] : [];
  });
}

/** lstat calls in flight at once within one directory. */
const BATCH = 64;

/**
 * Bytes allocated under `dir` (st_blocks, as du counts them, the
 * directories included): each inode once however many links it has, never
 * following a symbolic link, never into another filesystem mounted below.
 * Stops once the count passes `stopAbove`: past the limit, the rest does
 * not matter.
 */
export async function diskUsage(dir: string, stopAbove = Number.POSITIVE_INFINITY): Promise<number> {
  const top = await lstat(dir);
  const seen = new Set<number>();
  let total = top.blocks * 512;
  const pending = [dir];
  const stat = (path: string): Promise<Stats | null> => lstat(path).catch(() => null); // removed meanwhile
  while (pending.length > 0 && total <= stopAbove) {
    const current = pending.pop() as string;
    const names = await readdir(current).catch(() => [] as string[]);
    for (let i = 0; i < names.length && total <= stopAbove; i += BATCH) {
      const paths = names.slice(i, i + BATCH).map((name) => join(current, name));
      const stats = await Promise.all(paths.map(stat));
      stats.forEach((s, j) => {
        if (!s || s.dev !== top.dev) return;
        if (s.nlink > 1 && !s.isDirectory()) {
          if (seen.has(s.ino)) return;
          seen.add(s.ino);
        }
        total += s.blocks * 512;
        if (s.isDirectory()) pending.push(paths[j] as string);
      });
    }
  }
  return total;
}

export function evictionIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.PEAPOD_EVICTION_INTERVAL;
  if (v === undefined || v === '') return DEFAULT_EVICTION_INTERVAL_SECONDS;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`PEAPOD_EVICTION_INTERVAL=${v}: expected a number of seconds above 0, e.g. 10 or 0.5`);
  return n;
}

export interface EvictionWatch {
  stop(): void;
}

/**
 * Measures every limited emptyDir each `intervalSeconds` (one walk at a
 * time) and calls `evict` once, with the kubelet's message, for the first
 * one found over its limit. Nothing to watch: undefined.
 */
export function watchEmptyDirs(
  volumes: readonly LimitedVolume[],
  intervalSeconds: number,
  evict: (message: string) => void,
): EvictionWatch | undefined {
  if (volumes.length === 0) return undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async (): Promise<void> => {
    for (const v of volumes) {
      // A volume that cannot be read now (the pod going away) is looked at next time.
      const used = await diskUsage(v.path, v.limitBytes).catch(() => 0);
      if (stopped) return;
      if (used > v.limitBytes) {
        stopped = true;
        evict(emptyDirEvictionMessage(v.name, v.limit));
        return;
      }
    }
    schedule();
  };
  const schedule = (): void => {
    timer = setTimeout(() => void check(), intervalSeconds * 1000);
    // The watch alone must not keep a finished supervisor alive.
    timer.unref();
  };
  schedule();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
