// Inspections as inspectPod returns them, made by hand for the renderer's
// unit tests: a host, pause with the pod's four namespaces, containers
// that join them with a mount namespace each, and volumes.
import { NAMESPACE_KINDS, type ContainerView, type NamespaceInodes, type PodInspection, type ProcessView, type SharedWith } from '../../src/node/inspect.js';

export const HOST: NamespaceInodes = { pid: 4026531836, net: 4026531840, ipc: 4026531839, uts: 4026531838, mnt: 4026531841, cgroup: 4026531835, user: 4026531837, time: 4026531834 };
const POD = { pid: 4026532301, net: 4026532304, ipc: 4026532303, uts: 4026532302 };

function shared(ns: NamespaceInodes, pause: NamespaceInodes | null): Record<(typeof NAMESPACE_KINDS)[number], SharedWith> {
  const out = {} as Record<(typeof NAMESPACE_KINDS)[number], SharedWith>;
  for (const k of NAMESPACE_KINDS) out[k] = ns[k] === HOST[k] ? 'host' : pause && ns[k] === pause[k] ? 'pause' : null;
  return out;
}

export function proc(hostPid: number, podPid: number, command: string, ns: NamespaceInodes, pause: NamespaceInodes | null): ProcessView {
  return {
    hostPid,
    nsPids: [hostPid, podPid],
    podPid,
    command,
    uid: 0,
    gid: 0,
    capEff: '00000000a80425fb',
    seccomp: { mode: 2, filters: 1 },
    namespaces: ns,
    sharedWith: shared(ns, pause),
  };
}

export interface FixtureOptions {
  containers?: number;
  /** Processes in each container (the main one included). */
  processes?: number;
  hostNetwork?: boolean;
  podIP?: string | null;
  command?: string;
  name?: string;
}

export function inspection(o: FixtureOptions = {}): PodInspection {
  const n = o.containers ?? 2;
  const pauseNs: NamespaceInodes = { ...HOST, ...POD, mnt: 4026532300, ...(o.hostNetwork ? { net: HOST.net } : {}) };
  const pause = { ...proc(1000, 1, '/pause', pauseNs, null), uid: 65535, seccomp: { mode: 0, filters: 0 }, mounts: [] };
  const containers: ContainerView[] = [];
  for (let i = 0; i < n; i++) {
    const ns: NamespaceInodes = { ...pauseNs, mnt: 4026532400 + i };
    const processes = Array.from({ length: o.processes ?? 1 }, (_, k) =>
      proc(2000 + i * 10 + k, 2 + i * 10 + k, k === 0 ? (o.command ?? `sleep ${300 + i}`) : `sh -c worker ${k}`, ns, pauseNs),
    );
    containers.push({
      name: `c${i}`,
      init: false,
      state: 'running',
      seccompProfile: 'RuntimeDefault',
      mainPid: processes[0]?.hostPid ?? null,
      processes,
      mounts: [],
      cgroup: { path: `/peapod/podU/c${i}`, memoryBytes: 64 * 2 ** 20, cpu: { quotaUs: 50000, periodUs: 100000 }, pids: 'max' },
    });
  }
  return {
    apiVersion: 'peapod/v1alpha1',
    kind: 'PodInspection',
    metadata: { name: o.name ?? 'fixture', namespace: 'default', uid: 'U' },
    phase: 'Running',
    supervisorPid: 999,
    host: { pid: 999, namespaces: HOST },
    pause,
    containers,
    sharing: { pod: ['pid', 'net', 'ipc', 'uts'], own: ['mnt'], host: ['cgroup', 'user', 'time'], mixed: [] },
    volumes: [
      {
        name: 'shared-data',
        source: 'emptyDir',
        hostPath: '/var/lib/peapod/pods/fixture/volumes/shared-data',
        mounts: containers.map((c, i) => ({ container: c.name, mountPath: i === 0 ? '/usr/share/nginx/html' : '/pod-data', readOnly: i > 0 })),
      },
    ],
    podIP: o.podIP === undefined ? '10.88.0.7' : o.podIP,
    cgroup: { path: '/peapod/podU', memoryBytes: 128 * 2 ** 20, cpu: { quotaUs: 100000, periodUs: 100000 }, pids: 4096 },
  };
}

/** The data-* attributes of every <g class="CLASS"> in an SVG text. */
export function groupsOf(svg: string, cls: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const m of svg.matchAll(new RegExp(`<g class="${cls}"([^>]*)>`, 'g'))) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/ (data-[\w-]+)="([^"]*)"/g)) attrs[a[1] as string] = a[2] as string;
    out.push(attrs);
  }
  return out;
}

/** Checks that every tag is closed in order (the SVG is XML); returns the first problem, or null. */
export function xmlProblem(text: string): string | null {
  const stack: string[] = [];
  for (const m of text.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (selfClose) continue;
    if (!close) stack.push(name as string);
    else if (stack.pop() !== name) return `</${name}> closes nothing open at ${m.index}`;
  }
  if (stack.length > 0) return `unclosed <${stack.join('>, <')}>`;
  if (/&(?!amp;|lt;|gt;|quot;|#39;)/.test(text)) return 'a bare & in the text';
  return null;
}
