// A YAML document as a plain tree that remembers where each value and key
// came from. Aliases are expanded and `<<` merge keys applied (as kubectl's
// YAML decoder does), so the validator never sees YAML machinery.
import { Document, isAlias, isMap, isPair, isScalar, isSeq, type Node } from 'yaml';

export type ScalarValue = string | number | boolean | null;

export interface LScalar {
  kind: 'scalar';
  value: ScalarValue;
  /** The text as written (without quotes for quoted strings); what hints quote back. */
  source: string;
  /** Byte offset in the file where the value starts. */
  offset: number;
}

export interface LEntry {
  key: string;
  keyOffset: number;
  value: LNode;
}

export interface LMap {
  kind: 'map';
  entries: LEntry[];
  offset: number;
}

export interface LSeq {
  kind: 'seq';
  items: LNode[];
  offset: number;
}

export type LNode = LScalar | LMap | LSeq;

export interface BuildProblem {
  offset: number;
  message: string;
}

// Limits against alias bombs and absurd nesting; a pod is a few hundred nodes.
const MAX_NODES = 200_000;
const MAX_DEPTH = 100;

class Builder {
  nodes = 0;
  readonly problems: BuildProblem[] = [];
  private stopped = false;
  // Alias.resolve() searches the whole document each time; anchors are
  // recorded in document order instead (an alias means the latest one).
  private readonly anchors = new Map<string, unknown>();
  private inAlias = 0;

  constructor(private readonly doc: Document) {}

  build(node: unknown, depth: number, fallbackOffset: number): LNode {
    const offset = offsetOf(node) ?? fallbackOffset;
    if (this.stopped) return nullAt(offset);
    if (++this.nodes > MAX_NODES) return this.stop(offset, `document too large: more than ${MAX_NODES} values, aliases expanded`);
    if (depth > MAX_DEPTH) return this.stop(offset, `nested more than ${MAX_DEPTH} levels deep (aliases expanded)`);
    if (isAlias(node)) {
      const target = this.anchors.get(node.source) ?? node.resolve(this.doc);
      if (!target) {
        this.problems.push({ offset, message: `unknown alias *${node.source}: define the anchor &${node.source} before using it` });
        return nullAt(offset);
      }
      this.inAlias++;
      const built = this.build(target, depth + 1, offset);
      this.inAlias--;
      return built;
    }
    const anchor = (node as { anchor?: unknown } | null)?.anchor;
    if (typeof anchor === 'string' && this.inAlias === 0) this.anchors.set(anchor, node);
    if (isScalar(node)) return scalar(node.value, node.source, offset);
    if (isSeq(node)) {
      return { kind: 'seq', items: node.items.map((item) => this.build(item, depth + 1, offset)), offset };
    }
    if (isMap(node)) return this.map(node.items, depth, offset);
    // Empty values (`key:` with nothing after it) arrive as null.
    return nullAt(offset);
  }

  private map(pairs: readonly unknown[], depth: number, offset: number): LMap {
    const entries: LEntry[] = [];
    const merged: LEntry[] = [];
    for (const pair of pairs) {
      if (!isPair(pair)) continue;
      const keyNode: unknown = pair.key;
      const keyOffset = offsetOf(keyNode) ?? offset;
      const value = this.build(pair.value, depth + 1, keyOffset);
      if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
        // `<<: *base` or `<<: [*a, *b]`: later sources never override earlier ones.
        const sources = value.kind === 'seq' ? value.items : [value];
        for (const src of sources) {
          if (src.kind === 'map') merged.push(...src.entries);
          else this.problems.push({ offset: src.offset, message: 'a merge key (<<) needs a map or a list of maps' });
        }
        continue;
      }
      const key = keyText(keyNode);
      if (key === undefined) {
        this.problems.push({ offset: keyOffset, message: 'map keys must be strings' });
        continue;
      }
      entries.push({ key, keyOffset, value });
    }
    const seen = new Set(entries.map((e) => e.key));
    for (const e of merged) {
      if (seen.has(e.key)) continue;
      seen.add(e.key);
      entries.push(e);
    }
    return { kind: 'map', entries, offset };
  }

  private stop(offset: number, message: string): LScalar {
    this.stopped = true;
    this.problems.push({ offset, message });
    return nullAt(offset);
  }
}

function offsetOf(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as Node).range;
    if (range) return range[0];
  }
  return undefined;
}

function nullAt(offset: number): LScalar {
  return { kind: 'scalar', value: null, source: '', offset };
}

function scalar(value: unknown, source: string | undefined, offset: number): LScalar {
  const src = source ?? String(value);
  switch (typeof value) {
    case 'string':
      return { kind: 'scalar', value, source: value, offset };
    case 'number':
    case 'boolean':
      return { kind: 'scalar', value, source: src, offset };
    case 'bigint':
      return { kind: 'scalar', value: Number(value), source: src, offset };
    default:
      // null, and YAML 1.1 extras (timestamps, !!binary) which JSON only knows as strings.
      return value === null || value === undefined ? nullAt(offset) : { kind: 'scalar', value: src, source: src, offset };
  }
}

/** Keys become strings, as in the YAML-to-JSON step of kubectl (`1: x` has key "1"). */
function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  const v = key.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return key.source ?? String(v);
  return undefined;
}

export function buildTree(doc: Document): { root: LNode; problems: BuildProblem[] } {
  const b = new Builder(doc);
  const root = b.build(doc.contents, 0, 0);
  return { root, problems: b.problems };
}

/** 'map', 'list', 'string', 'number', 'boolean' or 'null': for "expected X, got Y". */
export function describe(node: LNode): string {
  if (node.kind === 'map') return 'map';
  if (node.kind === 'seq') return 'list';
  if (node.value === null) return 'null';
  return typeof node.value;
}

export function entry(map: LMap, key: string): LEntry | undefined {
  return map.entries.find((e) => e.key === key);
}
