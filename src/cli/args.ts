// A small, strict argument parser: kubectl-style flags (`-f x`, `--root=x`,
// `--force`), unknown flags refused by name.
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A CLI command: its words, its help, and what it does (returns the exit code). */
export interface Command {
  name: string;
  synopsis: string;
  summary: string;
  help: string;
  run(argv: readonly string[]): Promise<number>;
}

export interface FlagSpec {
  /** Takes a value (`-f FILE`) rather than being a switch. */
  value: boolean;
  alias?: string;
}

export interface Parsed {
  positionals: string[];
  flags: Map<string, string | true>;
  /** Everything after `--`. */
  rest: string[];
}

export function parseArgs(argv: readonly string[], specs: Readonly<Record<string, FlagSpec>>): Parsed {
  const byName = new Map<string, [string, FlagSpec]>();
  for (const [name, spec] of Object.entries(specs)) {
    byName.set(`--${name}`, [name, spec]);
    if (spec.alias) byName.set(`-${spec.alias}`, [name, spec]);
  }
  const out: Parsed = { positionals: [], flags: new Map(), rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.rest = argv.slice(i + 1);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    const entry = byName.get(key);
    if (!entry) throw new UsageError(`unknown flag ${key}`);
    const [name, spec] = entry;
    if (!spec.value) {
      if (eq > 0) throw new UsageError(`${key} takes no value`);
      out.flags.set(name, true);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${key} needs a value`);
    out.flags.set(name, value);
  }
  return out;
}

export function stringFlag(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function intFlag(p: Parsed, name: string): number | undefined {
  const v = stringFlag(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number of seconds, not "${v}"`);
  return Number(v);
}
