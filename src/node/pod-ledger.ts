// The pods this process holds, by state root: what admission counts for
// them without reading a file (O(1) a pod, however many run here: the node
// daemon holds every detached pod). Only pods of other processes (a
// `peapod run -f` beside the daemon) are read from their records, as before.
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

/** Every live pod of the root but `except`: this process's from memory, the others' from their records. */
export function admittedPods(paths: RuntimePaths, except: string): Array<{ name: string; spec: PodSpec }> {
  const own = byRoot.get(paths.state) ?? new Map<string, PodSpec>();
  const mine = [...own].flatMap(([name, spec]) => (name !== except ? [{ name, spec }] : []));
  const others = podNames(paths).filter((name) => name !== except && !own.has(name));
  return others.length === 0 ? mine : [...mine, ...livePodSpecs(paths, others)];
}
