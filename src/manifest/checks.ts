// Small reusable field checks for validate*.ts.
import { type Anchor, type DocContext, field } from './context.js';
import { didYouMean } from './suggest.js';

/**
 * Reports a missing required field. A field that was written but failed to
 * decode (wrong type) has been reported already, so it is not "missing".
 */
export function required(ctx: DocContext, path: string, value: unknown, why: string): value is undefined {
  if (value !== undefined) return false;
  if (ctx.has(path) && !ctx.isNull(path)) return true;
  ctx.error(path, `required value: ${why}`, 'key');
  return true;
}

/** Enum check with a "did you mean" that favours a case-only difference ("always" -> "Always"). */
export function oneOf(ctx: DocContext, path: string, value: string | undefined, allowed: readonly string[]): void {
  if (value === undefined || allowed.includes(value)) return;
  const sameCase = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  const hint = sameCase !== undefined ? `; did you mean ${JSON.stringify(sameCase)}?` : didYouMean(value, allowed.filter((a) => a !== ''));
  const shown = allowed.map((a) => JSON.stringify(a)).join(', ');
  ctx.error(path, `unsupported value ${JSON.stringify(value)}${hint} (supported values: ${shown})`);
}

export function absolutePath(ctx: DocContext, path: string, value: string | undefined, what: string): void {
  if (value === undefined) return;
  if (value === '') ctx.error(path, `required value: ${what} must be an absolute path`);
  else if (!value.startsWith('/')) {
    ctx.error(path, `${what} must be an absolute path (starting with "/"), got ${JSON.stringify(value)}; try ${JSON.stringify(`/${value}`)}`);
  }
}

/** subPath and the like: inside the volume, so relative and without "..". */
export function descendingPath(ctx: DocContext, path: string, value: string | undefined): void {
  if (value === undefined || value === '') return;
  if (value.startsWith('/')) {
    ctx.error(path, `must be a relative path inside the volume, got ${JSON.stringify(value)}; try ${JSON.stringify(value.replace(/^\/+/, ''))}`);
  } else if (value.split('/').includes('..')) {
    ctx.error(path, `must not contain ".." (it would leave the volume): ${JSON.stringify(value)}`);
  }
}

export function nameCheck(
  ctx: DocContext,
  path: string,
  value: string | undefined,
  check: (s: string) => string | undefined,
  anchor: Anchor = 'value',
): void {
  if (value === undefined) return;
  const problem = check(value);
  if (problem) ctx.error(path, problem, anchor);
}

/** Tracks values that must be unique and reports the later duplicates, naming the first. */
export class Unique {
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly ctx: DocContext,
    private readonly what: string,
  ) {}

  add(key: string | undefined, path: string, shown: string = key ?? ''): void {
    if (key === undefined) return;
    const first = this.seen.get(key);
    if (first === undefined) this.seen.set(key, path);
    else this.ctx.error(path, `duplicate ${this.what} ${JSON.stringify(shown)}: already used at ${first}`);
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }

  keys(): string[] {
    return [...this.seen.keys()];
  }
}

/**
 * Union-like objects (valueFrom, a lifecycle hook): exactly one of `kinds`
 * must be set. Returns the ones set; reports none or several.
 */
export function exactlyOne(ctx: DocContext, path: string, kinds: readonly string[], none: string): string[] {
  const set = ctx.keysAt(path).filter((k) => kinds.includes(k) && !ctx.isNull(field(path, k)));
  if (set.length === 0) ctx.error(path, none, 'key');
  else if (set.length > 1) {
    ctx.error(field(path, set[1] ?? ''), `may not specify more than one of ${set.join(' and ')}; keep one`, 'key');
  }
  return set;
}

/** The largest uid or gid the API server accepts (math.MaxInt32). */
export const MAX_ID = 2147483647;

/** runAsUser, runAsGroup and fsGroup: ids as the API server takes them (0..2^31-1). */
export function checkIds(ctx: DocContext, path: string, sc: { runAsUser?: unknown; runAsGroup?: unknown; fsGroup?: unknown } | undefined): void {
  for (const key of ['runAsUser', 'runAsGroup', 'fsGroup'] as const) {
    const id = sc?.[key];
    if (typeof id === 'number' && (id < 0 || id > MAX_ID)) {
      ctx.error(field(path, key), `must be between 0 and ${MAX_ID}, inclusive, got ${id}`);
    }
  }
}

