// What `peapod ui` serves, as data: the pods and their status, a pod's
// kernel steps as `explain` prints them, and a container's log as it grows.
// Read from the state root and /proc, as `get`, `explain` and `logs` do.
import { existsSync } from 'node:fs';
import { explainPod, PAUSE_PID } from '../node/explain.js';
import { renderProcess } from '../node/explain-text.js';
import { CriParser, LogChain, type LogLine } from '../runtime/log-reader.js';
import type { RuntimePaths } from '../runtime/paths.js';
import { getStoredPod, listStoredPods, readStoredPod, type StoredPod } from '../node/store.js';
import type { ContainerStatus } from '../kubelet/status/types.js';

export interface ContainerSummary {
  name: string;
  init: boolean;
  state: 'running' | 'waiting' | 'terminated' | 'unknown';
  reason?: string;
  ready: boolean;
  restartCount: number;
}

export interface PodSummary {
  name: string;
  phase: string;
  reason?: string;
  /** Its supervisor runs (a pod that is not live is a tombstone: its last status). */
  live: boolean;
  deleting: boolean;
  podIP: string | null;
  createdAt: string | null;
  containers: ContainerSummary[];
}

function containerSummary(name: string, init: boolean, s: ContainerStatus | undefined): ContainerSummary {
  const st = s?.state;
  const state = st?.running ? 'running' : st?.terminated ? 'terminated' : st?.waiting ? 'waiting' : 'unknown';
  const reason = st?.terminated?.reason ?? st?.waiting?.reason;
  return { name, init, state, ...(reason ? { reason } : {}), ready: s?.ready ?? false, restartCount: s?.restartCount ?? 0 };
}

export function podSummary(p: StoredPod): PodSummary {
  const object = p.pod;
  const spec = (object ?? p.record?.pod)?.spec;
  const statuses = new Map<string, ContainerStatus>();
  for (const s of [...(object?.status.initContainerStatuses ?? []), ...(object?.status.containerStatuses ?? [])]) statuses.set(s.name, s);
  const containers = [
    ...(spec?.initContainers ?? []).map((c) => containerSummary(c.name, true, statuses.get(c.name))),
    ...(spec?.containers ?? []).map((c) => containerSummary(c.name, false, statuses.get(c.name))),
  ];
  const reason = object?.status.reason;
  return {
    name: p.name,
    phase: object?.status.phase ?? 'Pending',
    ...(reason ? { reason } : {}),
    live: p.live,
    deleting: object?.metadata.deletionTimestamp !== undefined,
    podIP: object?.status.podIP ?? null,
    createdAt: object?.metadata.creationTimestamp ?? p.record?.createdAt ?? null,
    containers,
  };
}

export function podSummaries(paths: RuntimePaths): PodSummary[] {
  return listStoredPods(paths).map(podSummary);
}

export interface ExplainedSteps {
  name: string;
  role: 'sandbox' | 'init' | 'container';
  /** The process's plan, as `peapod explain` prints it. */
  text: string;
}

/**
 * The kernel steps that made each process of the pod, as `peapod explain`
 * prints them, with the running pause's pid where explain has a placeholder.
 */
export function explainSteps(paths: RuntimePaths, name: string): ExplainedSteps[] {
  const stored = getStoredPod(paths, name);
  const pod = stored.record?.pod ?? stored.pod;
  if (!pod) throw new Error(`pod "${name}" has no manifest on record`);
  const e = explainPod(pod, { paths });
  const pause = stored.live ? stored.record?.sandbox?.pid : undefined;
  return e.processes.map((p) => {
    const text = renderProcess(p, e).join('\n');
    return { name: p.name, role: p.role, text: pause ? text.split(PAUSE_PID).join(String(pause)) : text };
  });
}

export type LogEvent =
  | { type: 'line'; line: LogLine }
  | { type: 'instance'; restart: number }
  | { type: 'end'; why: string };

export interface LogFollowOptions {
  /** Lines of the current instance sent first (its last ones). */
  tail?: number;
  intervalMs?: number;
}

/**
 * Follows a container's log as `peapod logs -f` does: the last lines of
 * its current instance, then every new one, through rotations and into the
 * next instance on a restart, until the pod is gone. Returns the stop.
 */
export function followLog(paths: RuntimePaths, name: string, container: string, send: (e: LogEvent) => void, options: LogFollowOptions = {}): () => void {
  const stored = getStoredPod(paths, name);
  const spec = (stored.pod ?? stored.record?.pod)?.spec;
  const known = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => c.name);
  if (!known.includes(container)) throw new UnknownContainerError(`container "${container}" is not valid for pod ${name}; choose one of: ${known.join(' ')}`);
  const statuses = [...(stored.pod?.status.initContainerStatuses ?? []), ...(stored.pod?.status.containerStatuses ?? [])];
  let instance = statuses.find((s) => s.name === container)?.restartCount ?? 0;
  const file = (n: number): string => stored.paths.log(container, n);

  let parser = new CriParser();
  const lost = (message: string): void => send({ type: 'line', line: { time: new Date().toISOString(), stream: 'stderr', text: `peapod: ${message}` } });
  let chain = new LogChain(file(instance), lost);
  const initial: LogLine[] = [];
  chain.read((text) => initial.push(...parser.push(text)));
  send({ type: 'instance', restart: instance });
  for (const line of initial.slice(Math.max(initial.length - (options.tail ?? 200), 0))) send({ type: 'line', line });

  const emit = (text: string): void => {
    for (const line of parser.push(text)) send({ type: 'line', line });
  };
  const timer = setInterval(() => {
    chain.read(emit);
    if (existsSync(file(instance + 1))) {
      // A new instance: this one's last lines first.
      chain.read(emit);
      chain.close();
      chain = new LogChain(file(++instance), lost);
      parser = new CriParser();
      send({ type: 'instance', restart: instance });
      return;
    }
    if (!readStoredPod(paths, name)?.live) {
      chain.read(emit);
      chain.close();
      clearInterval(timer);
      send({ type: 'end', why: `pod ${name} is gone` });
    }
  }, options.intervalMs ?? 250);
  return () => {
    clearInterval(timer);
    chain.close();
  };
}

export class UnknownContainerError extends Error {
  override name = 'UnknownContainerError';
}
