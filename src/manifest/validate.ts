// Semantic checks on a decoded Pod, as the Kubernetes API server makes them
// (k8s.io/kubernetes/pkg/apis/core/validation), plus peapod's own limits.
// Structural problems (types, unknown fields) were reported by decode.ts.
import { nameCheck, oneOf, required, Unique } from './checks.js';
import { checkContainer, HostPorts } from './container.js';
import { checkIds, MAX_ID } from './checks.js';
import { type DocContext, field, index, mapKey } from './context.js';
import type { Loose } from './decode.js';
import {
  checkDns1123Label,
  checkDns1123Subdomain,
  checkLabelValue,
  checkQualifiedName,
} from './names.js';
import { checkQuantity } from './resources.js';
import { checkSeccompProfile } from './seccomp.js';
import { checkDnsConfig, checkHostAliases } from './dns.js';
import type { HostPathType, ObjectMeta, Pod, PodSecurityContext, PodSpec, RestartPolicy, Volume } from './types.js';
import { SUPPORTED_VOLUME_SOURCES, UNSUPPORTED_VOLUME_SOURCES } from './unimplemented.js';

const RESTART_POLICIES = Object.keys({ Always: 1, OnFailure: 1, Never: 1 } satisfies Record<RestartPolicy, 1>);
const DNS_POLICIES = Object.keys({
  ClusterFirst: 1,
  ClusterFirstWithHostNet: 1,
  Default: 1,
  None: 1,
} satisfies Record<NonNullable<PodSpec['dnsPolicy']>, 1>);
const HOST_PATH_TYPES = Object.keys({
  '': 1,
  DirectoryOrCreate: 1,
  Directory: 1,
  FileOrCreate: 1,
  File: 1,
  Socket: 1,
  CharDevice: 1,
  BlockDevice: 1,
} satisfies Record<HostPathType, 1>);
const MEDIA = ['', 'Memory'];
const VOLUME_SOURCES: readonly string[] = [...SUPPORTED_VOLUME_SOURCES, ...UNSUPPORTED_VOLUME_SOURCES];
const ANNOTATIONS_MAX = 256 * 1024;
// The API server's range for a group id (IsValidGroupID: 0 to MaxInt32), and
// the range src/plan/security.ts accepts before it calls setgroups.

export function validatePod(ctx: DocContext, path: string, pod: Loose<Pod>): void {
  checkMetadata(ctx, field(path, 'metadata'), pod.metadata);
  checkSpec(ctx, field(path, 'spec'), pod.spec);
}

function checkMetadata(ctx: DocContext, path: string, meta: Loose<ObjectMeta> | undefined): void {
  if (required(ctx, path, meta, 'a pod needs metadata with a name') || !meta) return;
  const name = field(path, 'name');
  if (!required(ctx, name, meta.name, 'set metadata.name, e.g. name: my-pod')) {
    nameCheck(ctx, name, meta.name, (s) => (s === '' ? 'required value: set metadata.name, e.g. name: my-pod' : checkDns1123Subdomain(s)));
  }
  // An empty namespace means the default one, as with kubectl.
  nameCheck(ctx, field(path, 'namespace'), meta.namespace || undefined, checkDns1123Label);
  const labels = field(path, 'labels');
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    nameCheck(ctx, mapKey(labels, k), k, checkQualifiedName, 'key');
    nameCheck(ctx, mapKey(labels, k), v, checkLabelValue);
  }
  const annotations = field(path, 'annotations');
  let size = 0;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    nameCheck(ctx, mapKey(annotations, k), k, checkQualifiedName, 'key');
    size += k.length + (v?.length ?? 0);
  }
  if (size > ANNOTATIONS_MAX) {
    ctx.error(annotations, `annotations may not be larger than 256 KiB in total (they are ${size} bytes)`);
  }
}

function checkSpec(ctx: DocContext, path: string, spec: Loose<PodSpec> | undefined): void {
  if (required(ctx, path, spec, 'a pod needs a spec with at least one container') || !spec) return;
  const volumes = checkVolumes(ctx, field(path, 'volumes'), spec.volumes);
  const names = new Unique(ctx, 'container name');
  // The default grace period, as the API server fills it in.
  const scope = { volumes, hostPorts: new HostPorts(ctx), graceSeconds: spec.terminationGracePeriodSeconds ?? 30 };
  for (const [key, init] of [
    ['initContainers', true],
    ['containers', false],
  ] as const) {
    spec[key]?.forEach((c, i) => {
      if (!c) return;
      const p = index(field(path, key), i);
      checkContainer(ctx, p, c, scope, init);
      names.add(c.name, field(p, 'name'));
    });
  }
  const containers = field(path, 'containers');
  if (!required(ctx, containers, spec.containers, 'a pod needs at least one container') && spec.containers?.length === 0) {
    ctx.error(containers, 'required value: a pod needs at least one container');
  }
  oneOf(ctx, field(path, 'restartPolicy'), spec.restartPolicy, RESTART_POLICIES);
  oneOf(ctx, field(path, 'dnsPolicy'), spec.dnsPolicy, DNS_POLICIES);
  if (spec.dnsPolicy === 'None' && !ctx.has(field(path, 'dnsConfig'))) {
    ctx.error(field(path, 'dnsPolicy'), 'dnsPolicy None needs spec.dnsConfig; use Default to take the host\'s resolv.conf');
  }
  checkDnsConfig(ctx, path, spec);
  checkHostAliases(ctx, field(path, 'hostAliases'), spec.hostAliases);
  const grace = spec.terminationGracePeriodSeconds;
  if (grace !== undefined && grace < 0) {
    ctx.error(field(path, 'terminationGracePeriodSeconds'), `must be greater than or equal to 0, got ${grace}`);
  }
  const deadline = spec.activeDeadlineSeconds;
  if (deadline !== undefined && deadline < 1) {
    ctx.error(field(path, 'activeDeadlineSeconds'), `must be at least 1 (seconds), got ${deadline}`);
  }
  nameCheck(ctx, field(path, 'hostname'), spec.hostname, checkDns1123Label);
  nameCheck(ctx, field(path, 'subdomain'), spec.subdomain, checkDns1123Label);
  checkPodSecurity(ctx, field(path, 'securityContext'), spec.securityContext);
}

function checkPodSecurity(ctx: DocContext, path: string, sc: Loose<PodSecurityContext> | undefined): void {
  checkIds(ctx, path, sc as { runAsUser?: unknown } | undefined);
  checkSeccompProfile(ctx, field(path, 'seccompProfile'), sc?.seccompProfile);
  const groups = field(path, 'supplementalGroups');
  sc?.supplementalGroups?.forEach((gid, i) => {
    if (gid !== undefined && (gid < 0 || gid > MAX_ID)) {
      ctx.error(index(groups, i), `must be a group id between 0 and ${MAX_ID}, inclusive, got ${gid}`);
    }
  });
}

/** Returns the names of the volumes defined (valid or not, so mounts are checked against what was written). */
function checkVolumes(ctx: DocContext, path: string, volumes: Loose<PodSpec['volumes']>): Set<string> {
  const names = new Unique(ctx, 'volume name');
  volumes?.forEach((v, i) => {
    if (!v) return;
    const p = index(path, i);
    const name = field(p, 'name');
    if (!required(ctx, name, v.name, 'every volume needs a name')) {
      nameCheck(ctx, name, v.name, checkDns1123Label);
      names.add(v.name, name);
    }
    checkSource(ctx, p, v);
  });
  return new Set(names.keys());
}

function checkSource(ctx: DocContext, path: string, v: Loose<Volume>): void {
  const written = ctx.keysAt(path).filter((k) => VOLUME_SOURCES.includes(k));
  const set = written.filter((k) => !ctx.isNull(field(path, k)));
  if (set.length === 0) {
    const empty = written[0];
    if (empty === 'emptyDir') ctx.error(field(path, empty), 'empty value: for an empty directory write emptyDir: {}', 'key');
    else if (empty === 'hostPath') ctx.error(field(path, empty), 'empty value: write hostPath: {path: /dir/on/host}', 'key');
    else if (empty === undefined) {
      ctx.error(path, 'must specify a volume type: emptyDir (e.g. emptyDir: {}) or hostPath (e.g. hostPath: {path: /data})');
    }
    return;
  }
  if (set.length > 1) {
    ctx.error(field(path, set[1] ?? ''), `may not specify more than 1 volume type (found ${set.join(' and ')}); keep one`, 'key');
  }
  if (v.emptyDir) {
    const p = field(path, 'emptyDir');
    const medium = v.emptyDir.medium;
    if (medium?.startsWith('HugePages')) {
      ctx.error(field(p, 'medium'), `not supported by peapod: huge page volumes; use "" (disk) or "Memory" (tmpfs)`);
    } else {
      oneOf(ctx, field(p, 'medium'), medium, MEDIA);
    }
    if (v.emptyDir.sizeLimit !== undefined) checkQuantity(ctx, field(p, 'sizeLimit'), v.emptyDir.sizeLimit);
  }
  if (v.hostPath) {
    const p = field(path, 'hostPath');
    const hp = field(p, 'path');
    if (!required(ctx, hp, v.hostPath.path, 'the directory or file on the host, e.g. path: /data')) {
      const s = v.hostPath.path ?? '';
      if (!s.startsWith('/')) ctx.error(hp, `must be an absolute path (starting with "/"), got ${JSON.stringify(s)}`);
      else if (s.split('/').includes('..')) ctx.error(hp, `must not contain "..": ${JSON.stringify(s)}`);
    }
    oneOf(ctx, field(p, 'type'), v.hostPath.type, HOST_PATH_TYPES);
  }
}
