// `peapod describe pod NAME`: kubectl's readable summary, with the
// supervisor's events at the end.
import { hostname } from 'node:os';
import type { PodEvent } from '../kubelet/events.js';
import { runtimePaths } from '../runtime/paths.js';
import type { PodObject } from '../kubelet/pod-worker.js';
import { viewPod } from '../node/pods-view.js';
import { readEvents } from '../node/store.js';
import type { ContainerState, ContainerStatus } from '../kubelet/status/types.js';
import type { Container, Probe, Volume } from '../manifest/types.js';
import { probeSettings } from '../kubelet/prober/results.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { age, table } from './format.js';
import { statusColumn } from './get.js';

function field(label: string, value: string | number | undefined, indent = 0): string {
  return `${' '.repeat(indent)}${`${label}:`.padEnd(Math.max(16 - indent, label.length + 2))}${value ?? '<none>'}`;
}

function stateLines(label: string, state: ContainerState, indent: number): string[] {
  const pad = indent + 2;
  if (state.running) return [field(label, 'Running', indent), field('Started', state.running.startedAt, pad)];
  if (state.waiting) return [field(label, 'Waiting', indent), field('Reason', state.waiting.reason, pad), ...(state.waiting.message ? [field('Message', state.waiting.message, pad)] : [])];
  if (state.terminated) {
    const t = state.terminated;
    return [
      field(label, 'Terminated', indent),
      field('Reason', t.reason, pad),
      ...(t.message ? [field('Message', t.message.trim(), pad)] : []),
      field('Exit Code', t.exitCode, pad),
      ...(t.signal !== undefined ? [field('Signal', t.signal, pad)] : []),
      field('Started', t.startedAt, pad),
      field('Finished', t.finishedAt, pad),
    ];
  }
  return [field(label, '<none>', indent)];
}

/** A probe as kubectl describe writes it, with the defaults filled in: `http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`. */
export function describeProbe(p: Probe): string {
  const t = probeSettings(p);
  const attrs = `delay=${t.initialDelayMs / 1000}s timeout=${t.timeoutMs / 1000}s period=${t.periodMs / 1000}s #success=${t.successThreshold} #failure=${t.failureThreshold}`;
  if (p.exec) return `exec [${(p.exec.command ?? []).join(' ')}] ${attrs}`;
  if (p.httpGet) {
    const host = p.httpGet.host ?? '';
    const at = host.includes(':') ? `[${host}]:${p.httpGet.port}` : `${host}:${p.httpGet.port}`;
    return `http-get ${(p.httpGet.scheme ?? 'HTTP').toLowerCase()}://${at}${p.httpGet.path ?? ''} ${attrs}`;
  }
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port} ${attrs}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port} ${p.grpc.service ?? ''} ${attrs}`;
  return `unknown ${attrs}`;
}

function containerLines(c: Container, s: ContainerStatus | undefined): string[] {
  const lines = [`  ${c.name}:`];
  lines.push(field('Container ID', s?.containerID, 4), field('Image', c.image, 4), field('Image ID', s?.imageID, 4));
  if (c.command) lines.push('    Command:', ...c.command.map((a) => `      ${a}`));
  if (c.args) lines.push('    Args:', ...c.args.map((a) => `      ${a}`));
  if (s) {
    lines.push(...stateLines('State', s.state, 4));
    if (Object.keys(s.lastState).length > 0) lines.push(...stateLines('Last State', s.lastState, 4));
    lines.push(field('Ready', s.ready ? 'True' : 'False', 4), field('Restart Count', s.restartCount, 4));
  }
  for (const [label, probe] of [['Liveness', c.livenessProbe], ['Readiness', c.readinessProbe], ['Startup', c.startupProbe]] as const) {
    if (probe) lines.push(field(label, describeProbe(probe), 4));
  }
  const env = c.env ?? [];
  lines.push(env.length === 0 ? field('Environment', '<none>', 4) : '    Environment:');
  for (const e of env) lines.push(`      ${e.name}:  ${e.value ?? (e.valueFrom?.fieldRef ? `(v1:${e.valueFrom.fieldRef.fieldPath})` : '')}`);
  const mounts = c.volumeMounts ?? [];
  lines.push(mounts.length === 0 ? field('Mounts', '<none>', 4) : '    Mounts:');
  for (const m of mounts) lines.push(`      ${m.mountPath} from ${m.name} (${m.readOnly ? 'ro' : 'rw'})`);
  return lines;
}

function volumeLines(v: Volume): string[] {
  if (v.hostPath) return [`  ${v.name}:`, field('Type', 'HostPath (bare host directory volume)', 4), field('Path', v.hostPath.path, 4), field('HostPathType', v.hostPath.type ?? '', 4)];
  const medium = v.emptyDir?.medium ?? '';
  return [`  ${v.name}:`, field('Type', 'EmptyDir (a temporary directory that shares a pod\'s lifetime)', 4), field('Medium', medium, 4), field('SizeLimit', v.emptyDir?.sizeLimit ?? '<unset>', 4)];
}

function eventLines(events: PodEvent[]): string[] {
  if (events.length === 0) return ['Events:  <none>'];
  const rows = events.map((e) => [e.type, e.reason, e.count > 1 ? `${age(e.lastTimestamp)} (x${e.count} over ${age(e.firstTimestamp)})` : age(e.firstTimestamp), e.fieldPath ? `peapod ${e.fieldPath}` : 'peapod', e.message]);
  return ['Events:', ...table(['Type', 'Reason', 'Age', 'From', 'Message'], rows).split('\n').map((l) => `  ${l}`)];
}

export function describePod(pod: PodObject, events: PodEvent[], supervisor: string): string {
  const s = pod.status;
  const lines = [
    field('Name', pod.metadata.name),
    field('Namespace', pod.metadata.namespace),
    field('Node', `${hostname()}/${s.hostIP ?? '127.0.0.1'}`),
    field('Start Time', s.startTime),
    field('Labels', Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'),
    field('Status', statusColumn(pod)),
    ...(pod.metadata.deletionTimestamp ? [field('Termination Grace Period', `${pod.metadata.deletionGracePeriodSeconds}s`)] : []),
    ...(s.reason ? [field('Reason', s.reason)] : []),
    ...(s.message ? [field('Message', s.message)] : []),
    field('IP', s.podIP || '<none>'),
    field('Supervisor', supervisor),
  ];
  if (pod.spec.initContainers?.length) {
    lines.push('Init Containers:');
    for (const c of pod.spec.initContainers) lines.push(...containerLines(c, s.initContainerStatuses?.find((x) => x.name === c.name)));
  }
  lines.push('Containers:');
  for (const c of pod.spec.containers) lines.push(...containerLines(c, s.containerStatuses.find((x) => x.name === c.name)));
  lines.push('Conditions:', ...table(['Type', 'Status'], s.conditions.map((c) => [c.type, c.status])).split('\n').map((l) => `  ${l}`));
  lines.push(pod.spec.volumes?.length ? 'Volumes:' : 'Volumes:  <none>');
  for (const v of pod.spec.volumes ?? []) lines.push(...volumeLines(v));
  lines.push(field('QoS Class', s.qosClass), ...eventLines(events));
  return lines.join('\n');
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { root: { value: true } });
  const [kind, name] = args.positionals;
  if (!kind || !['pod', 'pods', 'po'].includes(kind) || !name) throw new UsageError(`usage: ${describeCommand.synopsis}`);
  const stored = await viewPod(runtimePaths({ root: stringFlag(args, 'root') }), name);
  if (!stored.pod) throw new Error(`pod "${name}" has no status yet; try again`);
  const supervisor = stored.live ? `pid ${stored.supervisorPid ?? '?'} (running)` : 'gone';
  process.stdout.write(`${describePod(stored.pod, stored.events ?? readEvents(stored.paths), supervisor)}\n`);
  return 0;
}

export const describeCommand: Command = {
  name: 'describe',
  synopsis: 'peapod describe pod NAME',
  summary: 'show a pod’s containers, states, volumes and events',
  help: `usage: peapod describe pod NAME [--root DIR]

A readable summary of the pod: its containers with their current and last
states, restart counts, environment and mounts; conditions; volumes; and
the probes as kubectl shows them; and the events its supervisor recorded
(Scheduled, Pulled, Created, Started, Unhealthy, Killing, BackOff,
OOMKilling, ...).`,
  run,
};
