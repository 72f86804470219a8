// The pod's v1 status, assembled from the container statuses. Pure: the
// previous status is an input only so transition times and terminal phases
// carry over.
import type { Container, PodSpec } from '../../manifest/types.js';
import type { ConditionType, ContainerStatus, PodCondition, PodPhase, PodStatus } from './types.js';
import { podPhase } from './phase.js';

export interface PodObservation {
  spec: PodSpec;
  init: ContainerStatus[];
  app: ContainerStatus[];
  startTime?: string;
  /** The node's and the pod's addresses (loopback only: no podIP). */
  network?: Pick<PodStatus, 'hostIP' | 'hostIPs' | 'podIP' | 'podIPs'>;
  /** Set when the runtime ends the pod for a reason of its own (DeadlineExceeded, ...). */
  failure?: { reason: string; message: string };
  previous?: PodStatus;
  now: string;
}

type Resources = NonNullable<Container['resources']>;

/** Kubernetes' QoS classes, from requests and limits of cpu and memory. */
export function qosClass(containers: readonly Container[]): PodStatus['qosClass'] {
  const resources: Resources[] = containers.map((c) => c.resources ?? {});
  const names = ['cpu', 'memory'];
  const any = resources.some((r) => names.some((n) => r.requests?.[n] !== undefined || r.limits?.[n] !== undefined));
  if (!any) return 'BestEffort';
  const guaranteed = resources.every((r) =>
    names.every((n) => {
      const limit = r.limits?.[n];
      const request = r.requests?.[n] ?? limit;
      return limit !== undefined && request === limit;
    }),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function condition(type: ConditionType, ok: boolean, now: string, previous?: PodStatus, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const before = previous?.conditions.find((c) => c.type === type);
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
    ...(!ok && reason ? { reason } : {}),
    ...(!ok && message ? { message } : {}),
  };
}

/** The kubelet's condition message: `containers with unready status: [a b]`. */
function which(what: string, names: string[]): string | undefined {
  return names.length > 0 ? `containers with ${what} status: [${names.join(' ')}]` : undefined;
}

export function podStatus(o: PodObservation): PodStatus {
  const policy = o.spec.restartPolicy ?? 'Always';
  let phase: PodPhase = podPhase(policy, o.init, o.app, o.previous?.phase);
  if (o.failure && phase !== 'Succeeded') phase = 'Failed';
  const incomplete = o.init.filter((s) => s.state.terminated?.exitCode !== 0).map((s) => s.name);
  const unready = o.app.filter((s) => !s.ready).map((s) => s.name);
  const ready = o.app.length > 0 && unready.length === 0;
  const reason = o.failure?.reason ?? o.previous?.reason;
  const message = o.failure?.message ?? o.previous?.message;
  const status: PodStatus = {
    phase,
    conditions: [
      condition('Initialized', incomplete.length === 0, o.now, o.previous, 'ContainersNotInitialized', which('incomplete', incomplete)),
      condition('Ready', ready, o.now, o.previous, 'ContainersNotReady', which('unready', unready)),
      condition('ContainersReady', ready, o.now, o.previous, 'ContainersNotReady', which('unready', unready)),
      condition('PodScheduled', true, o.now, o.previous),
    ],
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    hostIP: o.network?.hostIP ?? '127.0.0.1',
    ...(o.network?.hostIPs ? { hostIPs: o.network.hostIPs } : {}),
    ...(o.network?.podIP ? { podIP: o.network.podIP, podIPs: o.network.podIPs ?? [{ ip: o.network.podIP }] } : {}),
    ...(o.startTime ? { startTime: o.startTime } : {}),
    ...(o.init.length > 0 ? { initContainerStatuses: o.init } : {}),
    containerStatuses: o.app,
    qosClass: qosClass([...(o.spec.initContainers ?? []), ...o.spec.containers]),
  };
  return status;
}
