// Structural decoding: a located YAML tree -> plain objects of the shapes in
// schema.ts. Reports wrong types, unknown fields and unimplemented ones; leaves
// out whatever it reported, so that the semantic checks in validate.ts see
// only well-typed values (and do not pile a second message on the same field).
import { type DocContext, field, index, mapKey } from './context.js';
import { describe, type LMap, type LNode } from './located.js';
import { type FieldSpec, type ObjectName, type Objects, SCHEMA, TYPE_LABEL } from './schema.js';
import { didYouMean } from './suggest.js';
import { NOT_IMPLEMENTED, type NotImplemented, type Shape } from './unimplemented.js';

/** A value of T as decoded: any field may be missing; list items that failed are holes. */
export type Loose<T> = T extends readonly (infer U)[]
  ? (Loose<U> | undefined)[]
  : T extends object
    ? { [K in keyof T]?: Loose<T[K]> }
    : T;

type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

export function toPlain(node: LNode): Plain {
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'seq') return node.items.map(toPlain);
  const out: { [key: string]: Plain } = {};
  for (const e of node.entries) out[e.key] = toPlain(e.value);
  return out;
}

export function record(ctx: DocContext, path: string, node: LNode, keyOffset?: number): void {
  ctx.record(path, {
    value: node.offset,
    key: keyOffset,
    isNull: node.kind === 'scalar' && node.value === null,
    keys: node.kind === 'map' ? node.entries.map((e) => e.key) : undefined,
  });
}

function isNull(node: LNode): boolean {
  return node.kind === 'scalar' && node.value === null;
}

/** Hint for a scalar of the wrong type, from how it was written. */
function scalarHint(node: LNode, wanted: 'string' | 'integer' | 'boolean'): string {
  if (node.kind !== 'scalar') return '';
  const v = node.value;
  if (wanted === 'string' && (typeof v === 'number' || typeof v === 'boolean')) {
    return `; quote it: ${JSON.stringify(node.source)}`;
  }
  if (wanted === 'integer' && typeof v === 'string' && /^[+-]?[0-9]+$/.test(v.trim())) return '; remove the quotes';
  if (wanted === 'boolean' && typeof v === 'string' && /^(true|false)$/i.test(v.trim())) {
    return `; write ${v.trim().toLowerCase()} without quotes`;
  }
  return '';
}

function got(node: LNode): string {
  if (node.kind === 'scalar' && node.value !== null) {
    const shown = node.source.length > 40 ? `${node.source.slice(0, 37)}...` : node.source;
    return `${describe(node)} ${JSON.stringify(shown)}`;
  }
  return describe(node);
}

function typeError(ctx: DocContext, path: string, wanted: string, node: LNode, hint = ''): undefined {
  ctx.error(path, `expected ${wanted}, got ${got(node)}${hint}`);
  return undefined;
}

function decodeString(node: LNode, path: string, ctx: DocContext): string | undefined {
  if (node.kind === 'scalar' && typeof node.value === 'string') return node.value;
  return typeError(ctx, path, 'string', node, scalarHint(node, 'string'));
}

function decodeInteger(node: LNode, path: string, ctx: DocContext): number | undefined {
  if (node.kind === 'scalar' && typeof node.value === 'number') {
    if (Number.isSafeInteger(node.value)) return node.value;
    if (Number.isInteger(node.value)) return typeError(ctx, path, 'integer', node, '; it is too large');
  }
  return typeError(ctx, path, 'integer', node, scalarHint(node, 'integer'));
}

function decodeIntOrString(node: LNode, path: string, ctx: DocContext): number | string | undefined {
  if (node.kind === 'scalar' && typeof node.value === 'string') return node.value;
  if (node.kind === 'scalar' && typeof node.value === 'number' && Number.isSafeInteger(node.value)) return node.value;
  return typeError(ctx, path, 'integer or string (a port number or name)', node);
}

function decodeBoolean(node: LNode, path: string, ctx: DocContext): boolean | undefined {
  if (node.kind === 'scalar' && typeof node.value === 'boolean') return node.value;
  return typeError(ctx, path, 'boolean (true or false)', node, scalarHint(node, 'boolean'));
}

const NUMBER_TEXT = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;

/** Quantities are strings; a YAML number is taken as written (`cpu: 0.5`), as Kubernetes does. */
function decodeQuantity(node: LNode, path: string, ctx: DocContext): string | undefined {
  if (node.kind === 'scalar' && typeof node.value === 'string') return node.value;
  if (node.kind === 'scalar' && typeof node.value === 'number') {
    return NUMBER_TEXT.test(node.source) ? node.source : String(node.value);
  }
  return typeError(ctx, path, 'quantity (a string such as "500m" or "64Mi")', node);
}

function decodeStrings(node: LNode, path: string, ctx: DocContext): string[] | undefined {
  if (node.kind !== 'seq') {
    const hint =
      node.kind === 'scalar' && typeof node.value === 'string'
        ? `; write it as a list: [${JSON.stringify(node.value)}]`
        : '';
    return typeError(ctx, path, 'list of strings', node, hint);
  }
  const out: string[] = [];
  node.items.forEach((item, i) => {
    const p = index(path, i);
    record(ctx, p, item);
    // JSON null in a []string is "" for Kubernetes; say so rather than guess.
    const s = isNull(item) ? typeError(ctx, p, 'string', item, '; write "" for an empty string') : decodeString(item, p, ctx);
    if (s !== undefined) out.push(s);
  });
  return out;
}

/**
 * A list of integers (supplementalGroups). A failed item is a hole, so that
 * the semantic checks report the items after it at their own index.
 */
function decodeIntegers(node: LNode, path: string, ctx: DocContext): (number | undefined)[] | undefined {
  if (node.kind !== 'seq') {
    const hint =
      node.kind === 'scalar' && typeof node.value === 'number' && Number.isSafeInteger(node.value)
        ? `; write it as a list: [${node.source}]`
        : '';
    return typeError(ctx, path, 'list of integers', node, hint);
  }
  return node.items.map((item, i) => {
    const p = index(path, i);
    record(ctx, p, item);
    // JSON null in a []int64 is 0 for Kubernetes: for a group, root's. Say so rather than guess.
    return isNull(item)
      ? typeError(ctx, p, 'integer', item, '; Kubernetes would read an empty item as 0 (the root group): write 0 if that is meant, or remove it')
      : decodeInteger(item, p, ctx);
  });
}

function decodeMap(
  node: LNode,
  path: string,
  ctx: DocContext,
  wanted: string,
  decodeValue: (v: LNode, p: string) => string | undefined,
): Record<string, string> | undefined {
  if (node.kind !== 'map') return typeError(ctx, path, wanted, node);
  const out: Record<string, string> = {};
  for (const e of node.entries) {
    const p = mapKey(path, e.key);
    record(ctx, p, e.value, e.keyOffset);
    const v = decodeValue(e.value, p);
    if (v !== undefined) out[e.key] = v;
  }
  return out;
}

function decodeList(
  node: LNode,
  of: ObjectName,
  path: string,
  ctx: DocContext,
  ancestors: ObjectName[],
): (Record<string, unknown> | undefined)[] | undefined {
  if (node.kind !== 'seq') {
    const hint = node.kind === 'map' ? '; start each item with "- "' : '';
    return typeError(ctx, path, 'list', node, hint);
  }
  return node.items.map((item, i) => {
    const p = index(path, i);
    record(ctx, p, item);
    if (isNull(item)) return typeError(ctx, p, TYPE_LABEL[of], item, ' (an empty "- " item)');
    return decodeObject(item, of, p, ctx, ancestors);
  });
}

function decodeField(
  node: LNode,
  spec: FieldSpec,
  path: string,
  ctx: DocContext,
  ancestors: ObjectName[],
): unknown {
  // null is "not set" in the Kubernetes API; required checks come later.
  if (isNull(node)) return undefined;
  switch (spec.kind) {
    case 'string':
      return decodeString(node, path, ctx);
    case 'integer':
      return decodeInteger(node, path, ctx);
    case 'intOrString':
      return decodeIntOrString(node, path, ctx);
    case 'boolean':
      return decodeBoolean(node, path, ctx);
    case 'quantity':
      return decodeQuantity(node, path, ctx);
    case 'strings':
      return decodeStrings(node, path, ctx);
    case 'integers':
      return decodeIntegers(node, path, ctx);
    case 'stringMap':
      return decodeMap(node, path, ctx, 'map of strings', (v, p) =>
        isNull(v) ? '' : decodeString(v, p, ctx),
      );
    case 'quantityMap':
      return decodeMap(node, path, ctx, 'map of resource names to quantities', (v, p) =>
        isNull(v) ? typeError(ctx, p, 'quantity', v) : decodeQuantity(v, p, ctx),
      );
    case 'object':
      return decodeObject(node, spec.of, path, ctx, ancestors);
    case 'list':
      return decodeList(node, spec.of, path, ctx, ancestors);
  }
}

function shapeOf(node: LNode): Shape | 'other' {
  if (node.kind === 'map') return 'map';
  if (node.kind === 'seq') return 'list';
  const v = node.value;
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'other';
  return 'other';
}

function isEmpty(node: LNode): boolean {
  if (node.kind === 'map') return node.entries.length === 0;
  if (node.kind === 'seq') return node.items.length === 0;
  return node.value === null;
}

function notImplemented(node: LNode, ni: NotImplemented, path: string, ctx: DocContext): void {
  if (isEmpty(node)) return;
  if (shapeOf(node) !== ni.shape) {
    typeError(ctx, path, ni.shape, node, ni.shape === 'string' ? scalarHint(node, 'string') : '');
    return;
  }
  if (ni.harmless?.(toPlain(node))) return;
  if (ni.blocking) ctx.error(path, `not supported: ${ni.note}`, 'key');
  else ctx.warn(path, `not implemented by peapod, ignored: ${ni.note}`, 'key');
}

function knows(name: ObjectName, key: string): boolean {
  return Object.hasOwn(SCHEMA[name], key) || Object.hasOwn(NOT_IMPLEMENTED[name], key);
}

function childTypes(name: ObjectName): ObjectName[] {
  const specs: FieldSpec[] = Object.values(SCHEMA[name]);
  return specs.flatMap((s) => (s.kind === 'object' || s.kind === 'list' ? [s.of] : []));
}

/** "did you mean", else "it belongs to <enclosing or inner type>", else the list of fields. */
function unknownField(key: string, name: ObjectName, ancestors: ObjectName[]): string {
  const candidates = [...Object.keys(SCHEMA[name]), ...Object.keys(NOT_IMPLEMENTED[name])];
  const typo = didYouMean(key, candidates);
  if (typo) return `unknown field${typo}`;
  const elsewhere = [...ancestors].reverse().find((a) => knows(a, key)) ?? childTypes(name).find((c) => knows(c, key));
  if (elsewhere) {
    return `unknown field; ${JSON.stringify(key)} is a field of ${TYPE_LABEL[elsewhere]}, not of ${TYPE_LABEL[name]}: check its indentation`;
  }
  return `unknown field; fields of ${TYPE_LABEL[name]} are: ${Object.keys(SCHEMA[name]).join(', ')}`;
}

export function decodeObject(
  node: LNode,
  name: ObjectName,
  path: string,
  ctx: DocContext,
  ancestors: ObjectName[] = [],
): Record<string, unknown> | undefined {
  if (node.kind !== 'map') {
    const article = TYPE_LABEL[name].startsWith('a') ? '' : 'the ';
    return typeError(ctx, path, `${article}${TYPE_LABEL[name]} (a map of fields)`, node);
  }
  return decodeFields(node, name, path, ctx, ancestors);
}

function decodeFields(
  node: LMap,
  name: ObjectName,
  path: string,
  ctx: DocContext,
  ancestors: ObjectName[],
): Record<string, unknown> {
  const fields: Readonly<Record<string, FieldSpec>> = SCHEMA[name];
  const inner = [...ancestors, name];
  const out: Record<string, unknown> = {};
  for (const e of node.entries) {
    const p = field(path, e.key);
    record(ctx, p, e.value, e.keyOffset);
    const spec = Object.hasOwn(fields, e.key) ? fields[e.key] : undefined;
    const ni = Object.hasOwn(NOT_IMPLEMENTED[name], e.key) ? NOT_IMPLEMENTED[name][e.key] : undefined;
    if (spec) {
      const v = decodeField(e.value, spec, p, ctx, inner);
      if (v !== undefined) out[e.key] = v;
    } else if (ni) {
      notImplemented(e.value, ni, p, ctx);
    } else {
      ctx.error(p, unknownField(e.key, name, ancestors), 'key');
    }
  }
  return out;
}

/** Decode a map as `name`. The cast is the one place the schema tables vouch for types.ts. */
export function decodeAs<N extends ObjectName>(
  node: LNode,
  name: N,
  path: string,
  ctx: DocContext,
): Loose<Objects[N]> | undefined {
  return decodeObject(node, name, path, ctx) as Loose<Objects[N]> | undefined;
}
