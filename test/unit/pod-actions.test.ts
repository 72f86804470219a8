// computePodActions as a table: what is observed of a pod -> what the pod
// worker does next, for each case the kubelet's computePodActions decides.
import { describe, expect, it } from 'vitest';
import { computePodActions, type ObservedContainer, type ObservedPod, type PodAction } from '../../src/kubelet/pod-actions.js';

type Shape = 'new' | 'running' | 'busy' | 'exit0' | 'exit1' | 'due' | 'waiting' | 'doneHere' | 'dead' | 'deadStart' | 'killing' | 'killed0';

/** A container in one of the shapes a table row names. */
function c(name: string, shape: Shape, hasPostStart = false): ObservedContainer {
  const base: ObservedContainer = { name, running: false, busy: false, exited: false, succeededHere: false, hasPostStart };
  switch (shape) {
    case 'new':
      return base;
    case 'running':
      return { ...base, running: true };
    case 'busy':
      return { ...base, running: true, busy: true };
    case 'exit0':
      return { ...base, exited: true, lastExitCode: 0 };
    case 'exit1':
      return { ...base, exited: true, lastExitCode: 1 };
    case 'due':
      return { ...base, exited: true, lastExitCode: 1, restartAt: 0 };
    case 'waiting':
      return { ...base, exited: true, lastExitCode: 1, restartAt: Date.now() + 10_000 };
    case 'doneHere':
      return { ...base, exited: true, lastExitCode: 0, succeededHere: true };
    case 'dead':
      return { ...base, running: true, unhealthy: 'liveness' };
    case 'deadStart':
      return { ...base, running: true, unhealthy: 'startup' };
    case 'killing':
      // Its preStop runs (busy) while the kill's grace period goes.
      return { ...base, running: true, busy: true, unhealthy: 'liveness', killing: true };
    case 'killed0':
      return { ...base, exited: true, lastExitCode: 0, killedForProbe: true };
  }
}

function pod(over: Partial<ObservedPod>): ObservedPod {
  return { policy: 'Always', terminating: false, sandboxAlive: true, init: [], app: [], terminalPhase: false, ...over };
}

const start = (name: string): PodAction => ({ type: 'StartContainer', name });
const backOff = (name: string): PodAction => ({ type: 'BackOff', name });
const KILL: PodAction = { type: 'KillPod' };
const SANDBOX: PodAction = { type: 'CreateSandbox' };
const WAIT: PodAction = { type: 'WaitForInit' };
const kill = (name: string, probe: 'liveness' | 'startup', restart: boolean): PodAction => ({ type: 'KillContainer', name, probe, restart });

const table: Array<[string, ObservedPod, PodAction[]]> = [
  // Starting.
  ['a new pod starts every app container', pod({ app: [c('a', 'new'), c('b', 'new')] }), [start('a'), start('b')]],
  ['a postStart hook holds back the next container', pod({ app: [c('a', 'new', true), c('b', 'new')] }), [start('a')]],
  ['while a postStart hook runs, the next waits', pod({ app: [c('a', 'busy', true), c('b', 'new')] }), []],
  ['after it, the next starts', pod({ app: [c('a', 'running', true), c('b', 'new')] }), [start('b')]],
  ['running containers need nothing', pod({ app: [c('a', 'running'), c('b', 'running')] }), []],

  // Restart policy.
  ['Always restarts a success', pod({ app: [c('a', 'exit0')] }), [backOff('a')]],
  ['Always restarts a failure', pod({ app: [c('a', 'exit1')] }), [backOff('a')]],
  ['OnFailure leaves a success', pod({ policy: 'OnFailure', app: [c('a', 'exit0'), c('b', 'running')] }), []],
  ['OnFailure restarts a failure', pod({ policy: 'OnFailure', app: [c('a', 'exit1')] }), [backOff('a')]],
  ['Never restarts nothing', pod({ policy: 'Never', app: [c('a', 'exit1'), c('b', 'running')] }), []],
  ['a restart due now starts', pod({ app: [c('a', 'due')] }), [start('a')]],
  ['a restart not yet due backs off (still waiting)', pod({ app: [c('a', 'waiting')] }), [backOff('a')]],

  // Probes.
  ['a failed liveness probe kills the container, to be restarted', pod({ app: [c('a', 'dead'), c('b', 'running')] }), [kill('a', 'liveness', true)]],
  ['a failed startup probe too', pod({ policy: 'OnFailure', app: [c('a', 'deadStart')] }), [kill('a', 'startup', true)]],
  ['under Never it is killed and stays dead', pod({ policy: 'Never', app: [c('a', 'dead')] }), [kill('a', 'liveness', false)]],
  ['a kill under way is not asked again, nor does its preStop hold back the next', pod({ app: [c('a', 'killing'), c('b', 'new')] }), [start('b')]],
  ['OnFailure restarts a probe kill that exited 0', pod({ policy: 'OnFailure', app: [c('a', 'killed0')] }), [backOff('a')]],
  ['Never does not', pod({ policy: 'Never', app: [c('a', 'killed0'), c('b', 'running')] }), []],
  ['a terminating pod ignores probes', pod({ terminating: true, app: [c('a', 'dead')] }), []],

  // Init containers.
  ['the first init container first, app containers wait', pod({ init: [c('i1', 'new'), c('i2', 'new')], app: [c('a', 'new')] }), [start('i1'), WAIT]],
  ['one at a time', pod({ init: [c('i1', 'running'), c('i2', 'new')], app: [c('a', 'new')] }), [WAIT]],
  ['the next after one succeeded', pod({ init: [c('i1', 'doneHere'), c('i2', 'new')], app: [c('a', 'new')] }), [start('i2'), WAIT]],
  ['all succeeded: the app containers', pod({ init: [c('i1', 'doneHere'), c('i2', 'doneHere')], app: [c('a', 'new')] }), [start('a')]],
  ['a failed init container backs off under Always', pod({ init: [c('i1', 'exit1')], app: [c('a', 'new')] }), [backOff('i1'), WAIT]],
  ['and under OnFailure', pod({ policy: 'OnFailure', init: [c('i1', 'exit1')], app: [c('a', 'new')] }), [backOff('i1'), WAIT]],
  ['under Never the pod is over', pod({ policy: 'Never', init: [c('i1', 'exit1')], app: [c('a', 'new')], terminalPhase: true }), [KILL]],
  ['an init container due again starts', pod({ init: [c('i1', 'due')], app: [c('a', 'new')] }), [start('i1'), WAIT]],

  // The end.
  ['Never, all done: the pod is over', pod({ policy: 'Never', app: [c('a', 'exit0'), c('b', 'exit1')], terminalPhase: true }), [KILL]],
  ['OnFailure, all succeeded: the pod is over', pod({ policy: 'OnFailure', app: [c('a', 'exit0')], terminalPhase: true }), [KILL]],
  ['terminating waits for every container', pod({ terminating: true, app: [c('a', 'running'), c('b', 'exit0')] }), []],
  ['and for hooks', pod({ terminating: true, app: [c('a', 'busy')] }), []],
  ['terminating and quiet: kill the pod', pod({ terminating: true, app: [c('a', 'exit1'), c('b', 'new')] }), [KILL]],

  // The sandbox.
  ['pause died: wait for the containers it takes with it', pod({ sandboxAlive: false, app: [c('a', 'running')] }), []],
  ['then a new sandbox', pod({ sandboxAlive: false, app: [c('a', 'exit1')] }), [SANDBOX]],
  ['also under OnFailure', pod({ policy: 'OnFailure', sandboxAlive: false, app: [c('a', 'exit0')] }), [SANDBOX]],
  ['but under Never the pod is over', pod({ policy: 'Never', sandboxAlive: false, app: [c('a', 'exit1')] }), [KILL]],
  ['terminating with pause dead: kill the pod, no new sandbox', pod({ terminating: true, sandboxAlive: false, app: [c('a', 'exit1')] }), [KILL]],
];

describe('computePodActions', () => {
  it.each(table)('%s', (_what, observed, expected) => {
    expect(computePodActions(observed)).toEqual(expected);
  });

  it('is pure: the same observation gives the same actions, and is not changed', () => {
    const observed = pod({ init: [c('i1', 'doneHere')], app: [c('a', 'new', true), c('b', 'exit1')] });
    const copy = structuredClone(observed);
    expect(computePodActions(observed)).toEqual(computePodActions(observed));
    expect(observed).toEqual(copy);
  });
});
