// `peapod get pods` / `get pod NAME`: kubectl's columns and output formats.
import { hostname } from 'node:os';
import type { PodObject } from '../kubelet/pod-worker.js';
import { runtimePaths, type RuntimePaths } from '../runtime/paths.js';
import { viewPods } from '../node/pods-view.js';
import type { ContainerStatus } from '../kubelet/status/types.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { age, outputFormat, serialize, table } from './format.js';

function terminatedReason(c: ContainerStatus, prefix: string): string | undefined {
  const t = c.state.terminated;
  if (!t) return undefined;
  if (t.reason) return `${prefix}${t.reason}`;
  return t.signal !== undefined ? `${prefix}Signal:${t.signal}` : `${prefix}ExitCode:${t.exitCode}`;
}

/** The STATUS column, as kubectl's printPod derives it. */
export function statusColumn(pod: PodObject): string {
  const s = pod.status;
  let reason: string = s.reason ?? s.phase;
  const init = s.initContainerStatuses ?? [];
  let initializing = false;
  for (const [i, c] of init.entries()) {
    if (c.state.terminated?.exitCode === 0) continue;
    initializing = true;
    const waiting = c.state.waiting?.reason;
    if (c.state.terminated) reason = terminatedReason(c, 'Init:') as string;
    else if (waiting && waiting !== 'PodInitializing') reason = `Init:${waiting}`;
    else reason = `Init:${i}/${init.length}`;
    break;
  }
  if (!initializing && !s.reason) {
    let hasRunning = false;
    for (const c of [...s.containerStatuses].reverse()) {
      if (c.state.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state.terminated) reason = terminatedReason(c, '') as string;
      else if (c.state.running && c.ready) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) reason = 'Running';
  }
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

export function readyColumn(pod: PodObject): string {
  const cs = pod.status.containerStatuses;
  return `${cs.filter((c) => c.ready).length}/${pod.spec.containers.length}`;
}

export function restartsColumn(pod: PodObject): string {
  return String(pod.status.containerStatuses.reduce((n, c) => n + c.restartCount, 0));
}

function rows(pods: PodObject[], wide: boolean): string {
  const header = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', ...(wide ? ['IP', 'NODE'] : [])];
  return table(
    header,
    pods.map((p) => [
      p.metadata.name,
      readyColumn(p),
      statusColumn(p),
      restartsColumn(p),
      age(p.metadata.creationTimestamp),
      ...(wide ? [p.status.podIP || '<none>', hostname()] : []),
    ]),
  );
}

async function namedPod(paths: RuntimePaths, name: string): Promise<PodObject> {
  const pod = (await viewPods(paths, name))[0]?.pod;
  // Live, but its first status not written yet (it is being started).
  if (!pod) throw new Error(`pod "${name}" has no status yet; try again`);
  return pod;
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { output: { value: true, alias: 'o' }, root: { value: true } });
  const [kind, name, ...extra] = args.positionals;
  if (!kind || !['pod', 'pods', 'po'].includes(kind)) throw new UsageError(`get knows one resource type: pods (got "${kind ?? ''}")\n${getCommand.synopsis}`);
  if (extra.length > 0) throw new UsageError(`get takes at most one pod name`);
  const format = outputFormat(stringFlag(args, 'output'));
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const pods = name ? [await namedPod(paths, name)] : (await viewPods(paths)).flatMap((p) => (p.pod ? [p.pod] : []));
  if (format === 'json' || format === 'yaml') {
    const value = name ? pods[0] : { apiVersion: 'v1', kind: 'List', items: pods, metadata: { resourceVersion: '' } };
    process.stdout.write(serialize(value, format));
  } else if (format === 'name') {
    for (const p of pods) process.stdout.write(`pod/${p.metadata.name}\n`);
  } else if (pods.length === 0) {
    process.stderr.write('No resources found in default namespace.\n');
  } else {
    process.stdout.write(`${rows(pods, format === 'wide')}\n`);
  }
  return 0;
}

export const getCommand: Command = {
  name: 'get',
  synopsis: 'peapod get pods [NAME] [-o wide|json|yaml|name]',
  summary: 'list pods, or show one as a v1 Pod',
  help: `usage: peapod get pods [NAME] [-o wide|json|yaml|name] [--root DIR]

Lists the pods under the state root with kubectl's columns (NAME READY
STATUS RESTARTS AGE), or prints one pod as a v1 Pod object with its live
status. A pod whose supervisor died is listed with its last status, Failed.`,
  run,
};
