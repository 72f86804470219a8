// What the CLI and the node daemon say to each other over the daemon's
// socket: one JSON object a line each way. A request gets one reply, except
// a delete that waits (an `accepted` line, then `done` when the pod is gone).
import type { PodEvent } from '../kubelet/events.js';
import type { PodObject } from '../kubelet/types.js';
import type { Pod } from '../manifest/types.js';
import type { PodRecord } from './state.js';

/** Per-pod settings a `run -d` may give (the rest are the daemon's, from the environment it was started with). */
export interface RunSettings {
  backoff?: { baseSeconds: number; capSeconds: number; resetSeconds: number };
  nodeAllocatable?: string;
}

export type DaemonRequest =
  | { op: 'hello' }
  | { op: 'run'; pod: Pod; settings: RunSettings }
  | { op: 'delete'; name: string; gracePeriodSeconds?: number; force?: boolean; wait: boolean }
  /** One pod, or every pod of the root (the daemon's from its memory, the others from their files). */
  | { op: 'pods'; name?: string }
  /** The daemon exits; its pods keep running, and the next daemon adopts them. */
  | { op: 'shutdown' };

/** A pod as the daemon reports it: the same as store.ts' StoredPod, less the paths the CLI knows. */
export interface PodReport {
  name: string;
  pod: PodObject | null;
  record: PodRecord | null;
  recordError?: string;
  live: boolean;
  supervisorPid?: number;
  events: PodEvent[];
}

export type DaemonReply =
  | { ok: true; pid: number; version: string }
  | { ok: true; name: string; pausePid: number }
  | { ok: true; pods: PodReport[] }
  | { ok: true }
  | { accepted: true }
  | { done: true; phase: string; exitCode: number }
  /** `notMine`: the pod is not the daemon's (a `run -f`'s): the CLI deals with it as before. */
  | { error: string; notFound?: true; notMine?: true };

export const PROTOCOL_VERSION = '1';
