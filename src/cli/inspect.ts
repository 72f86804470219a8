// `peapod inspect NAME`: the pod as namespaces, read live from the kernel.
// The seed's figure of pause and its containers, as a table: one row per
// process, one column per kind of namespace, and a cell that says "=pause"
// where the process shares pause's namespace, and a column for its seccomp
// mode. Then each container's seccomp profile and the mounts it sees.
// `-o json` gives the same for tools; `-o svg` draws the seed's figure from
// it, `-o html` puts that figure and this table in one file.
import { viewPod } from '../node/pods-view.js';
import {
  inspectPod,
  NAMESPACE_KINDS,
  type ContainerView,
  type MountView,
  type NamespaceInodes,
  type PodInspection,
  type ProcessView,
  type Sharing,
} from '../node/inspect.js';
import { runtimePaths } from '../runtime/paths.js';
import { podHtml } from '../ui/html.js';
import { podSvg } from '../ui/svg.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { serialize, table } from './format.js';

const USAGE = 'usage: peapod inspect NAME [-o json|yaml|svg|html] [--root DIR]';
const FORMATS = ['json', 'yaml', 'svg', 'html'] as const;
const COMMAND_WIDTH = 60;

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 3)}...`;
}

function inodeCells(ns: NamespaceInodes, shared?: ProcessView['sharedWith']): string[] {
  return NAMESPACE_KINDS.map((kind) => {
    const mark = shared?.[kind];
    if (mark) return `=${mark}`;
    const inode = ns[kind];
    return inode === null ? '-' : String(inode);
  });
}

/** /proc/PID/status Seccomp: 0 none, 1 strict, 2 filter (with Seccomp_filters stacked). */
function seccompCell(s: ProcessView['seccomp']): string {
  if (s.mode === 0) return 'none';
  if (s.mode === 1) return 'strict';
  if (s.mode === 2) return s.filters !== null && s.filters > 1 ? `filter x${s.filters}` : 'filter';
  return '?';
}

function processRow(label: string, p: ProcessView): string[] {
  const id = [label, String(p.hostPid), String(p.podPid), p.uid === null ? '?' : String(p.uid)];
  return [...id, ...inodeCells(p.namespaces, p.sharedWith), seccompCell(p.seccomp), cut(p.command, COMMAND_WIDTH)];
}

function containerRows(c: ContainerView): string[][] {
  const label = c.init ? `${c.name} (init)` : c.name;
  const [main, ...others] = c.processes;
  if (!main) {
    const why = c.reason ? `${c.state}: ${c.reason}` : c.state;
    return [[label, '-', '-', '-', ...NAMESPACE_KINDS.map(() => '-'), '-', `(not running: ${why})`]];
  }
  return [processRow(label, main), ...others.map((p) => processRow(`  \\_ ${c.name}`, p))];
}

function seccompTable(v: PodInspection): string {
  const status = (p: ProcessView | undefined): string =>
    p === undefined ? '(not running)' : `Seccomp: ${p.seccomp.mode ?? '?'}${p.seccomp.mode === 2 ? `, Seccomp_filters: ${p.seccomp.filters ?? '?'}` : ''}`;
  const rows = [
    ['pause', '(none)', status(v.pause)],
    ...v.containers.map((c) => [c.init ? `${c.name} (init)` : c.name, c.seccompProfile, status(c.processes[0])]),
  ];
  const lines = [
    'Seccomp, the system calls each may make: the profile it was given, and what the kernel says of its main process.',
    'RuntimeDefault is the default profile of Docker and containerd (an allowlist); Seccomp: 2 is a filter in place, 0 none.',
    table(['', 'PROFILE', '/proc/PID/status'], rows),
  ];
  return lines.map((l) => l.replace(/^/gm, '  ')).join('\n');
}

function list(kinds: readonly string[]): string {
  return kinds.length === 0 ? 'none' : kinds.join(' ');
}

function sharingLine(s: Sharing): string {
  const parts = [`Shared by the whole pod (every container = pause): ${list(s.pod)}.`, `Each container's own: ${list(s.own)}.`, `The host's: ${list(s.host)}.`];
  if (s.mixed.length > 0) parts.push(`Mixed: ${list(s.mixed)}.`);
  return parts.join('  ');
}

const MOUNT_WORDS: Record<MountView['kind'], string> = {
  rootfs: 'root filesystem',
  proc: '/proc of its PID namespace',
  sys: 'sysfs',
  dev: 'minimal /dev',
  devpts: 'its own ptys',
  shm: "the pod's shared /dev/shm",
  'pod-file': "the pod's file",
  'termination-log': 'termination message',
  volume: 'volume',
  masked: 'masked (OCI)',
  readonly: 'read-only (OCI)',
  binary: 'its program, read-only',
  other: '',
};

function mountWhat(m: MountView): string {
  if (m.kind === 'volume' && m.volume) return `volume ${m.volume.name} (${m.volume.source})`;
  return MOUNT_WORDS[m.kind];
}

function mountFrom(m: MountView): string {
  if (m.fsType === 'overlay') {
    // The overlay's layers: the image below (never written), the container's own upper layer.
    const opt = (k: string): string | undefined => m.superOptions.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
    const lower = opt('lowerdir');
    const upper = opt('upperdir');
    if (lower || upper) return `lower ${lower ?? '?'}, upper ${upper ?? '?'}`;
  }
  if (m.hostPath) return m.hostPath;
  return m.root === '/' ? m.source : `${m.source}:${m.root}`;
}

function mountsTable(who: string, pid: number, mounts: readonly MountView[]): string {
  // The OCI masked and read-only paths of /proc and /sys are many and alike: counted, listed by -o json.
  const guards = mounts.filter((m) => m.kind === 'masked' || m.kind === 'readonly');
  const shown = mounts.filter((m) => m.kind !== 'masked' && m.kind !== 'readonly');
  const rows = shown.map((m) => [m.mountPoint, mountWhat(m), m.fsType, m.readOnly ? 'ro' : 'rw', mountFrom(m)]);
  const lines = [`Mounts of ${who}, as it sees them (/proc/${pid}/mountinfo):`, table(['MOUNT POINT', 'WHAT', 'TYPE', 'RO/RW', 'FROM (HOST PATH OR SOURCE)'], rows)];
  if (guards.length > 0) {
    lines.push(`+ ${guards.length} masked or read-only paths under /proc and /sys (the OCI defaults; -o json lists them)`);
  }
  return lines.map((l) => l.replace(/^/gm, '  ')).join('\n');
}

export function renderInspection(v: PodInspection): string {
  const out: string[] = [];
  out.push(`pod/${v.metadata.name}   ${v.phase}   supervisor pid ${v.supervisorPid}   pause pid ${v.pause.hostPid}   (read live from /proc)`);
  out.push('');
  out.push('Every process lives in one namespace of each kind; a cell is its inode (/proc/PID/ns/KIND).');
  out.push('Two processes SHARE a namespace when the inode is the same, i.e. they see the same pids, network, hostname...');
  out.push("  =pause  the same namespace as pause: shared by the pod    =host  the host's own (peapod's): not isolated");
  out.push("  =main   the same as its container's main process          a number: a namespace no row above has");
  out.push(sharingLine(v.sharing));
  out.push('');
  const header = ['PROCESS', 'HOST PID', 'POD PID', 'UID', ...NAMESPACE_KINDS.map((k) => k.toUpperCase()), 'SECCOMP', 'COMMAND'];
  const hostRow = ['host (peapod)', String(v.host.pid), '-', String(process.getuid?.() ?? '?'), ...inodeCells(v.host.namespaces), '', ''];
  const rows = [hostRow, processRow('pause', v.pause), ...v.containers.flatMap(containerRows)];
  out.push(table(header, rows));
  out.push('');
  out.push(seccompTable(v));
  out.push('');
  out.push(mountsTable('pause', v.pause.hostPid, v.pause.mounts));
  for (const c of v.containers) {
    if (c.mainPid === null) continue;
    out.push('');
    out.push(mountsTable(c.name, c.mainPid, c.mounts));
  }
  return `${out.join('\n')}\n`;
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { output: { value: true, alias: 'o' }, root: { value: true } });
  // `inspect NAME`, and kubectl's habit `inspect pod NAME` too.
  const names = args.positionals[0] === 'pod' && args.positionals.length === 2 ? args.positionals.slice(1) : args.positionals;
  if (names.length !== 1) throw new UsageError(`inspect takes one pod name\n${USAGE}`);
  const output = stringFlag(args, 'output');
  if (output !== undefined && !(FORMATS as readonly string[]).includes(output)) {
    throw new UsageError(`unable to match a printer suitable for the output format "${output}", allowed formats are: ${FORMATS.join(',')}`);
  }
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const view = inspectPod(paths, names[0] as string, await viewPod(paths, names[0] as string));
  process.stdout.write(
    output === 'svg' ? podSvg(view)
    : output === 'html' ? podHtml(view, renderInspection(view))
    : output === 'json' || output === 'yaml' ? serialize(view, output)
    : renderInspection(view),
  );
  return 0;
}

export const inspectCommand: Command = {
  name: 'inspect',
  synopsis: 'peapod inspect NAME [-o json|svg|html]',
  summary: 'the pod as namespaces: pause and every process, side by side',
  help: `${USAGE}

Shows a running pod the way the kernel holds it, read live from /proc:
for pause and every process of every container, its pid on the host and
in the pod, its uid, the inode of each of its namespaces (pid, net, ipc,
uts, mnt, cgroup, user, time) and its seccomp mode. A cell "=pause" marks
a namespace shared with pause (the pod's), "=host" one that is the host's
own. Then each container's seccomp profile (RuntimeDefault, Localhost
FILE or Unconfined) beside what /proc/PID/status says, and the mounts of
each container: its overlay root, /proc, /dev, the pod's
/dev/shm and files, its volumes, and where each comes from on the host.
Needs root (reading another user's /proc/PID/ns does).

  -o, --output json|yaml   the same, as data (with the pod's volumes, cgroup limits and IP)
  -o svg                   the pod as a figure: a column per process, a band per kind of
                           namespace, each namespace one bar joined by the processes in it
                           (its inode as label), the volumes as disks with their host paths
  -o html                  that figure and the table above, in one self-contained file
  --root DIR               state root (default /run/peapod; $PEAPOD_ROOT)`,
  run,
};
