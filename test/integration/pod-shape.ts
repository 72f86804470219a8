// The shape of a v1 Pod's status as Kubernetes spells it: every key known,
// every required key present, enums in range. Used on every status a test sees.
import { expect } from 'vitest';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function keysWithin(o: object, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) expect(allowed, `${where}.${k} is not a v1 field`).toContain(k);
}

function time(v: unknown, where: string): void {
  expect(typeof v === 'string' && RFC3339.test(v), `${where} is RFC 3339`).toBe(true);
}

function state(s: Record<string, Record<string, unknown> | undefined>, where: string): void {
  keysWithin(s, ['waiting', 'running', 'terminated'], where);
  expect(Object.keys(s).length, `${where} has at most one state`).toBeLessThanOrEqual(1);
  if (s.waiting) {
    keysWithin(s.waiting, ['reason', 'message'], `${where}.waiting`);
    expect(typeof s.waiting.reason).toBe('string');
  }
  if (s.running) {
    keysWithin(s.running, ['startedAt'], `${where}.running`);
    time(s.running.startedAt, `${where}.running.startedAt`);
  }
  if (s.terminated) {
    keysWithin(s.terminated, ['exitCode', 'signal', 'reason', 'message', 'startedAt', 'finishedAt', 'containerID'], `${where}.terminated`);
    expect(Number.isInteger(s.terminated.exitCode)).toBe(true);
    time(s.terminated.startedAt, `${where}.terminated.startedAt`);
    time(s.terminated.finishedAt, `${where}.terminated.finishedAt`);
  }
}

function containerStatus(c: Record<string, unknown>, where: string): void {
  keysWithin(c, ['name', 'image', 'imageID', 'containerID', 'state', 'lastState', 'ready', 'started', 'restartCount'], where);
  for (const k of ['name', 'image', 'imageID']) expect(typeof c[k], `${where}.${k}`).toBe('string');
  expect(typeof c.ready).toBe('boolean');
  expect(Number.isInteger(c.restartCount)).toBe(true);
  state(c.state as Record<string, Record<string, unknown>>, `${where}.state`);
  state(c.lastState as Record<string, Record<string, unknown>>, `${where}.lastState`);
}

export function expectV1PodShape(pod: { apiVersion: string; kind: string; metadata: object; status: object }): void {
  expect(pod.apiVersion).toBe('v1');
  expect(pod.kind).toBe('Pod');
  const m = pod.metadata as Record<string, unknown>;
  keysWithin(m, ['name', 'namespace', 'uid', 'labels', 'annotations', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'], 'metadata');
  time(m.creationTimestamp, 'metadata.creationTimestamp');
  const s = pod.status as Record<string, unknown>;
  keysWithin(s, ['phase', 'conditions', 'message', 'reason', 'hostIP', 'hostIPs', 'podIP', 'podIPs', 'startTime', 'initContainerStatuses', 'containerStatuses', 'qosClass'], 'status');
  expect(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']).toContain(s.phase);
  expect(['Guaranteed', 'Burstable', 'BestEffort']).toContain(s.qosClass);
  for (const c of s.conditions as Array<Record<string, unknown>>) {
    keysWithin(c, ['type', 'status', 'lastProbeTime', 'lastTransitionTime', 'reason', 'message'], 'status.conditions[]');
    expect(['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']).toContain(c.type);
    expect(['True', 'False', 'Unknown']).toContain(c.status);
    time(c.lastTransitionTime, 'status.conditions[].lastTransitionTime');
  }
  (s.containerStatuses as Array<Record<string, unknown>>).forEach((c, i) => containerStatus(c, `status.containerStatuses[${i}]`));
  ((s.initContainerStatuses as Array<Record<string, unknown>> | undefined) ?? []).forEach((c, i) => containerStatus(c, `status.initContainerStatuses[${i}]`));
}
