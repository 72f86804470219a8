// What the kubelet's half keeps of a pod beyond its status, so that the
// next node daemon can take the pod over where the last one left it (the
// kubelet rebuilds the same from the runtime's containers and the API
// server after a restart; peapod has no API server, so it writes it down):
// which attempt of each container is current, its restart count and last
// states, the back-off, whether the pod was being ended and with what grace
// period, and how far its start had come.
import type { ContainerObservation } from './status/types.js';
import type { PreparedVolume } from './types.js';

export interface ContainerCheckpoint {
  /** The runtime container of the current attempt. */
  id?: string;
  attempts: number;
  obs: ContainerObservation;
  /** A restart due at this time (ms since the epoch): back-off under way. */
  restartAt?: number;
  /** Restarts the back-off has counted (its next delay follows from it). */
  backoffRestarts: number;
  succeededHere: boolean;
  running: boolean;
}

export interface WorkerCheckpoint {
  /** 'starting' until the pod's first start is done (a daemon that dies before leaves a half-made pod, removed by the next). */
  phase: 'starting' | 'running';
  sandboxId?: string;
  sandboxAttempt: number;
  startTime?: string;
  /** Being ended: the grace period it was given, started again in full by the next daemon (seed 000). */
  terminating?: { grace: number; requestedAt: string };
  failure?: { reason: string; message: string };
  volumes: Record<string, PreparedVolume>;
  /** hostPath directories the pod made (removed if its start is undone). */
  createdVolumes: string[];
  containers: Record<string, ContainerCheckpoint>;
}
