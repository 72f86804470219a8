// hostPort: what the pod asks of the host's ports, as portmap's
// runtimeConfig.portMappings, and the kubelet's admission of it: a pod
// whose hostPort (with protocol and address) another running pod holds is
// refused before anything is made, with the kubelet's NodePorts reason.
import { isIP } from 'node:net';
import type { PodSpec } from '../manifest/types.js';
import type { PortMapping } from './types.js';

interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/**
 * The pod's host ports. On the host's network a containerPort is a
 * hostPort (the API server fills hostPort in so); the address "" is all of
 * them (0.0.0.0), as the scheduler reads it.
 */
function hostPorts(spec: PodSpec): HostPort[] {
  return spec.containers.flatMap((c) =>
    (c.ports ?? []).flatMap((p) => {
      const port = p.hostPort || (spec.hostNetwork ? p.containerPort : 0);
      return port > 0 ? [{ ip: p.hostIP || '0.0.0.0', protocol: p.protocol ?? 'TCP', port }] : [];
    }),
  );
}

/** What portmap is given: every app container's ports that name a hostPort (containerd passes the same). */
export function portMappings(spec: PodSpec): PortMapping[] {
  if (spec.hostNetwork) return [];
  return spec.containers.flatMap((c) =>
    (c.ports ?? []).flatMap((p): PortMapping[] =>
      p.hostPort
        ? [
            {
              hostPort: p.hostPort,
              containerPort: p.containerPort,
              protocol: (p.protocol ?? 'TCP').toLowerCase() as PortMapping['protocol'],
              ...(p.hostIP && isIP(p.hostIP) ? { hostIP: p.hostIP } : {}),
            },
          ]
        : [],
    ),
  );
}

export class HostPortConflictError extends Error {
  override name = 'HostPortConflictError';
  readonly reason = 'NodePorts';
  constructor(message: string) {
    super(`NodePorts: ${message}`);
  }
}

function clash(a: HostPort, b: HostPort): boolean {
  const any = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';
  return a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || any(a.ip) || any(b.ip));
}

const show = (p: HostPort): string => `${p.ip === '0.0.0.0' ? '' : `${p.ip}:`}${p.port}/${p.protocol}`;

/** Throws HostPortConflictError when a running pod holds one of this pod's host ports. */
export function admitHostPorts(name: string, spec: PodSpec, running: ReadonlyArray<{ name: string; spec: PodSpec }>): void {
  const wanted = hostPorts(spec);
  if (wanted.length === 0) return;
  for (const other of running) {
    for (const held of hostPorts(other.spec)) {
      const want = wanted.find((w) => clash(w, held));
      if (want) {
        throw new HostPortConflictError(
          `Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports: pod "${name}" asks for hostPort ${show(want)}, and pod "${other.name}" holds ${show(held)}; delete it or choose another hostPort; nothing was started`,
        );
      }
    }
  }
}
