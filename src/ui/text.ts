// Words and numbers of the figure: escaping for SVG and HTML, cutting a
// label to the room it has, and cgroup limits as people write them.
import type { CgroupLimits, Limit } from '../node/inspect-cgroups.js';

/** Escapes text for an XML/HTML text node or a quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** At most `max` characters, the end cut off with an ellipsis. */
export function cutEnd(text: string, max: number): string {
  if (text.length <= max) return text;
  return max <= 1 ? '…'.slice(0, max) : `${text.slice(0, max - 1)}…`;
}

/** At most `max` characters, the start cut off: a path's end says most. */
export function cutStart(text: string, max: number): string {
  if (text.length <= max) return text;
  return max <= 1 ? '…'.slice(0, max) : `…${text.slice(text.length - max + 1)}`;
}

const UNITS: Array<[string, number]> = [
  ['Ti', 2 ** 40],
  ['Gi', 2 ** 30],
  ['Mi', 2 ** 20],
  ['Ki', 2 ** 10],
];

/** Bytes as Kubernetes quantities: 64Mi when exact, else one decimal (1.5Gi). */
export function formatBytes(n: number): string {
  for (const [unit, size] of UNITS) {
    if (n >= size) {
      const v = n / size;
      return Number.isInteger(v) ? `${v}${unit}` : `${v.toFixed(1)}${unit}`;
    }
  }
  return String(n);
}

function limit(value: Limit, show: (n: number) => string): string {
  return value === null ? '?' : value === 'max' ? 'max' : show(value);
}

/** CPU quota as millicores (500m), as resources.limits.cpu writes it. */
export function formatCpu(cpu: CgroupLimits['cpu']): string {
  if (cpu === null) return '?';
  if (cpu === 'max') return 'max';
  if (!(cpu.periodUs > 0)) return '?';
  return `${Math.round((cpu.quotaUs * 1000) / cpu.periodUs)}m`;
}

/** The three limits, short: "mem 64Mi · cpu 500m · pids max" ("max": no limit). */
export function limitParts(c: CgroupLimits): string[] {
  return [`mem ${limit(c.memoryBytes, formatBytes)}`, `cpu ${formatCpu(c.cpu)}`, `pids ${limit(c.pids, String)}`];
}
