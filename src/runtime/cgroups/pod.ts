// A pod's cgroups go leaves first: a cgroup can be removed once nothing lives in it.
import type { Cgroup } from './types.js';

/** Kills what is left in each cgroup, then removes containers', pause's, and the pod's. */
export async function removePodCgroups(pod: Cgroup | undefined, containers: ReadonlyArray<Cgroup | undefined>, sandbox: Cgroup | undefined): Promise<void> {
  if (!pod) return;
  // A container's cgroup is made before its name reaches the record on disk: one a crash left unnamed is found below the pod's.
  const named = new Set([...containers, sandbox].map((cg) => cg?.path));
  const unnamed = pod.children().filter((cg) => !named.has(cg.path));
  for (const cg of [...containers, ...unnamed, sandbox]) {
    if (!cg) continue;
    await cg.killAll();
    await cg.remove();
  }
  await pod.killAll();
  await pod.remove();
  await pod.removeParentIfEmpty?.();
}
