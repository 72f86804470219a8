// Output helpers shared by the commands: kubectl-style tables, ages, and
// the -o formats.
import { yamlPackage } from '../lazy-packages.js';

/** Columns padded to their widest cell, three spaces apart, as kubectl prints. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** kubectl's short human durations: 45s, 3m12s, 5h, 2d3h. */
export function age(since: string | undefined, now = Date.now()): string {
  if (!since) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 || d >= 8 ? `${d}d` : `${d}d${h % 24}h`;
}

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'table';
  if (['wide', 'json', 'yaml', 'name'].includes(value)) return value as OutputFormat;
  throw new Error(`unable to match a printer suitable for the output format "${value}", allowed formats are: json,name,wide,yaml`);
}

export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 4)}\n` : yamlPackage().stringify(value);
}
