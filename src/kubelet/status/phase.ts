// The pod phase as the kubelet computes it (getPhase), from container
// statuses and the restart policy. Pure; terminal phases never change.
import type { RestartPolicy } from '../../manifest/types.js';
import type { ContainerStatus, PodPhase } from './types.js';

export function isTerminal(phase: PodPhase | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

function initPhase(init: readonly ContainerStatus[], policy: RestartPolicy): PodPhase | null {
  let succeeded = 0;
  let failed = 0;
  for (const s of init) {
    const t = s.state.terminated ?? (s.state.waiting ? s.lastState.terminated : undefined);
    if (s.state.terminated?.exitCode === 0) succeeded++;
    else if (t && t.exitCode !== 0) failed++;
  }
  if (succeeded === init.length) return null;
  // A failed init container under Never fails the pod; otherwise it is retried.
  if (failed > 0 && policy === 'Never') return 'Failed';
  return 'Pending';
}

export function podPhase(
  policy: RestartPolicy,
  init: readonly ContainerStatus[],
  app: readonly ContainerStatus[],
  previous?: PodPhase,
): PodPhase {
  if (previous && isTerminal(previous)) return previous;
  const fromInit = initPhase(init, policy);
  if (fromInit) return fromInit;

  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of app) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state.waiting) {
      // A container waiting to be restarted has stopped before.
      if (s.lastState.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** Whether the kubelet restarts a container that exited with this code. */
export function shouldRestart(policy: RestartPolicy, exitCode: number, isInit: boolean): boolean {
  // Init containers treat Always as OnFailure: they run to completion once.
  const effective = isInit && policy === 'Always' ? 'OnFailure' : policy;
  if (effective === 'Always') return true;
  if (effective === 'OnFailure') return exitCode !== 0;
  return false;
}
