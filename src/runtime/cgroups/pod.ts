// A pod's cgroups go leaves first: a cgroup can be removed once nothing lives in it.
import type { Cgroup } from './types.js';

/** Kills what is left in each cgroup, then removes containers', pause's, and the pod's. */
export async function removePodCgroups(pod: Cgroup | undefined, containers: ReadonlyArray<Cgroup | undefined>, sandbox: Cgroup | undefined): Promise<void> {
  if (!pod) return;
  for (const cg of [...containers, sandbox]) {
    if (!cg) continue;
    await cg.killAll();
    await cg.remove();
  }
  await pod.killAll();
  await pod.remove();
  await pod.removeParentIfEmpty?.();
}
