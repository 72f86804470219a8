// Seccomp profiles in the OCI / Docker JSON format (what the kubelet hands a
// runtime for a Localhost profile, and what Docker's default.json is):
//
//   { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
//     "architectures": ["SCMP_ARCH_X86_64", ...]  or  "archMap": [...],
//     "syscalls": [ { "names": [...], "action": ..., "errnoRet": ...,
//                     "args": [{ "index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ" }],
//                     "includes": { "caps": [...], "arches": [...], "minKernel": "4.8" },
//                     "excludes": { ... } } ] }
//
// read into typed data with every problem named by file:line:column and
// field. Values are 64-bit (bigint), as the kernel's arguments are.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { didYouMean } from '../../manifest/suggest.js';
import { SCMP_ARCHES } from './abi.js';

export const ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG',
] as const;
export type SeccompAction = (typeof ACTIONS)[number];

export const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;
export type SeccompOp = (typeof OPS)[number];

export interface SeccompArg {
  index: number;
  value: bigint;
  /** The expected value for MASKED_EQ ((arg & value) == valueTwo); unused otherwise. */
  valueTwo: bigint;
  op: SeccompOp;
}

export interface SeccompCondition {
  /** Capabilities, with or without CAP_: for includes all of them must be held, for excludes any one excludes. */
  caps?: string[];
  /** Docker's architecture names (amd64, arm64, x32, ...), matched against the host's. */
  arches?: string[];
  /** "4.8": the running kernel at least this version (includes), or below it (excludes). */
  minKernel?: string;
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  /** Conditions on the arguments: all must hold (several on one index: any, as runc does). */
  args?: SeccompArg[];
  includes?: SeccompCondition;
  excludes?: SeccompCondition;
  comment?: string;
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures: string[] }>;
  syscalls: SeccompRule[];
}

export class SeccompProfileError extends Error {
  override name = 'SeccompProfileError';
}

const MAX_PROFILE_BYTES = 1024 * 1024;
const MAX_ERRNO = 4095;
const U64_MAX = (1n << 64n) - 1n;

type Fields = Record<string, (node: Node | null, path: string) => unknown>;

/** Walks the parsed document, collecting every problem with its position. */
class Reader {
  readonly problems: string[] = [];
  private readonly lines = new LineCounter();

  constructor(private readonly file: string) {}

  get lineCounter(): LineCounter {
    return this.lines;
  }

  error(node: Node | null, path: string, message: string): undefined {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    this.problems.push(`${this.file}:${line}:${col}: ${path || '(top level)'}: ${message}`);
    return undefined;
  }

  /** A map's known fields, each read by its own function; unknown ones are problems. */
  object<T>(node: Node | null, path: string, fields: Fields, required: readonly string[] = []): Partial<T> | undefined {
    if (!isMap(node)) return this.error(node, path, `expected an object, got ${kind(node)}`);
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const read = fields[key];
      const at = path ? `${path}.${key}` : key;
      if (!read) {
        this.error(pair.key as Node, at, `unknown field${didYouMean(key, Object.keys(fields))}`);
        continue;
      }
      const value = pair.value as Node | null;
      if (value === null || (isScalar(value) && value.value === null)) {
        if (required.includes(key)) this.error(value ?? (pair.key as Node), at, 'required, and null here');
        continue;
      }
      const v = read(value, at);
      if (v !== undefined) out[key] = v;
    }
    for (const key of required) {
      if (!node.items.some((p) => isScalar(p.key) && p.key.value === key)) {
        this.error(node, path ? `${path}.${key}` : key, 'required field is missing');
      }
    }
    return out as Partial<T>;
  }

  list<T>(node: Node | null, path: string, item: (n: Node | null, p: string) => T | undefined): T[] | undefined {
    if (!isSeq(node)) return this.error(node, path, `expected a list, got ${kind(node)}`);
    const out: T[] = [];
    node.items.forEach((n, i) => {
      const v = item(n as Node | null, `${path}[${i}]`);
      if (v !== undefined) out.push(v);
    });
    return out;
  }

  string(node: Node | null, path: string): string | undefined {
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    return this.error(node, path, `expected a string, got ${kind(node)}`);
  }

  strings(node: Node | null, path: string): string[] | undefined {
    return this.list(node, path, (n, p) => this.string(n, p));
  }

  integer(node: Node | null, path: string, min: bigint, max: bigint): bigint | undefined {
    if (!isScalar(node) || typeof node.value !== 'bigint') return this.error(node, path, `expected an integer, got ${kind(node)}`);
    const v = node.value;
    if (v < min || v > max) return this.error(node, path, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  oneOf<T extends string>(node: Node | null, path: string, allowed: readonly T[], what: string): T | undefined {
    const s = this.string(node, path);
    if (s === undefined) return undefined;
    if ((allowed as readonly string[]).includes(s)) return s as T;
    return this.error(node, path, `unknown ${what} ${JSON.stringify(s)}${didYouMean(s, allowed)} (one of ${allowed.join(', ')})`);
  }
}

function kind(node: Node | null): string {
  if (node === null || (isScalar(node) && node.value === null)) return 'null';
  if (isMap(node)) return 'an object';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return typeof node.value === 'bigint' ? 'an integer' : typeof node.value === 'number' ? 'a number' : `a ${typeof node.value}`;
  return 'something else';
}

function action(r: Reader, node: Node | null, path: string): SeccompAction | undefined {
  if (isScalar(node) && node.value === 'SCMP_ACT_NOTIFY') {
    return r.error(node, path, 'SCMP_ACT_NOTIFY hands the call to a seccomp agent, and peapod has none; use SCMP_ACT_ERRNO or SCMP_ACT_ALLOW');
  }
  return r.oneOf(node, path, ACTIONS, 'action');
}

const errno = (r: Reader) => (n: Node | null, p: string) => {
  const v = r.integer(n, p, 0n, BigInt(MAX_ERRNO));
  return v === undefined ? undefined : Number(v);
};

function condition(r: Reader, node: Node | null, path: string): SeccompCondition | undefined {
  return r.object<SeccompCondition>(node, path, {
    caps: (n, p) => r.strings(n, p),
    arches: (n, p) => r.strings(n, p),
    minKernel: (n, p) => {
      const s = r.string(n, p);
      if (s !== undefined && !/^\d+\.\d+(\.\d+)?$/.test(s)) return r.error(n, p, `expected a kernel version such as "4.8", got ${JSON.stringify(s)}`);
      return s;
    },
  });
}

function arg(r: Reader, node: Node | null, path: string): SeccompArg | undefined {
  const a = r.object<SeccompArg>(
    node,
    path,
    {
      index: (n, p) => {
        const v = r.integer(n, p, 0n, 5n);
        return v === undefined ? undefined : Number(v);
      },
      value: (n, p) => r.integer(n, p, 0n, U64_MAX),
      valueTwo: (n, p) => r.integer(n, p, 0n, U64_MAX),
      op: (n, p) => r.oneOf(n, p, OPS, 'op'),
    },
    ['index', 'value', 'op'],
  );
  if (a?.index === undefined || a.value === undefined || a.op === undefined) return undefined;
  return { index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0n, op: a.op };
}

function rule(r: Reader, node: Node | null, path: string): SeccompRule | undefined {
  const s = r.object<SeccompRule & { name: string }>(
    node,
    path,
    {
      names: (n, p) => r.strings(n, p),
      // Docker's older format: one name per entry.
      name: (n, p) => r.string(n, p),
      action: (n, p) => action(r, n, p),
      errnoRet: errno(r),
      args: (n, p) => r.list(n, p, (m, q) => arg(r, m, q)),
      includes: (n, p) => condition(r, n, p),
      excludes: (n, p) => condition(r, n, p),
      comment: (n, p) => r.string(n, p),
    },
    ['action'],
  );
  if (!s) return undefined;
  const names = [...(s.names ?? []), ...(s.name !== undefined ? [s.name] : [])];
  const written = isMap(node) && node.items.some((p) => isScalar(p.key) && (p.key.value === 'names' || p.key.value === 'name'));
  if (names.length === 0 && (!written || s.names !== undefined)) r.error(node, `${path}.names`, 'required: the system calls this rule is for, e.g. "names": ["mount"]');
  if (s.errnoRet !== undefined && s.action !== undefined && s.action !== 'SCMP_ACT_ERRNO' && s.action !== 'SCMP_ACT_TRACE') {
    r.error(node, `${path}.errnoRet`, `only SCMP_ACT_ERRNO returns an errno; remove errnoRet or use SCMP_ACT_ERRNO (the action is ${s.action})`);
  }
  if (s.action === undefined || names.length === 0) return undefined;
  const out: SeccompRule = { names, action: s.action };
  for (const k of ['errnoRet', 'args', 'includes', 'excludes', 'comment'] as const) {
    if (s[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = s[k];
  }
  return out;
}

/** Reads a profile; throws SeccompProfileError listing every problem as FILE:LINE:COL: FIELD: message. */
export function parseSeccompProfile(text: string, file: string): SeccompProfile {
  if (Buffer.byteLength(text) > MAX_PROFILE_BYTES) throw new SeccompProfileError(`${file}: larger than ${MAX_PROFILE_BYTES} bytes; a seccomp profile is a few kilobytes`);
  const r = new Reader(file);
  const doc = parseDocument(text, { intAsBigInt: true, uniqueKeys: true, lineCounter: r.lineCounter });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, col } = r.lineCounter.linePos(syntax.pos[0]);
    throw new SeccompProfileError(`${file}:${line}:${col}: not valid JSON: ${syntax.message.split('\n')[0]}`);
  }
  const root = doc.contents as Node | null;
  const arch = (n: Node | null, p: string): string | undefined => r.oneOf(n, p, SCMP_ARCHES, 'architecture');
  const p = r.object<SeccompProfile & { flags: string[]; listenerPath: string; listenerMetadata: string }>(
    root,
    '',
    {
      defaultAction: (n, q) => action(r, n, q),
      defaultErrnoRet: errno(r),
      architectures: (n, q) => r.list(n, q, arch),
      archMap: (n, q) =>
        r.list(n, q, (m, s) => {
          const e = r.object<{ architecture: string; subArchitectures: string[] }>(
            m,
            s,
            { architecture: arch, subArchitectures: (o, t) => r.list(o, t, arch) },
            ['architecture'],
          );
          return e?.architecture === undefined ? undefined : { architecture: e.architecture, subArchitectures: e.subArchitectures ?? [] };
        }),
      syscalls: (n, q) => r.list(n, q, (m, s) => rule(r, m, s)),
      flags: (n, q) => {
        const flags = r.strings(n, q);
        if (flags && flags.length > 0) r.error(n, q, `peapod installs its filters without flags; remove ${flags.join(', ')}`);
        return undefined;
      },
      listenerPath: (n, q) => r.error(n, q, 'peapod has no seccomp agent to notify; remove listenerPath (and any SCMP_ACT_NOTIFY)'),
      listenerMetadata: (n, q) => r.error(n, q, 'peapod has no seccomp agent to notify; remove listenerMetadata'),
    },
    ['defaultAction'],
  );
  if (p?.architectures && p.archMap) {
    r.error(root, 'archMap', 'set either architectures or archMap, not both');
  }
  if (p?.defaultErrnoRet !== undefined && p.defaultAction !== undefined && p.defaultAction !== 'SCMP_ACT_ERRNO') {
    r.error(root, 'defaultErrnoRet', `only SCMP_ACT_ERRNO returns an errno; the defaultAction is ${p.defaultAction}`);
  }
  if (r.problems.length > 0 || !p?.defaultAction) {
    throw new SeccompProfileError(r.problems.join('\n') || `${file}: not a seccomp profile`);
  }
  const out: SeccompProfile = { defaultAction: p.defaultAction, syscalls: p.syscalls ?? [] };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  if (p.architectures) out.architectures = p.architectures;
  if (p.archMap) out.archMap = p.archMap;
  return out;
}
