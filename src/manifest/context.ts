// Collects issues for one YAML document and knows where every field path
// came from, so that checks written against plain objects can still point at
// line:column.
import type { LineCounter } from 'yaml';
import type { SpecIssue } from './errors.js';
import type { SourcePosition } from './types.js';

interface Where {
  value: number;
  key?: number;
  isNull: boolean;
  /** Keys present in the source when the value is a map (including ones not decoded). */
  keys?: string[];
}

export type Anchor = 'key' | 'value';

export class DocContext {
  private readonly where = new Map<string, Where>();

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    private readonly sink: SpecIssue[],
    readonly strict: boolean,
  ) {}

  position(offset: number): SourcePosition {
    const { line, col } = this.lines.linePos(offset);
    // LineCounter reports line 0 before the first newline is known; files have line 1.
    return { file: this.file, line: Math.max(line, 1), column: Math.max(col, 1) };
  }

  record(path: string, w: Where): void {
    if (!this.where.has(path)) this.where.set(path, w);
  }

  /** Was this path written in the source (even if its value was null or invalid)? */
  has(path: string): boolean {
    return this.where.has(path);
  }

  isNull(path: string): boolean {
    return this.where.get(path)?.isNull ?? false;
  }

  keysAt(path: string): string[] {
    return this.where.get(path)?.keys ?? [];
  }

  /**
   * Where to point for a path. A path not in the source (a missing required
   * field) points at the key of its nearest written ancestor.
   */
  locate(path: string, anchor: Anchor = 'value'): SourcePosition | undefined {
    const w = this.where.get(path);
    if (w) return this.position(anchor === 'key' && w.key !== undefined ? w.key : w.value);
    for (let p = parent(path); p !== undefined; p = parent(p)) {
      const a = this.where.get(p);
      if (a) return this.position(a.key ?? a.value);
    }
    return undefined;
  }

  error(path: string, message: string, anchor: Anchor = 'value'): void {
    this.sink.push({ path, message, severity: 'error', position: this.locate(path, anchor) });
  }

  /** A warning, or an error in strict mode. */
  warn(path: string, message: string, anchor: Anchor = 'value'): void {
    this.sink.push({
      path,
      message: this.strict ? `${message} (refused in strict mode)` : message,
      severity: this.strict ? 'error' : 'warning',
      position: this.locate(path, anchor),
    });
  }

  errorAt(offset: number, path: string, message: string): void {
    this.sink.push({ path, message, severity: 'error', position: this.position(offset) });
  }
}

/** `a.b[0].c` -> `a.b[0]` -> `a.b` -> `a` -> '' -> undefined. */
export function parent(path: string): string | undefined {
  if (path === '') return undefined;
  // Map keys (`labels[app.kubernetes.io/name]`) may hold dots; cut at their '['.
  const cut = path.endsWith(']') ? path.lastIndexOf('[') : path.lastIndexOf('.');
  return cut <= 0 ? '' : path.slice(0, cut);
}

export function field(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** Map entries are `path[key]`, as in Kubernetes' `resources.limits[cpu]`. */
export function mapKey(path: string, key: string): string {
  return `${path}[${key}]`;
}
