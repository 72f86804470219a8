// A pod as a test starts it, and what it gives back: through the library
// (a PodWorker in this process, with the lines its containers print and
// every status it publishes), or through the CLI (`run -d`: a supervisor of
// its own). Either way its processes are tracked for the leak check, and a
// pod the test did not end is ended before that check.
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { PodWorker, type PodObject, type PodOptions } from '../../src/kubelet/pod-worker.js';
import type { ContainerStatus } from '../../src/kubelet/status/types.js';
import { podPaths, type PodPaths } from '../../src/runtime/paths.js';
import type { Pod } from '../../src/manifest/types.js';
import { manifest, peapod, trackRecord, type RecordPids } from './cli-harness.js';
import type { TestRoot } from './helpers.js';

export interface Started {
  runtime: PodWorker;
  /** What each container printed, line by line, as it came. */
  logs: Map<string, string[]>;
  /** Every status the pod published, in order. */
  snapshots: PodObject[];
  lines(container: string): string[];
  /** The last status published (or the one computed now, before any). */
  latest(): PodObject;
  /** A container's status (init or app) in the latest status. */
  container(name: string): ContainerStatus;
}

export type StartOptions = Omit<PodOptions, 'paths' | 'onLog' | 'onStatus'>;

/** Starts a pod in this process under the test's root; the leak check stops it if the test does not. */
export async function start(root: TestRoot, p: Pod, options: StartOptions = {}): Promise<Started> {
  const logs = new Map<string, string[]>();
  const snapshots: PodObject[] = [];
  const runtime = await PodWorker.start(p, {
    ...options,
    paths: root.paths,
    onLog: (c, _s, line) => {
      const list = logs.get(c) ?? [];
      list.push(line);
      logs.set(c, list);
    },
    onStatus: (o) => snapshots.push(structuredClone(o)),
  });
  root.runtimes.push(runtime);
  root.pids.add(runtime.sandbox.pid);
  for (const c of runtime.containers.values()) if (c.pid) root.pids.add(c.pid);
  const latest = (): PodObject => snapshots.at(-1) ?? runtime.podObject();
  return {
    runtime,
    logs,
    snapshots,
    lines: (c) => logs.get(c) ?? [],
    latest,
    container: (name) => {
      const status = [...(latest().status.initContainerStatuses ?? []), ...latest().status.containerStatuses].find((c) => c.name === name);
      if (!status) throw new Error(`no status for container ${name}`);
      return status;
    },
  };
}

export interface Finished extends Started {
  result: Awaited<PodWorker['done']>;
}

/** Starts a pod and waits for it to end (restartPolicy Never, or containers that end). */
export async function runToEnd(root: TestRoot, p: Pod, options: StartOptions = {}): Promise<Finished> {
  const s = await start(root, p, options);
  return { ...s, result: await s.runtime.done };
}

/** The host pid of a container's current attempt. */
export function containerPid(s: Started, name: string): number {
  const c = s.runtime.containers.get(name);
  if (!c) throw new Error(`no container ${name}`);
  if (!c.pid) throw new Error(`container ${name} has not started`);
  return c.pid;
}

/** How a container's current attempt ended: its exit code, or the signal that ended it. */
export async function exitOf(worker: PodWorker, name: string): Promise<{ code: number } | { signal: number }> {
  const status = await worker.waitContainer(name);
  return status.signal !== undefined ? { signal: status.signal } : { code: status.exitCode };
}

/** Before the leak check, `peapod delete pod NAME --force`, unless the pod is gone already. */
export function deleteAtEnd(root: TestRoot, name: string): void {
  const state = podPaths(root.paths, name).state;
  root.stops.push(async () => existsSync(state) && (await peapod(root, ['delete', 'pod', name, '--force'])));
}

export interface Detached {
  /** Its record's pids (supervisor, pause, containers) and cgroup, as `run -d` left them. */
  record: RecordPids;
  paths: PodPaths;
}

/** `peapod run -d` of a manifest (YAML, or a Pod): it must say `pod/NAME` and exit 0. */
export async function runDetached(root: TestRoot, name: string, content: string | Pod, env: NodeJS.ProcessEnv = {}): Promise<Detached> {
  const file = typeof content === 'string' ? manifest(root, name, content) : manifest(root, content);
  deleteAtEnd(root, name);
  expect(await peapod(root, ['run', '-d', '-f', file], env), `run -d ${name}`).toMatchObject({ code: 0, stdout: `pod/${name}\n` });
  return { record: trackRecord(root, name), paths: podPaths(root.paths, name) };
}
