// The v1 status objects, spelled as Kubernetes spells them.

export interface ContainerStateWaiting {
  reason: string;
  message?: string;
}

export interface ContainerStateRunning {
  startedAt: string;
}

export interface ContainerStateTerminated {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

export interface ContainerState {
  waiting?: ContainerStateWaiting;
  running?: ContainerStateRunning;
  terminated?: ContainerStateTerminated;
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  state: ContainerState;
  lastState: ContainerState;
  ready: boolean;
  started: boolean;
  restartCount: number;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export type ConditionType = 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready';

export interface PodCondition {
  type: ConditionType;
  status: 'True' | 'False';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export interface PodStatus {
  phase: PodPhase;
  conditions: PodCondition[];
  message?: string;
  reason?: string;
  hostIP?: string;
  hostIPs?: Array<{ ip: string }>;
  podIP?: string;
  podIPs?: Array<{ ip: string }>;
  startTime?: string;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses: ContainerStatus[];
  qosClass: 'Guaranteed' | 'Burstable' | 'BestEffort';
}

/** One run of a container, as the supervisor observed it. */
export interface Instance {
  id: string;
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  signal?: number;
  /** Set when the runtime knows better than the exit code (OOMKilled, ...). */
  reason?: string;
  message?: string;
}

/** Everything observed of one container, from which its status is computed. */
export interface ContainerObservation {
  name: string;
  image: string;
  imageID: string;
  restartCount: number;
  /** The newest instance (running or terminated), and the one before it. */
  current?: Instance;
  previous?: Instance;
  /** Why it is not running now, when it is not (back-off, creating, errors). */
  waiting?: ContainerStateWaiting;
  /** postStart done. */
  started: boolean;
  /** The startup probe has succeeded for the current attempt (unset: the container has no startup probe). */
  startupPassed?: boolean;
  /** The readiness probe passes for the current attempt (unset: no readiness probe, ready once started). */
  readinessPassed?: boolean;
}
