// Container env: names, and valueFrom.fieldRef (the downward API) limited to
// the fields src/kubelet/env.ts can fill in.
import { exactlyOne, nameCheck, oneOf, required } from './checks.js';
import { type DocContext, field, index } from './context.js';
import type { Loose } from './decode.js';
import { checkEnvVarName, checkQualifiedName } from './names.js';
import type { Container, ObjectFieldSelector } from './types.js';
import { NOT_IMPLEMENTED } from './unimplemented.js';

const FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.podIP',
];
// Valid in Kubernetes, not filled in by peapod.
const KUBERNETES_ONLY = ['status.hostIPs', 'status.podIPs'];
const SOURCES = ['fieldRef', ...Object.keys(NOT_IMPLEMENTED.EnvVarSource)];

export function checkEnv(ctx: DocContext, path: string, env: Loose<Container['env']>): void {
  const seen = new Map<string, string>();
  env?.forEach((e, i) => {
    if (!e) return;
    const p = index(path, i);
    const name = field(p, 'name');
    if (!required(ctx, name, e.name, 'every env entry needs a name')) {
      nameCheck(ctx, name, e.name, checkEnvVarName);
      const first = e.name === undefined ? undefined : seen.get(e.name);
      if (first !== undefined) ctx.warn(name, `duplicate env name ${JSON.stringify(e.name)} (also at ${first}): the last value wins`);
      else if (e.name !== undefined) seen.set(e.name, name);
    }
    const from = field(p, 'valueFrom');
    if (!ctx.has(from) || ctx.isNull(from)) return;
    if (e.value) ctx.error(from, 'may not be set when value is not empty; keep one of them', 'key');
    exactlyOne(ctx, from, SOURCES, 'must specify one of: fieldRef (configMapKeyRef, secretKeyRef and resourceFieldRef are not supported)');
    if (e.valueFrom?.fieldRef) checkFieldRef(ctx, field(from, 'fieldRef'), e.valueFrom.fieldRef);
  });
}

function checkFieldRef(ctx: DocContext, path: string, ref: Loose<ObjectFieldSelector>): void {
  oneOf(ctx, field(path, 'apiVersion'), ref.apiVersion, ['v1']);
  const p = field(path, 'fieldPath');
  const fp = ref.fieldPath;
  if (required(ctx, p, fp, 'the pod field to read, e.g. fieldPath: metadata.name') || fp === undefined) return;
  const keyed = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fp);
  if (keyed) {
    nameCheck(ctx, p, keyed[2], checkQualifiedName);
    return;
  }
  if (KUBERNETES_ONLY.includes(fp)) {
    ctx.error(p, `not supported by peapod: ${fp}; use ${fp.slice(0, -1)}`);
    return;
  }
  if (!FIELD_PATHS.includes(fp)) {
    oneOf(ctx, p, fp, [...FIELD_PATHS, "metadata.labels['KEY']", "metadata.annotations['KEY']"]);
  }
}
