// oom_score_adj as the runtime may give it: lowering it below the
// runtime's own needs CAP_SYS_RESOURCE, which some hosts (this one, in a
// container) do not grant even to root. The request is then raised to the
// runtime's own value, as containerd's restrict_oom_score_adj does, never
// refused: a kubelet asks -997 for its guaranteed pods on every host.
import { readFileSync } from 'node:fs';

const CAP_SYS_RESOURCE = 24n;
const MIN = -1000;
const MAX = 1000;

function ownScore(): number {
  try {
    return Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

function holdsSysResource(): boolean {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)$/m);
    return line ? ((BigInt(`0x${line[1]}`) >> CAP_SYS_RESOURCE) & 1n) === 1n : false;
  } catch {
    return false;
  }
}

/** The value a container gets for `wanted`: within [-1000, 1000], and no lower than ours unless we may lower it. */
export function clampOomScoreAdj(wanted: number, held = holdsSysResource(), own = ownScore()): number {
  const inRange = Math.min(MAX, Math.max(MIN, Math.trunc(wanted)));
  return held ? inRange : Math.max(inRange, own);
}
