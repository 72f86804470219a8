// Manifest text -> validated Pods. The only entry points of the spec layer.
import { readFileSync } from 'node:fs';
import { LineCounter, parseAllDocuments } from 'yaml';
import { DocContext, field, index } from './context.js';
import { MAX_NESTING, tooDeep } from './depth.js';
import { decodeAs, type Loose, record } from './decode.js';
import { ManifestError, type SpecIssue, sortIssues } from './errors.js';
import { buildTree, describe, entry, type LMap, type LNode } from './located.js';
import { didYouMean } from './suggest.js';
import type { Pod, SourcePosition } from './types.js';
import { validatePod } from './validate.js';

export interface ReadOptions {
  /** Refuse fields peapod would ignore, instead of warning about them. */
  strict?: boolean;
}

export interface ReadResult {
  pods: Pod[];
  /** Warnings, sorted by position (never errors: those are thrown). */
  warnings: SpecIssue[];
}

const LIST_KINDS = ['List', 'PodList'];
const LIST_FIELDS = ['apiVersion', 'kind', 'metadata', 'items'];
const WORKLOADS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicationController', 'PodTemplate'];

/**
 * Read every Pod in `text` (YAML or JSON; one or more `---` documents; `kind:
 * Pod` or `kind: List` of Pods). Throws a ManifestError listing all errors,
 * and nothing else.
 */
export function readPods(text: string, file: string, opts: ReadOptions = {}): ReadResult {
  const issues: SpecIssue[] = [];
  let pods: Loose<Pod>[] = [];
  try {
    pods = readAll(text, file, opts.strict ?? false, issues);
  } catch (e) {
    // A bug or an exhausted stack must still surface as a manifest error.
    const why = e instanceof Error ? e.message : String(e);
    issues.push({ path: '', message: `cannot read the manifest: ${why}`, severity: 'error' });
  }
  if (issues.some((i) => i.severity === 'error')) throw new ManifestError(issues, file);
  return { pods: pods.map(finish), warnings: sortIssues(issues) };
}

/** readPods on a file; an unreadable file is a ManifestError naming it. */
export function readPodFile(path: string, opts: ReadOptions = {}): ReadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory; give the path of a manifest file'
            : e instanceof Error
              ? e.message
              : String(e);
    throw new ManifestError([{ path: '', message: `cannot read ${path}: ${why}`, severity: 'error' }], path);
  }
  return readPods(text, path, opts);
}

function readAll(text: string, file: string, strict: boolean, issues: SpecIssue[]): Loose<Pod>[] {
  const deep = tooDeep(text);
  if (deep) {
    const line = text.slice(0, deep.offset).split('\n').length;
    issues.push({
      path: '',
      message: `nested too deeply (about ${deep.depth} levels; at most ${MAX_NESTING} are read)`,
      severity: 'error',
      position: { file, line, column: 1 },
    });
    return [];
  }
  const lines = new LineCounter();
  // YAML 1.1 as kubectl reads it: `yes`/`no`/`on`/`off` are booleans, `0755` is octal.
  const docs = parseAllDocuments(text, { lineCounter: lines, version: '1.1', prettyErrors: false, uniqueKeys: true });
  const pods: Loose<Pod>[] = [];
  const names = new Map<string, SourcePosition | undefined>();
  let objects = 0;
  for (const doc of docs) {
    const ctx = new DocContext(file, lines, issues, strict);
    for (const w of doc.warnings) {
      issues.push({ path: '', message: `YAML: ${oneLine(w.message)}`, severity: 'warning', position: ctx.position(w.pos[0]) });
    }
    if (doc.errors.length > 0) {
      // A tab in the indentation derails the parser into several confusing errors: report the cause only.
      const tabs = doc.errors.filter((e) => e.code === 'TAB_AS_INDENT');
      for (const e of tabs.length > 0 ? tabs : doc.errors) {
        const hint = e.code === 'TAB_AS_INDENT' ? '; indent with spaces' : '';
        ctx.errorAt(e.pos[0], '', `invalid YAML: ${oneLine(e.message)}${hint}`);
      }
      objects++; // a broken document is not an empty one
      continue;
    }
    const { root, problems } = buildTree(doc);
    for (const p of problems) ctx.errorAt(p.offset, '', p.message);
    // Empty documents (a trailing `---`) are skipped, as kubectl does.
    if (problems.length === 0 && root.kind === 'scalar' && root.value === null) continue;
    objects++;
    if (problems.length > 0) continue;
    for (const { pod, path } of readObject(ctx, root, '', false)) {
      const key = `${pod.metadata?.namespace || 'default'}/${pod.metadata?.name ?? ''}`;
      const at = ctx.locate(field(field(path, 'metadata'), 'name'));
      const first = names.get(key);
      if (pod.metadata?.name !== undefined && names.has(key)) {
        ctx.error(
          field(field(path, 'metadata'), 'name'),
          `duplicate pod name ${JSON.stringify(pod.metadata.name)}${first ? `: already used at line ${first.line}` : ''}`,
        );
      }
      names.set(key, first ?? at);
      pods.push(pod);
    }
  }
  if (objects === 0) {
    issues.push({
      path: '',
      message: 'no Pod found: there is no manifest in the file; write one with apiVersion: v1 and kind: Pod',
      severity: 'error',
      position: { file, line: 1, column: 1 },
    });
  }
  return pods;
}

/** One top-level object (or List item): the pods it holds, still unchecked for errors elsewhere. */
function readObject(
  ctx: DocContext,
  node: LNode,
  path: string,
  inList: boolean,
): { pod: Loose<Pod>; path: string }[] {
  record(ctx, path, node);
  if (node.kind !== 'map') {
    ctx.error(path, `expected a Kubernetes object (a map with apiVersion, kind, metadata and spec), got ${describe(node)}`);
    return [];
  }
  for (const e of node.entries) record(ctx, field(path, e.key), e.value, e.keyOffset);
  const kind = stringField(ctx, node, path, 'kind', 'set kind: Pod');
  const apiVersion = stringField(ctx, node, path, 'apiVersion', 'set apiVersion: v1');
  if (kind === undefined) return [];
  const kindPath = field(path, 'kind');
  const versionPath = field(path, 'apiVersion');
  if (LIST_KINDS.includes(kind) && !inList) {
    if (apiVersion !== undefined && apiVersion !== 'v1') {
      ctx.error(versionPath, `${kind} is in apiVersion "v1", not ${JSON.stringify(apiVersion)}; write apiVersion: v1`);
    }
    return readList(ctx, node, path);
  }
  if (kind !== 'Pod') {
    ctx.error(kindPath, kindMessage(kind, inList));
    return [];
  }
  if (apiVersion !== undefined && apiVersion !== 'v1') {
    ctx.error(versionPath, `Pod is in apiVersion "v1", not ${JSON.stringify(apiVersion)}; write apiVersion: v1`);
  }
  const pod = decodeAs(node, 'Pod', path, ctx);
  if (!pod) return [];
  validatePod(ctx, path, pod);
  return [{ pod, path }];
}

function readList(ctx: DocContext, node: LMap, path: string): { pod: Loose<Pod>; path: string }[] {
  for (const e of node.entries) {
    if (!LIST_FIELDS.includes(e.key)) ctx.error(field(path, e.key), `unknown field${didYouMean(e.key, LIST_FIELDS)}`, 'key');
  }
  const itemsPath = field(path, 'items');
  const items = entry(node, 'items')?.value;
  if (!items || (items.kind === 'scalar' && items.value === null)) {
    ctx.error(itemsPath, 'required value: a List needs items (a list of Pods)', 'key');
    return [];
  }
  if (items.kind !== 'seq') {
    ctx.error(itemsPath, `expected list, got ${describe(items)}`);
    return [];
  }
  if (items.items.length === 0) ctx.error(itemsPath, 'a List needs at least one Pod in items');
  return items.items.flatMap((item, i) => readObject(ctx, item, index(itemsPath, i), true));
}

function stringField(ctx: DocContext, node: LMap, path: string, name: string, fix: string): string | undefined {
  const p = field(path, name);
  const v = entry(node, name)?.value;
  if (!v || (v.kind === 'scalar' && v.value === null)) {
    ctx.error(p, `required value: ${fix}`, 'key');
    return undefined;
  }
  if (v.kind === 'scalar' && typeof v.value === 'string') return v.value;
  ctx.error(p, `expected string, got ${describe(v)}; ${fix}`);
  return undefined;
}

function kindMessage(kind: string, inList: boolean): string {
  const allowed = inList ? ['Pod'] : ['Pod', 'List'];
  const typo = didYouMean(kind, allowed);
  if (typo) return `unsupported kind ${JSON.stringify(kind)}${typo}`;
  if (WORKLOADS.includes(kind)) {
    return `peapod runs Pods, not ${kind}s: copy the ${kind}'s pod template (spec.template: its metadata and spec) into a manifest with apiVersion: v1 and kind: Pod`;
  }
  if (LIST_KINDS.includes(kind)) return 'a List inside a List is not supported; put the Pods in the outer items';
  return `peapod runs Pods: kind ${JSON.stringify(kind)} is not supported (use kind: Pod, or kind: List with Pods as items)`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Every required field was checked by validatePod and no error was reported, so the loose value is a Pod. */
function finish(loose: Loose<Pod>): Pod {
  const pod = loose as Pod;
  return { ...pod, metadata: { ...pod.metadata, namespace: pod.metadata.namespace || 'default' } };
}
