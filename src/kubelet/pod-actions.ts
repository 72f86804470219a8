// What to do next for a pod, decided from what is observed and nothing
// else, as the kubelet's computePodActions decides it: a pure function,
// tested as a table (test/unit/pod-actions.test.ts). The pod worker
// (pod-worker.ts) carries the actions out through the runtime and asks
// again whenever anything changes.
import type { RestartPolicy } from '../manifest/types.js';
import { shouldRestart } from './status/phase.js';

export interface ObservedContainer {
  name: string;
  /** Its process runs, or its exit is not yet in. */
  running: boolean;
  /** A postStart or preStop hook of it runs. */
  busy: boolean;
  /** Ran, and its last attempt has ended. */
  exited: boolean;
  lastExitCode?: number | undefined;
  /** An init container that succeeded in the current sandbox. */
  succeededHere: boolean;
  /** A restart: undefined when none is scheduled, 0 when due now, else when (ms since epoch). */
  restartAt?: number | undefined;
  /** The next container waits for its postStart hook (the kubelet starts them in order). */
  hasPostStart: boolean;
  /** Its liveness or startup probe failed past its threshold: the kubelet kills it. */
  unhealthy?: 'liveness' | 'startup' | undefined;
  /** Being killed for a failed probe (its preStop and grace period under way). */
  killing?: boolean;
  /** Its last attempt was killed for a failed probe: restarted unless the policy is Never, whatever its exit code. */
  killedForProbe?: boolean;
}

export interface ObservedPod {
  policy: RestartPolicy;
  /** A delete (or a failure) asked the pod to end. */
  terminating: boolean;
  /** pause runs (a dying pause does not). */
  sandboxAlive: boolean;
  init: ObservedContainer[];
  app: ObservedContainer[];
  /** The phase, as computed from the containers' statuses, is Succeeded or Failed. */
  terminalPhase: boolean;
}

export type PodAction =
  /** pause died: a new sandbox, and every container again in it. */
  | { type: 'CreateSandbox' }
  | { type: 'StartContainer'; name: string }
  /** A failed liveness or startup probe: stopped with its grace period, restarted after unless the policy is Never. */
  | { type: 'KillContainer'; name: string; probe: 'liveness' | 'startup'; restart: boolean }
  /** Restart when its back-off allows (CrashLoopBackOff until then). */
  | { type: 'BackOff'; name: string }
  /** App containers wait for the init containers (PodInitializing). */
  | { type: 'WaitForInit' }
  /** The pod is over: pause stopped (last), everything torn down. */
  | { type: 'KillPod' };

const quiet = (o: ObservedPod): boolean => [...o.init, ...o.app].every((c) => !c.running && !c.busy);

/** Init containers one at a time: an action for the first not yet done, or nothing (all done: true). */
function initActions(o: ObservedPod, actions: PodAction[]): boolean {
  for (const c of o.init) {
    if (c.succeededHere) continue;
    if (c.running || c.busy) return false;
    if (!c.exited || c.restartAt === 0) {
      actions.push({ type: 'StartContainer', name: c.name });
      return false;
    }
    // Failed under its policy: the phase says Failed, nothing more to do.
    if (shouldRestart(o.policy, c.lastExitCode ?? 1, true)) actions.push({ type: 'BackOff', name: c.name });
    return false;
  }
  return true;
}

/**
 * App containers in order; a postStart hook holds back the ones after it. A
 * running container whose liveness or startup probe failed is killed; the
 * kubelet then restarts it unless the policy is Never, even after a clean
 * exit (its computePodActions puts it in ContainersToStart at once).
 */
function appActions(o: ObservedPod, actions: PodAction[]): void {
  for (const c of o.app) {
    // A postStart hook in flight holds back everything after it, as the kubelet's sync waits for it.
    if (c.busy && !c.killing) return;
    if (c.running) {
      if (c.unhealthy && !c.killing) actions.push({ type: 'KillContainer', name: c.name, probe: c.unhealthy, restart: o.policy !== 'Never' });
      continue;
    }
    if (!c.exited || c.restartAt === 0) {
      actions.push({ type: 'StartContainer', name: c.name });
      if (c.hasPostStart) return;
      continue;
    }
    const restart = c.killedForProbe ? o.policy !== 'Never' : shouldRestart(o.policy, c.lastExitCode ?? 1, false);
    if (restart) actions.push({ type: 'BackOff', name: c.name });
  }
}

export function computePodActions(o: ObservedPod): PodAction[] {
  if (o.terminating) return quiet(o) ? [{ type: 'KillPod' }] : [];
  if (!o.sandboxAlive) {
    // The kernel ends every process of the pod with pause: wait for their exits.
    if ([...o.init, ...o.app].some((c) => c.running)) return [];
    return o.policy === 'Never' ? [{ type: 'KillPod' }] : [{ type: 'CreateSandbox' }];
  }
  const actions: PodAction[] = [];
  if (initActions(o, actions)) appActions(o, actions);
  else actions.push({ type: 'WaitForInit' });
  if (actions.every((a) => a.type === 'WaitForInit') && o.terminalPhase && quiet(o)) return [{ type: 'KillPod' }];
  return actions;
}
