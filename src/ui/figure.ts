// The seed's figure of a pod, laid out from what /proc says: one column per
// process (the host's, pause's, then every container's), one band per kind
// of namespace, and in each band every namespace drawn once, as a bar over
// the columns of the processes in it, with a dot where each one joins. The
// pod's volumes are disks below, joined where each container mounts them.
// Pure and deterministic: the same inspection gives the same figure.
import { NAMESPACE_KINDS, type ContainerView, type NamespaceKind, type NamespaceInodes, type PodInspection, type ProcessView } from '../node/inspect.js';
import { cutEnd, cutStart, limitParts } from './text.js';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type Role = 'host' | 'pause' | 'container';

/** Whose a namespace is: the host's, the pod's (pause's, joined), one container's own, or shared otherwise. */
export type Scope = 'host' | 'pod' | 'own' | 'shared';

export interface ProcessBox extends Rect {
  role: Role;
  /** The container's name ("pause", "host" for those two). */
  group: string;
  /** Host pid (null for the host's column, and for a container that does not run). */
  pid: number | null;
  podPid: number | null;
  lines: string[];
  /** The full text, shown on hover. */
  title: string;
}

export interface GroupBox extends Rect {
  role: Role;
  name: string;
  lines: string[];
  title: string;
  running: boolean;
}

export interface NamespaceBar extends Rect {
  kind: NamespaceKind;
  inode: number;
  scope: Scope;
  /** Where each member joins: its column's centre, and its pid (null: the host's column). */
  members: Array<{ x: number; pid: number | null }>;
  lines: string[];
  title: string;
}

export interface Band {
  kind: NamespaceKind;
  y: number;
  h: number;
  lines: string[];
  bars: NamespaceBar[];
}

export interface Lifeline {
  x: number;
  y1: number;
  y2: number;
}

export interface VolumeDisk extends Rect {
  name: string;
  hostPath: string | null;
  lines: string[];
  title: string;
  joins: Array<{ x: number; y1: number; container: string; mountPath: string; readOnly: boolean; label: string }>;
}

export interface Caption {
  key: 'title' | 'pod-ip' | 'pod-cgroup';
  text: string;
}

export interface LegendItem {
  text: string;
  /** A small sample of the colour it explains. */
  swatch?: Scope | 'volume';
}

export interface Figure {
  width: number;
  height: number;
  name: string;
  captions: Caption[];
  groups: GroupBox[];
  processes: ProcessBox[];
  lifelines: Lifeline[];
  bands: Band[];
  volumes: VolumeDisk[];
  legend: LegendItem[];
  /** Where the legend's first line is. */
  legendY: number;
}

// ---------------------------------------------------------------- geometry

export const FONT_SIZE = 11;
/** Width of one character of an 11px monospace font (DejaVu Sans Mono: 0.602 em). */
export const CHAR_WIDTH = 6.7;
export const LINE = 14;
const MARGIN = 16;
const GUTTER = 124;
export const COLUMN = 160;
const PAD = 6;
const GROUP_LINES = 4;
const PROCESS_LINES = 3;
const LANE = 38;
const BAR_HEIGHT = 32;
const BAND_GAP = 8;
const VOLUME_LANE = 76;
const DISK_HEIGHT = 48;
/** How far right of its line a mount's label starts. */
export const JOIN_LABEL_OFFSET = 5;

/** How many characters fit in `width` pixels, with a little room on each side. */
export function fits(width: number): number {
  return Math.max(1, Math.floor((width - 10) / CHAR_WIDTH));
}

const NS_WORDS: Record<NamespaceKind, string> = {
  pid: 'process ids',
  net: 'network',
  ipc: 'SysV IPC, mqueue',
  uts: 'hostname',
  mnt: 'mounts',
  cgroup: 'cgroup root',
  user: 'uids, caps',
  time: 'clocks',
};

// ---------------------------------------------------------------- columns

interface Column {
  role: Role;
  group: string;
  /** The process whose namespaces this column shows (null: a container that does not run). */
  namespaces: NamespaceInodes | null;
  process: ProcessView | null;
  container?: ContainerView;
}

function columnsOf(v: PodInspection): Column[] {
  const out: Column[] = [
    { role: 'host', group: 'host', namespaces: v.host.namespaces, process: null },
    { role: 'pause', group: 'pause', namespaces: v.pause.namespaces, process: v.pause },
  ];
  for (const c of v.containers) {
    if (c.processes.length === 0) out.push({ role: 'container', group: c.name, namespaces: null, process: null, container: c });
    for (const p of c.processes) out.push({ role: 'container', group: c.name, namespaces: p.namespaces, process: p, container: c });
  }
  return out;
}

function seccompWord(p: ProcessView): string {
  const s = p.seccomp;
  return s.mode === 2 ? 'seccomp filter' : s.mode === 0 ? 'no seccomp' : s.mode === 1 ? 'seccomp strict' : 'seccomp ?';
}

function processLines(col: Column, room: number): { lines: string[]; title: string } {
  const p = col.process;
  if (col.role === 'host') {
    return { lines: ['the namespaces of', 'peapod itself, on', 'the host'], title: "The host's namespaces, as peapod itself has them: a bar in this column is not isolated from the host" };
  }
  if (!p) {
    const c = col.container;
    const why = c?.reason ? `${c.state}: ${c.reason}` : (c?.state ?? 'unknown');
    return { lines: ['(not running)', cutEnd(why, room)], title: `${col.group}: not running (${why})` };
  }
  const lines = [
    cutEnd(p.command, room),
    fitting([`pid ${p.hostPid} · pod pid ${p.podPid}`, `pid ${p.hostPid} · pod ${p.podPid}`], room),
    fitting([`uid ${p.uid ?? '?'} · ${seccompWord(p)}`, `uid ${p.uid ?? '?'}`], room),
  ];
  const title = `${p.command}\nhost pid ${p.hostPid}, pid in the pod ${p.podPid} (NSpid ${p.nsPids.join(' ')})\nuid ${p.uid ?? '?'}, gid ${p.gid ?? '?'}, CapEff ${p.capEff ?? '?'}, ${seccompWord(p)}`;
  return { lines, title };
}

function groupLines(role: Role, name: string, cols: Column[], v: PodInspection, room: number): { lines: string[]; title: string } {
  if (role === 'host') return { lines: ['host', 'outside the pod'], title: 'the host' };
  if (role === 'pause') {
    return { lines: ['pause', 'the sandbox: holds', "the pod's namespaces"], title: "pause: PID 1 of the pod, holding its PID, network, IPC and UTS namespaces" };
  }
  const c = cols[0]?.container;
  if (!c) return { lines: [name], title: name };
  const state = c.reason ? `${c.state}: ${c.reason}` : c.state;
  const limits = c.cgroup ? limitParts(c.cgroup) : [];
  const lines = [cutEnd(c.init ? `${name} (init)` : name, room), cutEnd(state, room)];
  if (c.cgroup) {
    // Two lines in one column, one when the group is wider.
    const joined = limits.join(' · ');
    if (joined.length <= room) lines.push(joined);
    else lines.push(cutEnd(limits.slice(0, 2).join(' · '), room), cutEnd(limits[2] ?? '', room));
  }
  const title = [`container ${name}${c.init ? ' (init)' : ''}: ${state}`, `seccomp: ${c.seccompProfile}`, ...(c.cgroup ? [`cgroup ${c.cgroup.path}: ${limits.join(', ')}`] : [])].join('\n');
  return { lines: lines.slice(0, GROUP_LINES), title };
}

// ---------------------------------------------------------------- lanes

/** Places intervals in lanes, first fit, in the order given: returns each one's lane. */
function lanes(intervals: ReadonlyArray<{ from: number; to: number }>): number[] {
  const ends: number[] = [];
  return intervals.map(({ from, to }) => {
    let lane = ends.findIndex((end) => end < from);
    if (lane < 0) lane = ends.length;
    ends[lane] = to;
    return lane;
  });
}

function scopeOf(memberCols: number[], cols: Column[]): Scope {
  if (memberCols.includes(0)) return 'host';
  const groups = new Set(memberCols.map((i) => cols[i]?.group));
  if (groups.size === 1) return 'own';
  return memberCols.includes(1) ? 'pod' : 'shared';
}

/** What the bar says of whose namespace it is: the longest of these that fits. */
function scopeWords(scope: Scope, memberCols: number[], cols: Column[]): string[] {
  const containers = new Set(memberCols.map((i) => cols[i]).filter((c) => c?.role === 'container').map((c) => c?.group));
  const n = containers.size;
  const plural = n === 1 ? '' : 's';
  switch (scope) {
    case 'host': {
      const inPod = memberCols.length - 1;
      return inPod === 0 ? ["the host's"] : [`the host's, and ${inPod} process${inPod === 1 ? '' : 'es'} of the pod`, `the host's: ${inPod} of the pod`, "the host's"];
    }
    case 'pod':
      return [`the pod's: pause + ${n} container${plural}`, `the pod's: pause + ${n}`, "the pod's"];
    case 'own': {
      const who = cols[memberCols[0] ?? 0]?.group ?? '?';
      return [`${who}'s own`, 'its own'];
    }
    case 'shared':
      return [`shared by ${n} container${plural}`, `shared by ${n}`];
  }
}

/** The first of the variants (longest first) that fits in `room` characters, else the last one cut. */
function fitting(variants: readonly string[], room: number): string {
  return variants.find((t) => t.length <= room) ?? cutEnd(variants[variants.length - 1] ?? '', room);
}

// ---------------------------------------------------------------- the figure

export function figureOf(v: PodInspection): Figure {
  const cols = columnsOf(v);
  const colX = (i: number): number => MARGIN + GUTTER + i * COLUMN;
  const centre = (i: number): number => colX(i) + COLUMN / 2;

  const captions: Caption[] = [
    { key: 'title', text: `pod/${v.metadata.name} · ${v.phase} · pause and its containers, as /proc shows them` },
    { key: 'pod-ip', text: v.podIP ? `pod IP ${v.podIP}` : 'pod IP: none (the pod has its own loopback only)' },
    {
      key: 'pod-cgroup',
      text: v.cgroup ? `pod cgroup ${v.cgroup.path}: ${limitParts(v.cgroup).join(' · ')}` : 'pod cgroup: none (no cgroup driver on this host)',
    },
  ];
  let y = MARGIN + LINE * captions.length + 12;

  // Groups: the host, pause, each container over its columns.
  const groups: GroupBox[] = [];
  const groupH = GROUP_LINES * LINE + 10;
  let i = 0;
  while (i < cols.length) {
    const first = cols[i] as Column;
    let j = i;
    while (j + 1 < cols.length && cols[j + 1]?.group === first.group && cols[j + 1]?.role === first.role) j++;
    const members = cols.slice(i, j + 1);
    const x = colX(i) + PAD / 2;
    const w = (j - i + 1) * COLUMN - PAD;
    const { lines, title } = groupLines(first.role, first.group, members, v, fits(w));
    groups.push({ x, y, w, h: groupH, role: first.role, name: first.group, lines, title, running: members.some((m) => m.namespaces !== null) });
    i = j + 1;
  }
  y += groupH + 8;

  // Process boxes.
  const processH = PROCESS_LINES * LINE + 10;
  const processes: ProcessBox[] = cols.map((col, k) => {
    const w = COLUMN - 2 * PAD;
    const { lines, title } = processLines(col, fits(w));
    return {
      x: colX(k) + PAD,
      y,
      w,
      h: processH,
      role: col.role,
      group: col.group,
      pid: col.process?.hostPid ?? null,
      podPid: col.process?.podPid ?? null,
      lines,
      title,
    };
  });
  y += processH + 14;

  // One band per kind of namespace; each namespace once, in lanes.
  const bands: Band[] = [];
  for (const kind of NAMESPACE_KINDS) {
    const byInode = new Map<number, number[]>();
    cols.forEach((col, k) => {
      const inode = col.namespaces?.[kind];
      if (inode === null || inode === undefined) return;
      byInode.set(inode, [...(byInode.get(inode) ?? []), k]);
    });
    if (byInode.size === 0) continue;
    const spaces = [...byInode.entries()]
      .map(([inode, members]) => ({ inode, members, from: Math.min(...members), to: Math.max(...members) }))
      .sort((a, b) => a.from - b.from || a.to - b.to || a.inode - b.inode);
    const laneOf = lanes(spaces);
    const laneCount = Math.max(...laneOf) + 1;
    const bars: NamespaceBar[] = spaces.map((s, k) => {
      const x = colX(s.from) + PAD;
      const w = (s.to - s.from + 1) * COLUMN - 2 * PAD;
      const scope = scopeOf(s.members, cols);
      const label = `${kind}:[${s.inode}]`;
      const room = fits(w);
      const variants = scopeWords(scope, s.members, cols);
      const words = fitting(variants, room);
      const pids = s.members.map((m) => cols[m]?.process?.hostPid).filter((p): p is number => p !== undefined);
      return {
        x,
        y: y + (laneOf[k] ?? 0) * LANE + (LANE - BAR_HEIGHT) / 2,
        w,
        h: BAR_HEIGHT,
        kind,
        inode: s.inode,
        scope,
        members: s.members.map((m) => ({ x: centre(m), pid: cols[m]?.process?.hostPid ?? null })),
        lines: [cutEnd(label, room), cutEnd(words, room)],
        title: `${label}: ${variants[0] ?? ''}${pids.length > 0 ? `\npids ${pids.join(' ')}` : ''}`,
      };
    });
    const h = laneCount * LANE;
    bands.push({ kind, y, h, lines: [kind, NS_WORDS[kind]], bars });
    y += h + BAND_GAP;
  }
  const bandsBottom = y - BAND_GAP;

  // Lifelines: from each running process down through the bands.
  const lifelines: Lifeline[] = cols.flatMap((col, k) =>
    col.namespaces === null ? [] : [{ x: centre(k), y1: (processes[k] as ProcessBox).y + processH, y2: bandsBottom }],
  );

  // Volumes: disks in lanes, joined at the first column of each container that mounts them.
  y += 6;
  const firstColumn = new Map<string, number>();
  cols.forEach((col, k) => {
    if (col.role === 'container' && !firstColumn.has(col.group)) firstColumn.set(col.group, k);
  });
  const placed = v.volumes.map((vol) => {
    const at = vol.mounts.map((m) => firstColumn.get(m.container)).filter((k): k is number => k !== undefined);
    const from = at.length > 0 ? Math.min(...at) : 1;
    const to = at.length > 0 ? Math.max(...at) : 1;
    return { vol, from, to };
  });
  const volumeLane = lanes(placed);
  const volumeLanes = placed.length === 0 ? 0 : Math.max(...volumeLane) + 1;
  const volumes: VolumeDisk[] = placed.map(({ vol, from, to }, k) => {
    const top = y + (volumeLane[k] ?? 0) * VOLUME_LANE + (VOLUME_LANE - DISK_HEIGHT - 6);
    const x = colX(from) + PAD;
    const w = (to - from + 1) * COLUMN - 2 * PAD;
    const room = fits(w);
    const kind = vol.source === 'emptyDir' && vol.medium === 'Memory' ? 'emptyDir, Memory' : vol.source;
    const joins = vol.mounts.flatMap((m) => {
      const col = firstColumn.get(m.container);
      if (col === undefined) return [];
      const label = `${m.mountPath}${m.subPath ? ` (${m.subPath})` : ''}${m.readOnly ? ' ro' : ''}`;
      return [{ x: centre(col), y1: bandsBottom, container: m.container, mountPath: m.mountPath, readOnly: m.readOnly, label: cutStart(label, fits(COLUMN - 8)) }];
    });
    return {
      x,
      y: top,
      w,
      h: DISK_HEIGHT,
      name: vol.name,
      hostPath: vol.hostPath,
      lines: [cutEnd(`${vol.name} (${kind})`, room), cutStart(vol.hostPath ?? '?', room)],
      title: `volume ${vol.name} (${kind}) on the host at ${vol.hostPath ?? '?'}\n${vol.mounts.map((m) => `${m.container}: ${m.mountPath}${m.readOnly ? ' (read-only)' : ''}`).join('\n')}`,
      joins,
    };
  });
  y += volumeLanes * VOLUME_LANE + (volumeLanes > 0 ? 8 : 0);

  const legend: LegendItem[] = [
    { text: 'A bar is one namespace, named as readlink /proc/PID/ns/KIND names it; a dot, a process in it.' },
    { swatch: 'pod', text: "the pod's: pause made it, its containers joined it" },
    { swatch: 'own', text: 'one container\'s own (or pause\'s)' },
    { swatch: 'host', text: "the host's: not isolated from the host" },
    ...(bands.some((b) => b.bars.some((x) => x.scope === 'shared')) ? [{ swatch: 'shared' as const, text: 'shared by some containers, not by pause' }] : []),
    ...(volumes.length > 0 ? [{ swatch: 'volume' as const, text: 'a volume of the pod, and where it is on the host; a line goes to where a container mounts it (dashed: read-only)' }] : []),
  ];
  const legendY = y + LINE;
  y += legend.length * LINE + MARGIN;
  const textWidth = Math.max(...captions.map((c) => c.text.length), ...legend.map((l) => l.text.length + 3)) * CHAR_WIDTH;
  // A mount's label runs right of its line, past the last column when that column mounts the volume.
  const labelsEnd = Math.max(0, ...volumes.flatMap((d) => d.joins.map((j) => j.x + JOIN_LABEL_OFFSET + j.label.length * CHAR_WIDTH)));
  const width = Math.ceil(Math.max(colX(cols.length) + MARGIN, MARGIN * 2 + textWidth, labelsEnd + MARGIN));
  return { width, height: Math.ceil(y), name: v.metadata.name, captions, groups, processes, lifelines, bands, volumes, legend, legendY };
}
