// Joining a cgroup race-free: the child writes itself ("0" means the
// writer) into the cgroup.procs of every hierarchy as its very first
// steps, before any namespace change or exec, so nothing it ever does is
// accounted elsewhere. Plans are data: this composes with any plan.
import type { SpawnPlan } from './types.js';

export function joinCgroup(plan: SpawnPlan, procsFiles: readonly string[]): SpawnPlan {
  if (procsFiles.length === 0) return plan;
  return {
    ...plan,
    steps: [...procsFiles.map((path) => ({ op: 'write_file' as const, path, content: '0' })), ...plan.steps],
  };
}
