// The downward API for env: `valueFrom.fieldRef` resolved to values before
// the plan is built, as the kubelet does.
import { hostname } from 'node:os';
import type { Container, Pod } from '../manifest/types.js';
import { hostIPs } from '../network/host-ip.js';

export class FieldRefError extends Error {
  override name = 'FieldRefError';
}

export function fieldValue(pod: Pod, uid: string, fieldPath: string): string {
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return uid;
    case 'spec.nodeName':
      return hostname();
    case 'spec.serviceAccountName':
      return 'default';
    case 'status.hostIP':
      return hostIPs()[0] ?? '127.0.0.1';
    case 'status.podIP':
      // No pod network yet: the pod is reachable on its own loopback only.
      return '';
  }
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (label) return pod.metadata[label[1] as 'labels' | 'annotations']?.[label[2] as string] ?? '';
  throw new FieldRefError(`fieldRef ${fieldPath} is not supported; use metadata.name, metadata.namespace, metadata.uid, spec.nodeName, status.podIP or status.hostIP`);
}

/** The container with every fieldRef turned into a plain value. */
export function resolveEnv(container: Container, pod: Pod, uid: string): Container {
  if (!container.env?.some((e) => e.valueFrom)) return container;
  return {
    ...container,
    env: container.env.map((e) => {
      const ref = e.valueFrom?.fieldRef?.fieldPath;
      return ref === undefined ? e : { name: e.name, value: fieldValue(pod, uid, ref) };
    }),
  };
}
