// What the kubelet's half says of a pod: the v1 Pod it reports, and what a
// pod's end leaves to whoever started it.
import type { ExitStatus } from '../runtime/process.js';
import type { Pod } from '../manifest/types.js';
import type { PodStatus } from './status/types.js';

/** The v1 Pod as peapod reports it: the manifest plus what was observed. */
export interface PodObject extends Pod {
  metadata: Pod['metadata'] & {
    uid: string;
    namespace: string;
    creationTimestamp: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
  };
  status: PodStatus;
}

export interface ContainerResult {
  name: string;
  exit: ExitStatus;
  /** Set when the runtime knows why, beyond the exit (OOMKilled). */
  reason?: string;
  exitCode: number;
  restartCount: number;
  startedAt: Date;
  finishedAt: Date;
}

export interface PodResult {
  containers: ContainerResult[];
  /** 0 when every app container's last run exited 0. */
  exitCode: number;
  status: PodStatus;
}

export interface StopOptions {
  gracePeriodSeconds?: number;
  force?: boolean;
}

/** A volume as the kubelet prepared it on the host. */
export interface PreparedVolume {
  hostPath: string;
  kind: 'dir' | 'file';
  /** The mode of the volume's root: a missing subPath is made with it (the kubelet's rule). */
  mode?: number;
}
