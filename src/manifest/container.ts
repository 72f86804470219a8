// Checks on one container (init or regular): names, image, env, ports,
// volume mounts, resources, and the enums.
import { isIP } from 'node:net';
import { absolutePath, checkIds, descendingPath, nameCheck, oneOf, required, Unique } from './checks.js';
import { type DocContext, field, index } from './context.js';
import type { Loose } from './decode.js';
import { checkEnv } from './env.js';
import { checkLifecycle } from './lifecycle.js';
import { checkDns1123Label, checkPortName } from './names.js';
import { checkProbes } from './probes.js';
import { checkResources } from './resources.js';
import { checkSeccompProfile } from './seccomp.js';
import { didYouMean } from './suggest.js';
import type { Container, ContainerPort, PullPolicy, VolumeMount } from './types.js';

const PULL_POLICIES = Object.keys({ Always: 1, IfNotPresent: 1, Never: 1 } satisfies Record<PullPolicy, 1>);
const MESSAGE_POLICIES = Object.keys({ File: 1, FallbackToLogsOnError: 1 } satisfies Record<
  NonNullable<Container['terminationMessagePolicy']>,
  1
>);
const PROTOCOLS = Object.keys({ TCP: 1, UDP: 1, SCTP: 1 } satisfies Record<NonNullable<ContainerPort['protocol']>, 1>);
const PROPAGATIONS = Object.keys({ None: 1, HostToContainer: 1, Bidirectional: 1 } satisfies Record<
  NonNullable<VolumeMount['mountPropagation']>,
  1
>);

// Probes and hooks that Kubernetes refuses on init containers (other than sidecars).
const NOT_FOR_INIT = ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'];

/** What the pod-wide checks share between containers. */
export interface PodScope {
  volumes: ReadonlySet<string>;
  hostPorts: HostPorts;
  /** terminationGracePeriodSeconds or its default: the most a sleep hook may take. */
  graceSeconds: number;
}

/** hostPort+protocol is unique across the pod per host address; no address means all of them. */
export class HostPorts {
  private readonly used: { port: number; protocol: string; ip: string; path: string }[] = [];

  constructor(private readonly ctx: DocContext) {}

  add(port: number, protocol: string, ip: string, path: string): void {
    const any = (a: string): boolean => a === '' || a === '0.0.0.0' || a === '::';
    const clash = this.used.find(
      (u) => u.port === port && u.protocol === protocol && (u.ip === ip || any(u.ip) || any(ip)),
    );
    if (clash) this.ctx.error(path, `duplicate hostPort ${port}/${protocol}: already used at ${clash.path}`);
    else this.used.push({ port, protocol, ip, path });
  }
}

export function checkContainer(
  ctx: DocContext,
  path: string,
  c: Loose<Container>,
  scope: PodScope,
  init: boolean,
): void {
  if (!required(ctx, field(path, 'name'), c.name, 'every container needs a name')) {
    nameCheck(ctx, field(path, 'name'), c.name, checkDns1123Label);
  }
  checkIds(ctx, field(path, 'securityContext'), c.securityContext as { runAsUser?: unknown } | undefined);
  checkSeccompProfile(ctx, field(field(path, 'securityContext'), 'seccompProfile'), c.securityContext?.seccompProfile);
  const image = field(path, 'image');
  if (!required(ctx, image, c.image, 'set the image to run, e.g. image: busybox')) {
    if (c.image === '') ctx.error(image, 'required value: set the image to run, e.g. image: busybox');
    else if (c.image !== c.image?.trim()) ctx.error(image, `must not have leading or trailing whitespace: ${JSON.stringify(c.image)}`);
  }
  absolutePath(ctx, field(path, 'workingDir'), c.workingDir || undefined, 'workingDir');
  absolutePath(ctx, field(path, 'terminationMessagePath'), c.terminationMessagePath, 'terminationMessagePath');
  oneOf(ctx, field(path, 'imagePullPolicy'), c.imagePullPolicy, PULL_POLICIES);
  oneOf(ctx, field(path, 'terminationMessagePolicy'), c.terminationMessagePolicy, MESSAGE_POLICIES);
  checkEnv(ctx, field(path, 'env'), c.env);
  checkPorts(ctx, field(path, 'ports'), c.ports, scope.hostPorts);
  checkMounts(ctx, field(path, 'volumeMounts'), c.volumeMounts, scope.volumes, privilege(ctx, path, c));
  checkResources(ctx, field(path, 'resources'), c.resources);
  checkLifecycle(ctx, field(path, 'lifecycle'), c, scope.graceSeconds);
  checkProbes(ctx, path, c);
  if (init) {
    for (const f of NOT_FOR_INIT) {
      const p = field(path, f);
      if (ctx.has(p) && !ctx.isNull(p)) ctx.error(p, 'may not be set for init containers', 'key');
    }
  }
}

function checkPorts(
  ctx: DocContext,
  path: string,
  ports: Loose<Container['ports']>,
  hostPorts: HostPorts,
): void {
  const names = new Unique(ctx, 'port name');
  const numbers = new Unique(ctx, 'containerPort');
  ports?.forEach((port, i) => {
    if (!port) return;
    const p = index(path, i);
    const cp = field(p, 'containerPort');
    const protocol = port.protocol ?? 'TCP';
    if (!required(ctx, cp, port.containerPort, 'the port number the container listens on')) {
      if (inRange(ctx, cp, port.containerPort, 1)) numbers.add(`${port.containerPort}/${protocol}`, cp);
    }
    oneOf(ctx, field(p, 'protocol'), port.protocol, PROTOCOLS);
    if (port.name !== undefined) {
      nameCheck(ctx, field(p, 'name'), port.name, checkPortName);
      names.add(port.name, field(p, 'name'));
    }
    if (port.hostIP !== undefined && isIP(port.hostIP) === 0) {
      ctx.error(field(p, 'hostIP'), `must be a valid IP address, got ${JSON.stringify(port.hostIP)}`);
    }
    // hostPort 0 means "none", as in Kubernetes.
    if (port.hostPort !== undefined && port.hostPort !== 0 && inRange(ctx, field(p, 'hostPort'), port.hostPort, 1)) {
      hostPorts.add(port.hostPort, protocol, port.hostIP ?? '', field(p, 'hostPort'));
    }
  });
}

function inRange(ctx: DocContext, path: string, n: number | undefined, min: number): boolean {
  if (n === undefined) return false;
  if (n >= min && n <= 65535) return true;
  ctx.error(path, `must be between ${min} and 65535, inclusive, got ${n}`);
  return false;
}

/**
 * Whether the container is privileged; 'unknown' when securityContext or
 * privileged was written with the wrong type (reported by decode.ts already).
 */
function privilege(ctx: DocContext, path: string, c: Loose<Container>): boolean | 'unknown' {
  const privileged = c.securityContext?.privileged;
  if (privileged !== undefined) return privileged;
  const sc = field(path, 'securityContext');
  const unread = (p: string): boolean => ctx.has(p) && !ctx.isNull(p);
  if ((c.securityContext === undefined && unread(sc)) || unread(field(sc, 'privileged'))) return 'unknown';
  return false;
}

function checkMounts(
  ctx: DocContext,
  path: string,
  mounts: Loose<Container['volumeMounts']>,
  volumes: ReadonlySet<string>,
  privileged: boolean | 'unknown',
): void {
  const targets = new Unique(ctx, 'mountPath');
  mounts?.forEach((m, i) => {
    if (!m) return;
    const p = index(path, i);
    const name = field(p, 'name');
    if (!required(ctx, name, m.name, 'the name of a volume in spec.volumes') && m.name !== undefined && !volumes.has(m.name)) {
      const hint = volumes.size === 0 ? '; define it under spec.volumes' : didYouMean(m.name, volumes);
      ctx.error(name, `volume ${JSON.stringify(m.name)} is not defined in spec.volumes${hint}`);
    }
    const mountPath = field(p, 'mountPath');
    if (!required(ctx, mountPath, m.mountPath, 'where to mount the volume in the container, e.g. /data')) {
      absolutePath(ctx, mountPath, m.mountPath, 'mountPath');
      // "/data/" and "/data" are the same mount point.
      const normal = m.mountPath?.replace(/\/+$/, '') || '/';
      targets.add(normal, mountPath, m.mountPath);
    }
    descendingPath(ctx, field(p, 'subPath'), m.subPath);
    descendingPath(ctx, field(p, 'subPathExpr'), m.subPathExpr);
    if (m.subPath && m.subPathExpr) {
      ctx.error(field(p, 'subPathExpr'), 'subPath and subPathExpr are mutually exclusive; set one of them');
    }
    oneOf(ctx, field(p, 'mountPropagation'), m.mountPropagation, PROPAGATIONS);
    // As the API server: Bidirectional is for privileged containers only.
    if (m.mountPropagation === 'Bidirectional' && privileged === false) {
      ctx.error(
        field(p, 'mountPropagation'),
        'Bidirectional mount propagation is available only to privileged containers: set securityContext.privileged: true on this container, or use HostToContainer or None',
      );
    }
  });
}
