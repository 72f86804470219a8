// The figure as SVG text: presentation attributes only (no <style>, no
// script), so the same file shows the same in a browser, an <img>, a
// README or the `peapod ui` page. Every process, namespace and volume is a
// <g> whose data-* attributes carry its pids and inodes, for the page to
// act on and for tests to check against /proc; <title> holds the full text.
import type { PodInspection } from '../node/inspect.js';
import { figureOf, FONT_SIZE, JOIN_LABEL_OFFSET, LINE, type Figure, type GroupBox, type LegendItem, type NamespaceBar, type ProcessBox, type Role, type Scope, type VolumeDisk } from './figure.js';
import { escapeXml } from './text.js';

const FONT = "'DejaVu Sans Mono', Menlo, Consolas, monospace";

const SCOPE_STYLE: Record<Scope, { fill: string; stroke: string; dash?: string }> = {
  pod: { fill: '#dcfce7', stroke: '#15803d' },
  own: { fill: '#dbeafe', stroke: '#1d4ed8' },
  host: { fill: '#f3f4f6', stroke: '#6b7280', dash: '5 3' },
  shared: { fill: '#fef3c7', stroke: '#b45309' },
};

const VOLUME_STYLE = { fill: '#ede9fe', stroke: '#6d28d9' };

const GROUP_STYLE: Record<Role, { fill: string; stroke: string; dash?: string }> = {
  host: { fill: 'none', stroke: '#9ca3af', dash: '5 3' },
  pause: { fill: '#fff7ed', stroke: '#c2410c' },
  container: { fill: '#f8fafc', stroke: '#334155' },
};

/** Coordinates with at most one decimal: the same figure prints the same text. */
function n(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === 'number' ? n(v) : (v as string))}"`)
    .join('');
}

function text(x: number, y: number, content: string, extra: Record<string, string | number | undefined> = {}): string {
  return `<text${attrs({ x, y, ...extra })}>${escapeXml(content)}</text>`;
}

function lines(x: number, y: number, content: readonly string[], boldFirst = false): string {
  return content.map((l, k) => text(x, y + 12 + k * LINE, l, k === 0 && boldFirst ? { 'font-weight': 'bold' } : {})).join('');
}

function rect(r: { x: number; y: number; w: number; h: number }, style: { fill: string; stroke: string; dash?: string }, rx = 4): string {
  return `<rect${attrs({ x: r.x, y: r.y, width: r.w, height: r.h, rx, fill: style.fill, stroke: style.stroke, 'stroke-dasharray': style.dash })}/>`;
}

function title(t: string): string {
  return `<title>${escapeXml(t)}</title>`;
}

function group(g: GroupBox): string {
  const style = GROUP_STYLE[g.role];
  return `<g${attrs({ class: 'group', 'data-role': g.role, 'data-name': g.name, 'data-running': String(g.running) })}>${title(g.title)}${rect(g, style, 6)}${lines(g.x + 6, g.y + 2, g.lines, true)}</g>`;
}

function processBox(p: ProcessBox): string {
  const fill = p.role === 'pause' ? '#ffedd5' : p.role === 'host' ? '#f9fafb' : p.pid === null ? '#f3f4f6' : '#ffffff';
  const stroke = p.role === 'host' ? '#9ca3af' : '#334155';
  const a = {
    class: 'process',
    'data-role': p.role,
    'data-container': p.group,
    'data-pid': p.pid === null ? undefined : String(p.pid),
    'data-pod-pid': p.podPid === null ? undefined : String(p.podPid),
    tabindex: p.pid === null ? undefined : '0',
  };
  return `<g${attrs(a)}>${title(p.title)}${rect(p, { fill, stroke, ...(p.role === 'host' || p.pid === null ? { dash: '4 3' } : {}) })}${lines(p.x + 6, p.y + 3, p.lines)}</g>`;
}

function bar(b: NamespaceBar): string {
  const style = SCOPE_STYLE[b.scope];
  const pids = b.members.flatMap((m) => (m.pid === null ? [] : [m.pid])).join(' ');
  const a = { class: 'namespace', 'data-kind': b.kind, 'data-inode': String(b.inode), 'data-scope': b.scope, 'data-pids': pids, 'data-host': String(b.scope === 'host') };
  // A member joins on the bar's top edge, where its lifeline comes in: never over the label.
  const dots = b.members.map((m) => `<circle${attrs({ cx: m.x, cy: b.y, r: 4.5, fill: style.stroke })}/>`).join('');
  return `<g${attrs(a)}>${title(b.title)}${rect(b, style, 5)}${lines(b.x + 6, b.y + 3, b.lines)}${dots}</g>`;
}

function disk(d: VolumeDisk): string {
  const ry = 6;
  const style = VOLUME_STYLE;
  const body = `<path${attrs({
    d: `M${n(d.x)} ${n(d.y + ry)} a${n(d.w / 2)} ${ry} 0 0 0 ${n(d.w)} 0 v${n(d.h - 2 * ry)} a${n(d.w / 2)} ${ry} 0 0 1 ${n(-d.w)} 0 z`,
    fill: style.fill,
    stroke: style.stroke,
  })}/>`;
  const top = `<ellipse${attrs({ cx: d.x + d.w / 2, cy: d.y + ry, rx: d.w / 2, ry, fill: '#f5f3ff', stroke: style.stroke })}/>`;
  const joins = d.joins
    .map((j) => {
      const line = `<line${attrs({ x1: j.x, y1: j.y1, x2: j.x, y2: d.y + ry, stroke: style.stroke, 'stroke-width': 1.5, 'stroke-dasharray': j.readOnly ? '3 2' : undefined })}/>`;
      const label = text(j.x + JOIN_LABEL_OFFSET, d.y - 6, j.label, { fill: style.stroke });
      return `<g${attrs({ class: 'mount', 'data-container': j.container, 'data-mount-path': j.mountPath, 'data-read-only': String(j.readOnly) })}>${line}${label}</g>`;
    })
    .join('');
  const a = { class: 'volume', 'data-name': d.name, 'data-host-path': d.hostPath ?? undefined };
  return `<g${attrs(a)}>${title(d.title)}${joins}${body}${top}${lines(d.x + 8, d.y + 2 * ry, d.lines)}</g>`;
}

function legendItem(l: LegendItem, y: number): string {
  if (!l.swatch) return text(16, y, l.text);
  const style = l.swatch === 'volume' ? VOLUME_STYLE : SCOPE_STYLE[l.swatch];
  return `${rect({ x: 16, y: y - 9, w: 16, h: 10 }, style, 2)}${text(38, y, l.text)}`;
}

export function renderSvg(f: Figure): string {
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width: f.width, height: f.height, viewBox: `0 0 ${f.width} ${f.height}`, 'font-family': FONT, 'font-size': FONT_SIZE, fill: '#111827', 'data-pod': f.name, role: 'img' })}>`,
  );
  out.push(title(f.captions[0]?.text ?? `pod/${f.name}`));
  out.push(`<rect${attrs({ width: f.width, height: f.height, fill: '#ffffff' })}/>`);
  out.push(
    `<g class="captions">${f.captions
      .map((c, k) => text(16, 16 + 12 + k * LINE, c.text, { class: 'caption', 'data-caption': c.key, ...(k === 0 ? { 'font-weight': 'bold', 'font-size': 12 } : {}) }))
      .join('')}</g>`,
  );
  out.push(
    `<g class="bands">${f.bands
      .map((b, k) => `<rect${attrs({ x: 8, y: b.y - 3, width: f.width - 16, height: b.h + 6, fill: k % 2 === 0 ? '#fafafa' : '#ffffff' })}/>${lines(14, b.y + 3, b.lines, true)}`)
      .join('')}</g>`,
  );
  out.push(`<g class="lifelines">${f.lifelines.map((l) => `<line${attrs({ x1: l.x, y1: l.y1, x2: l.x, y2: l.y2, stroke: '#94a3b8', 'stroke-width': 1.5 })}/>`).join('')}</g>`);
  out.push(`<g class="namespaces">${f.bands.flatMap((b) => b.bars.map(bar)).join('')}</g>`);
  out.push(`<g class="groups">${f.groups.map(group).join('')}</g>`);
  out.push(`<g class="processes">${f.processes.map(processBox).join('')}</g>`);
  out.push(`<g class="volumes">${f.volumes.map(disk).join('')}</g>`);
  out.push(`<g class="legend" fill="#4b5563">${f.legend.map((l, k) => legendItem(l, f.legendY + k * LINE)).join('')}</g>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The pod's figure as SVG: inspectPod's data in, text out. */
export function podSvg(v: PodInspection): string {
  return renderSvg(figureOf(v));
}
