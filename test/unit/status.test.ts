// Status and phase are pure functions of what was observed (as in the
// kubelet's kuberuntime): tested here without any process.
import { describe, expect, it } from 'vitest';
import { Backoff, backoffFromEnv } from '../../src/kubelet/backoff.js';
import { containerStatus } from '../../src/kubelet/status/container-status.js';
import { podPhase, shouldRestart } from '../../src/kubelet/status/phase.js';
import { podStatus, qosClass } from '../../src/kubelet/status/pod-status.js';
import type { ContainerObservation, ContainerStatus } from '../../src/kubelet/status/types.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:05.000Z';

function obs(over: Partial<ContainerObservation> = {}): ContainerObservation {
  return { name: 'c', image: 'busybox', imageID: 'peapod://img', restartCount: 0, started: false, ...over };
}
const running = (restartCount = 0): ContainerStatus => containerStatus(obs({ restartCount, started: true, current: { id: 'x', startedAt: T0 } }));
const exited = (exitCode: number, restartCount = 0): ContainerStatus =>
  containerStatus(obs({ restartCount, current: { id: 'x', startedAt: T0, finishedAt: T1, exitCode } }));
const backingOff = (exitCode: number): ContainerStatus =>
  containerStatus(obs({ restartCount: 1, waiting: { reason: 'CrashLoopBackOff' }, current: { id: 'x', startedAt: T0, finishedAt: T1, exitCode } }));

describe('container status', () => {
  it('is waiting ContainerCreating before the first run', () => {
    expect(containerStatus(obs()).state).toEqual({ waiting: { reason: 'ContainerCreating' } });
  });
  it('is running with startedAt, ready once started', () => {
    expect(running()).toMatchObject({ state: { running: { startedAt: T0 } }, ready: true, started: true });
  });
  it('with probes: started once past its startup probe, ready once started and passing its readiness probe', () => {
    const probed = (over: Partial<ContainerObservation>): Pick<ContainerStatus, 'started' | 'ready'> => {
      const { started, ready } = containerStatus(obs({ started: true, current: { id: 'x', startedAt: T0 }, ...over }));
      return { started, ready };
    };
    expect(probed({ startupPassed: false })).toEqual({ started: false, ready: false });
    // Readiness cannot make a container ready before its startup probe passed.
    expect(probed({ startupPassed: false, readinessPassed: true })).toEqual({ started: false, ready: false });
    expect(probed({ startupPassed: true })).toEqual({ started: true, ready: true });
    expect(probed({ readinessPassed: false })).toEqual({ started: true, ready: false });
    expect(probed({ startupPassed: true, readinessPassed: true })).toEqual({ started: true, ready: true });
    // A container past postStart that has exited is neither, whatever its probes said.
    expect(containerStatus(obs({ started: true, readinessPassed: true, current: { id: 'x', startedAt: T0, finishedAt: T1, exitCode: 0 } }))).toMatchObject({ started: false, ready: false });
  });
  it('is terminated Completed for 0, Error otherwise, with the signal when there was one', () => {
    expect(exited(0).state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed', startedAt: T0, finishedAt: T1 });
    expect(exited(2).state.terminated).toMatchObject({ exitCode: 2, reason: 'Error' });
    const killed = containerStatus(obs({ current: { id: 'x', startedAt: T0, finishedAt: T1, signal: 9, exitCode: 137 } }));
    expect(killed.state.terminated).toMatchObject({ exitCode: 137, signal: 9, reason: 'Error' });
    const oom = containerStatus(obs({ current: { id: 'x', startedAt: T0, finishedAt: T1, exitCode: 137, reason: 'OOMKilled' } }));
    expect(oom.state.terminated?.reason).toBe('OOMKilled');
  });
  it('shows the last termination in lastState while waiting to restart, and after the restart', () => {
    expect(backingOff(1)).toMatchObject({ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } }, ready: false });
    const again = containerStatus(obs({ restartCount: 1, started: true, previous: { id: 'a', startedAt: T0, finishedAt: T1, exitCode: 1 }, current: { id: 'b', startedAt: T1 } }));
    expect(again).toMatchObject({ state: { running: { startedAt: T1 } }, lastState: { terminated: { exitCode: 1, containerID: 'a' } }, restartCount: 1 });
  });
});

describe('pod phase (kubelet getPhase)', () => {
  it('is Pending while a container waits for its first run', () => {
    expect(podPhase('Always', [], [containerStatus(obs()), running()])).toBe('Pending');
  });
  it('is Running when all have started and one runs', () => {
    expect(podPhase('Never', [], [running(), exited(0)])).toBe('Running');
  });
  it('Always: still Running when everything has exited (it will restart)', () => {
    expect(podPhase('Always', [], [exited(0)])).toBe('Running');
    expect(podPhase('Always', [], [backingOff(1)])).toBe('Running');
  });
  it('OnFailure: Succeeded when all exited 0, Running while a failure restarts', () => {
    expect(podPhase('OnFailure', [], [exited(0), exited(0)])).toBe('Succeeded');
    expect(podPhase('OnFailure', [], [exited(0), backingOff(1)])).toBe('Running');
  });
  it('Never: Succeeded when all exited 0, Failed when one did not', () => {
    expect(podPhase('Never', [], [exited(0)])).toBe('Succeeded');
    expect(podPhase('Never', [], [exited(0), exited(1)])).toBe('Failed');
  });
  it('is Pending during init, Failed when an init container fails under Never', () => {
    const app = [containerStatus(obs({ waiting: { reason: 'PodInitializing' } }))];
    expect(podPhase('Always', [running()], app)).toBe('Pending');
    expect(podPhase('Always', [backingOff(1)], app)).toBe('Pending');
    expect(podPhase('Never', [exited(1)], app)).toBe('Failed');
    expect(podPhase('Never', [exited(0)], [running()])).toBe('Running');
  });
  it('never leaves a terminal phase', () => {
    expect(podPhase('Always', [], [running()], 'Succeeded')).toBe('Succeeded');
    expect(podPhase('Always', [], [running()], 'Failed')).toBe('Failed');
  });
  it('restarts as the policy says (init containers treat Always as OnFailure)', () => {
    expect([shouldRestart('Always', 0, false), shouldRestart('Always', 1, false)]).toEqual([true, true]);
    expect([shouldRestart('OnFailure', 0, false), shouldRestart('OnFailure', 1, false)]).toEqual([false, true]);
    expect([shouldRestart('Never', 0, false), shouldRestart('Never', 1, false)]).toEqual([false, false]);
    expect([shouldRestart('Always', 0, true), shouldRestart('Always', 1, true)]).toEqual([false, true]);
  });
});

describe('pod status', () => {
  const spec = { containers: [{ name: 'c', image: 'busybox' }] };
  it('has the four conditions, keeping transition times when nothing changes', () => {
    const first = podStatus({ spec, init: [], app: [running()], now: T0 });
    expect(first.conditions.map((c) => [c.type, c.status])).toEqual([
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
      ['PodScheduled', 'True'],
    ]);
    const later = podStatus({ spec, init: [], app: [running()], now: T1, previous: first });
    expect(later.conditions.every((c) => c.lastTransitionTime === T0)).toBe(true);
    const down = podStatus({ spec, init: [], app: [exited(1)], now: T1, previous: first });
    expect(down.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', lastTransitionTime: T1 });
  });
  it('names the unready containers as the kubelet does, and flips back when they are ready', () => {
    const two = { containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }] };
    const unready = { ...containerStatus(obs({ name: 'b', started: true, readinessPassed: false, current: { id: 'y', startedAt: T0 } })) };
    const first = podStatus({ spec: two, init: [], app: [running(), unready], now: T0 });
    for (const type of ['Ready', 'ContainersReady']) {
      expect(first.conditions.find((c) => c.type === type)).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [b]' });
    }
    const ready = { ...unready, ready: true };
    const later = podStatus({ spec: two, init: [], app: [running(), ready], now: T1, previous: first });
    expect(later.conditions.find((c) => c.type === 'Ready')).toEqual({ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: T1 });
  });
  it('is Failed with the runtime’s reason (DeadlineExceeded)', () => {
    const s = podStatus({ spec, init: [], app: [running()], now: T0, failure: { reason: 'DeadlineExceeded', message: 'late' } });
    expect(s).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'late' });
  });
  it('classifies QoS as Kubernetes does', () => {
    expect(qosClass([{ name: 'a', image: 'i' }])).toBe('BestEffort');
    expect(qosClass([{ name: 'a', image: 'i', resources: { limits: { cpu: '1', memory: '1Gi' } } }])).toBe('Guaranteed');
    expect(qosClass([{ name: 'a', image: 'i', resources: { requests: { cpu: '100m' } } }])).toBe('Burstable');
  });
});

describe('crash-loop back-off', () => {
  it('restarts at once, then base, doubling, capped; a long run resets it', () => {
    const b = new Backoff({ baseSeconds: 10, capSeconds: 300, resetSeconds: 600 });
    expect([1, 1, 1, 1, 1, 1, 1, 1].map(() => b.next(1))).toEqual([0, 10, 20, 40, 80, 160, 300, 300]);
    expect(b.next(600)).toBe(0);
    expect(b.next(1)).toBe(10);
  });
  it('reads base, cap and reset from the environment', () => {
    expect(backoffFromEnv({ PEAPOD_BACKOFF_BASE: '0.5', PEAPOD_BACKOFF_CAP: '4' })).toEqual({ baseSeconds: 0.5, capSeconds: 4, resetSeconds: 600 });
    expect(() => backoffFromEnv({ PEAPOD_BACKOFF_BASE: 'soon' })).toThrow(/PEAPOD_BACKOFF_BASE=soon/);
  });
});
