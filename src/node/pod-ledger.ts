// The pods this process holds, by state root: what admission counts for
// them without reading a file (O(1) a pod, however many run here: the node
// daemon holds every detached pod). Only pods of other processes (a
// `peapod run -f` beside the daemon) are read from their records, as before,
// and the root's pods/ is listed only when something else is in it.
import { statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PodSpec } from '../manifest/types.js';
import type { RuntimePaths } from '../runtime/paths.js';
import { livePodSpecs, podNames } from './store.js';

const byRoot = new Map<string, Map<string, PodSpec>>();

function ledger(paths: RuntimePaths): Map<string, PodSpec> {
  let pods = byRoot.get(paths.state);
  if (!pods) byRoot.set(paths.state, (pods = new Map()));
  return pods;
}

/** A pod this process now holds (claimed or adopted): counted from here on. */
export function enterPod(paths: RuntimePaths, name: string, spec: PodSpec): void {
  ledger(paths).set(name, spec);
}

/** Its state is gone (or going): no longer counted. */
export function leavePod(paths: RuntimePaths, name: string): void {
  const pods = byRoot.get(paths.state);
  pods?.delete(name);
  if (pods?.size === 0) byRoot.delete(paths.state);
}

/** Filesystems whose directories count their subdirectories in their link count (2 + subdirectories). */
const COUNTING = new Set([0x01021994 /* tmpfs */, 0xef53 /* ext2/3/4 */, 0x58465342 /* xfs */]);
const counts = new Map<string, boolean>();

/**
 * True when the root's pods/ holds no directory but this process's own
 * pods' (each has one from its claim until it leaves): then nothing else
 * needs listing, where a listing is O(N) at every pod of N. Anything else
 * there (another process's pod, a claim or reclaim under way, a tombstone)
 * changes the link count, and so does a filesystem that does not keep it
 * (btrfs says 1): the listing then decides.
 */
function onlyOwnPods(paths: RuntimePaths, own: ReadonlyMap<string, PodSpec>): boolean {
  if (own.size === 0) return false;
  const dir = join(paths.state, 'pods');
  try {
    let counting = counts.get(dir);
    if (counting === undefined) counts.set(dir, (counting = COUNTING.has(statfsSync(dir).type)));
    return counting && statSync(dir).nlink === own.size + 2;
  } catch {
    return false;
  }
}

/** Every live pod of the root but `except`: this process's from memory, the others' from their records. */
export function admittedPods(paths: RuntimePaths, except: string): Array<{ name: string; spec: PodSpec }> {
  const own = byRoot.get(paths.state) ?? new Map<string, PodSpec>();
  const mine = [...own].flatMap(([name, spec]) => (name !== except ? [{ name, spec }] : []));
  if (onlyOwnPods(paths, own)) return mine;
  const others = podNames(paths).filter((name) => name !== except && !own.has(name));
  return others.length === 0 ? mine : [...mine, ...livePodSpecs(paths, others)];
}
