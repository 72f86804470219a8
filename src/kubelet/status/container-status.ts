// A container's v1 status, computed from what was observed of it. Pure.
import type { ContainerObservation, ContainerState, ContainerStatus, Instance } from './types.js';

/** Kubernetes' reasons for a terminated container. */
export function terminatedReason(instance: Instance): string {
  if (instance.reason) return instance.reason;
  return instance.exitCode === 0 ? 'Completed' : 'Error';
}

function terminated(instance: Instance): ContainerState {
  const exitCode = instance.exitCode ?? (instance.signal !== undefined ? 128 + instance.signal : 0);
  return {
    terminated: {
      exitCode,
      ...(instance.signal !== undefined ? { signal: instance.signal } : {}),
      reason: terminatedReason(instance),
      ...(instance.message ? { message: instance.message } : {}),
      startedAt: instance.startedAt,
      finishedAt: instance.finishedAt ?? instance.startedAt,
      containerID: instance.id,
    },
  };
}

export function containerState(obs: ContainerObservation): ContainerState {
  if (obs.waiting) return { waiting: { ...obs.waiting } };
  const cur = obs.current;
  if (!cur) return { waiting: { reason: 'ContainerCreating' } };
  if (cur.finishedAt === undefined) return { running: { startedAt: cur.startedAt } };
  return terminated(cur);
}

/** The last termination: the current instance when a new one is pending, else the previous. */
export function lastState(obs: ContainerObservation): ContainerState {
  const cur = obs.current;
  if (obs.waiting && cur?.finishedAt !== undefined) return terminated(cur);
  if (obs.previous?.finishedAt !== undefined) return terminated(obs.previous);
  return {};
}

/**
 * As the kubelet's prober manager says them: started once running, past
 * postStart and past its startup probe (if any); ready once started and
 * passing its readiness probe (if any).
 */
export function containerStatus(obs: ContainerObservation): ContainerStatus {
  const state = containerState(obs);
  const started = state.running !== undefined && obs.started && (obs.startupPassed ?? true);
  const id = obs.current?.id;
  return {
    name: obs.name,
    image: obs.image,
    imageID: obs.imageID,
    ...(id ? { containerID: id } : {}),
    state,
    lastState: lastState(obs),
    ready: started && (obs.readinessPassed ?? true),
    started,
    restartCount: obs.restartCount,
  };
}
