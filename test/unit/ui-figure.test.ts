// The pod's figure from inspect data: every process a box, every namespace
// drawn once and joined by exactly the processes /proc puts in it, the
// host's namespaces marked, volumes with their host paths, the pod IP and
// cgroup limits as captions; deterministic, escaped, and laid out without
// overlaps for ten containers.
import { describe, expect, it } from 'vitest';
import { NAMESPACE_KINDS } from '../../src/node/inspect.js';
import { CHAR_WIDTH, figureOf, JOIN_LABEL_OFFSET, type Rect } from '../../src/ui/figure.js';
import { podHtml } from '../../src/ui/html.js';
import { podSvg } from '../../src/ui/svg.js';
import { cutEnd, cutStart, formatBytes, formatCpu, limitParts } from '../../src/ui/text.js';
import { groupsOf, HOST, inspection, xmlProblem } from './ui-fixtures.js';

const overlap = (a: Rect, b: Rect): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('the figure (inspect -o svg)', () => {
  it('draws pause and every process as a box carrying its pids', () => {
    const v = inspection({ processes: 2 });
    const boxes = groupsOf(podSvg(v), 'process');
    expect(boxes.map((b) => b['data-role'])).toEqual(['host', 'pause', 'container', 'container', 'container', 'container']);
    expect(boxes.filter((b) => b['data-pid']).map((b) => Number(b['data-pid']))).toEqual([1000, 2000, 2001, 2010, 2011]);
    expect(boxes.find((b) => b['data-pid'] === '2011')).toMatchObject({ 'data-container': 'c1', 'data-pod-pid': '13' });
  });

  it('draws each namespace once, joined by exactly the processes in it, with its inode', () => {
    const v = inspection();
    const bars = groupsOf(podSvg(v), 'namespace');
    for (const kind of NAMESPACE_KINDS) {
      const ofKind = bars.filter((b) => b['data-kind'] === kind);
      // No inode twice in a band.
      expect(new Set(ofKind.map((b) => b['data-inode'])).size, kind).toBe(ofKind.length);
    }
    for (const kind of ['pid', 'net', 'ipc', 'uts'] as const) {
      const pod = bars.find((b) => b['data-kind'] === kind && b['data-inode'] === String(v.pause.namespaces[kind]));
      expect(pod, kind).toMatchObject({ 'data-scope': 'pod', 'data-pids': '1000 2000 2010' });
    }
    // The mount namespaces: the host's, pause's own, and one per container.
    const mnt = bars.filter((b) => b['data-kind'] === 'mnt');
    expect(mnt.map((b) => [b['data-scope'], b['data-pids']])).toEqual([
      ['host', ''],
      ['own', '1000'],
      ['own', '2000'],
      ['own', '2010'],
    ]);
    // Not isolated: one bar of the host's, the whole pod in it.
    for (const kind of ['cgroup', 'user', 'time'] as const) {
      expect(bars.filter((b) => b['data-kind'] === kind)).toEqual([
        { 'data-kind': kind, 'data-inode': String(HOST[kind]), 'data-scope': 'host', 'data-pids': '1000 2000 2010', 'data-host': 'true' },
      ]);
    }
    expect(podSvg(v)).toContain(`net:[${v.pause.namespaces.net}]`);
  });

  it('puts pause and its containers in the host bar for hostNetwork', () => {
    const bars = groupsOf(podSvg(inspection({ hostNetwork: true })), 'namespace').filter((b) => b['data-kind'] === 'net');
    expect(bars).toEqual([{ 'data-kind': 'net', 'data-inode': String(HOST.net), 'data-scope': 'host', 'data-pids': '1000 2000 2010', 'data-host': 'true' }]);
  });

  it('shows volumes as disks with their host path, joined where each container mounts them', () => {
    const svg = podSvg(inspection());
    expect(groupsOf(svg, 'volume')).toEqual([{ 'data-name': 'shared-data', 'data-host-path': '/var/lib/peapod/pods/fixture/volumes/shared-data' }]);
    expect(groupsOf(svg, 'mount')).toEqual([
      { 'data-container': 'c0', 'data-mount-path': '/usr/share/nginx/html', 'data-read-only': 'false' },
      { 'data-container': 'c1', 'data-mount-path': '/pod-data', 'data-read-only': 'true' },
    ]);
  });

  it('captions the pod IP and the cgroup limits of the pod and of each container', () => {
    const svg = podSvg(inspection());
    expect(svg).toContain('>pod IP 10.88.0.7<');
    expect(svg).toContain('>pod cgroup /peapod/podU: mem 128Mi · cpu 1000m · pids 4096<');
    expect(svg).toContain('>mem 64Mi · cpu 500m<');
    expect(svg).toContain('>pids max<');
    expect(podSvg(inspection({ podIP: null }))).toContain('pod IP: none (the pod has its own loopback only)');
  });

  it('is the same text for the same inspection, and well-formed XML', () => {
    const v = inspection({ processes: 3, containers: 4 });
    const svg = podSvg(v);
    expect(podSvg(structuredClone(v))).toBe(svg);
    expect(xmlProblem(svg)).toBeNull();
  });

  it('makes one self-contained HTML file of the figure and the table (no script, nothing fetched)', () => {
    const v = inspection();
    const html = podHtml(v, 'PROCESS  <HOST PID>');
    expect(html).toContain(podSvg(v));
    expect(html).toContain('<pre>PROCESS  &lt;HOST PID&gt;</pre>');
    expect(html).not.toMatch(/<script|<link|src=|href=/);
  });

  it('escapes what a container can choose (its command line)', () => {
    const svg = podSvg(inspection({ command: '<script>alert("x")</script> & </svg>' }));
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;/svg&gt;');
    expect(xmlProblem(svg)).toBeNull();
  });

  it('stays legible for ten containers: no box overlaps another, every label fits its box', () => {
    const f = figureOf(inspection({ containers: 10, processes: 1, command: 'a-rather-long-command --with --many --flags and/arguments' }));
    const boxes = [...f.processes, ...f.groups];
    for (const [i, a] of boxes.entries()) for (const b of boxes.slice(i + 1)) expect(overlap(a, b), `${JSON.stringify(a)} / ${JSON.stringify(b)}`).toBe(false);
    const bars = f.bands.flatMap((b) => b.bars);
    for (const [i, a] of bars.entries()) for (const b of bars.slice(i + 1)) expect(overlap(a, b)).toBe(false);
    const joins = f.volumes.flatMap((v) => v.joins);
    expect(joins).toHaveLength(10);
    for (const j of joins) expect(j.x + JOIN_LABEL_OFFSET + j.label.length * CHAR_WIDTH, j.label).toBeLessThanOrEqual(f.width);
    for (const r of [...boxes, ...bars, ...f.volumes]) {
      expect(r.x + r.w).toBeLessThanOrEqual(f.width);
      expect(r.y + r.h).toBeLessThanOrEqual(f.height);
      for (const line of r.lines) expect(line.length * CHAR_WIDTH, line).toBeLessThanOrEqual(r.w - 6);
    }
    // Bands follow one another.
    for (const [i, band] of f.bands.entries()) if (i > 0) expect(band.y).toBeGreaterThan((f.bands[i - 1]?.y ?? 0) + (f.bands[i - 1]?.h ?? 0));
    expect(f.width).toBeLessThan(2200);
  });

  it('says why a container has no process', () => {
    const v = inspection();
    const c = v.containers[1]!;
    Object.assign(c, { state: 'waiting', reason: 'CrashLoopBackOff', processes: [], mainPid: null, cgroup: null });
    const svg = podSvg(v);
    expect(groupsOf(svg, 'process').filter((b) => b['data-container'] === 'c1')).toEqual([{ 'data-role': 'container', 'data-container': 'c1' }]);
    expect(svg).toContain('waiting: CrashLoopBackOff');
    expect(groupsOf(svg, 'group').find((g) => g['data-name'] === 'c1')).toMatchObject({ 'data-running': 'false' });
  });
});

describe('the words of the figure', () => {
  it('writes quantities as Kubernetes does', () => {
    expect(formatBytes(64 * 2 ** 20)).toBe('64Mi');
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5Gi');
    expect(formatBytes(512)).toBe('512');
    expect(formatCpu({ quotaUs: 25000, periodUs: 100000 })).toBe('250m');
    expect(formatCpu('max')).toBe('max');
    expect(limitParts({ path: '/', memoryBytes: 'max', cpu: null, pids: 10 })).toEqual(['mem max', 'cpu ?', 'pids 10']);
  });

  it('cuts long labels to their room, keeping a path end', () => {
    expect(cutEnd('abcdef', 4)).toBe('abc…');
    expect(cutStart('/a/b/c/volume', 8)).toBe('…/volume');
    expect(cutEnd('abc', 3)).toBe('abc');
  });
});
