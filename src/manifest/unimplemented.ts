// Fields that real Kubernetes v1 has and peapod does not implement: the one
// table to shrink as features land (move a field to schema.ts and types.ts).
//
// A field here is accepted with one warning saying what peapod does instead,
// or refused when ignoring it would run something other than what was asked
// (`blocking`). `--strict` refuses them all. Nothing is said when the value asks
// for nothing (null, {}, [], or a value that means what peapod does anyway),
// so that `kubectl get pod -o yaml` output reads quietly.
import type { ObjectName } from './schema.js';

export type Shape = 'map' | 'list' | 'string' | 'integer' | 'boolean';

export interface NotImplemented {
  shape: Shape;
  /** What peapod does instead, or why it refuses. */
  note: string;
  blocking?: true;
  /** Values that ask for exactly what peapod does anyway. */
  harmless?: (value: unknown) => boolean;
}

const is =
  (expected: unknown) =>
  (v: unknown): boolean =>
    v === expected;

const SCHEDULING = 'every pod runs on this host, there is no scheduling';
const SERVER_SET = 'it is set by the API server';
const NO_ACCOUNTS = 'there is no API server, so no service account token is mounted';
const NO_LSM = 'no AppArmor or SELinux profile is loaded; capabilities, seccomp and no_new_privs confine the container';

export const UNSUPPORTED_VOLUME_SOURCES = [
  'awsElasticBlockStore',
  'azureDisk',
  'azureFile',
  'cephfs',
  'cinder',
  'configMap',
  'csi',
  'downwardAPI',
  'ephemeral',
  'fc',
  'flexVolume',
  'flocker',
  'gcePersistentDisk',
  'gitRepo',
  'glusterfs',
  'image',
  'iscsi',
  'nfs',
  'persistentVolumeClaim',
  'photonPersistentDisk',
  'portworxVolume',
  'projected',
  'quobyte',
  'rbd',
  'scaleIO',
  'secret',
  'storageos',
  'vsphereVolume',
] as const;

export const SUPPORTED_VOLUME_SOURCES = ['emptyDir', 'hostPath'] as const;

const VOLUME_NOTE =
  'peapod supports emptyDir and hostPath volumes only; to provide files, put them in a host directory and mount that with hostPath';

export const NOT_IMPLEMENTED: { readonly [N in ObjectName]: Readonly<Record<string, NotImplemented>> } = {
  Pod: {
    status: { shape: 'map', note: 'the status is what peapod observes, not what the manifest says' },
  },
  ObjectMeta: {
    generateName: { shape: 'string', note: 'names are not generated; set metadata.name' },
    selfLink: { shape: 'string', note: SERVER_SET },
    resourceVersion: { shape: 'string', note: SERVER_SET },
    generation: { shape: 'integer', note: SERVER_SET },
    creationTimestamp: { shape: 'string', note: SERVER_SET },
    deletionTimestamp: { shape: 'string', note: SERVER_SET },
    deletionGracePeriodSeconds: { shape: 'integer', note: SERVER_SET },
    ownerReferences: { shape: 'list', note: 'there is no garbage collector; the pod lives until deleted' },
    finalizers: { shape: 'list', note: 'there are no controllers to run finalizers; deletion does not wait' },
    managedFields: { shape: 'list', note: SERVER_SET },
  },
  PodSpec: {
    ephemeralContainers: { shape: 'list', note: 'ephemeral debug containers are not supported; use peapod exec' },
    nodeSelector: { shape: 'map', note: SCHEDULING },
    nodeName: { shape: 'string', note: SCHEDULING },
    affinity: { shape: 'map', note: SCHEDULING },
    tolerations: { shape: 'list', note: SCHEDULING },
    topologySpreadConstraints: { shape: 'list', note: SCHEDULING },
    schedulerName: { shape: 'string', note: SCHEDULING, harmless: is('default-scheduler') },
    schedulingGates: { shape: 'list', note: SCHEDULING },
    priorityClassName: { shape: 'string', note: 'pods have no priority and are never preempted' },
    priority: { shape: 'integer', note: 'pods have no priority and are never preempted', harmless: is(0) },
    preemptionPolicy: {
      shape: 'string',
      note: 'pods have no priority and are never preempted',
      harmless: is('PreemptLowerPriority'),
    },
    readinessGates: { shape: 'list', note: 'readiness gates are not evaluated' },
    serviceAccountName: { shape: 'string', note: NO_ACCOUNTS, harmless: is('default') },
    serviceAccount: { shape: 'string', note: NO_ACCOUNTS, harmless: is('default') },
    automountServiceAccountToken: { shape: 'boolean', note: NO_ACCOUNTS, harmless: is(false) },
    hostUsers: {
      shape: 'boolean',
      note: 'no user namespace is made: root in the pod is root on the host',
      harmless: is(true),
    },
    imagePullSecrets: { shape: 'list', note: 'images come from the local image store, nothing is pulled with credentials' },
    runtimeClassName: { shape: 'string', note: 'there is one runtime, peapod itself' },
    enableServiceLinks: {
      shape: 'boolean',
      note: 'there are no Services, so no service environment variables',
      // Without Services, Kubernetes would inject nothing either.
      harmless: () => true,
    },
    overhead: { shape: 'map', note: 'pod overhead is not accounted' },
    setHostnameAsFQDN: { shape: 'boolean', note: 'the hostname is the short name', harmless: is(false) },
    os: {
      shape: 'map',
      note: 'only Linux pods run here',
      harmless: (v) => typeof v === 'object' && v !== null && (v as Record<string, unknown>).name === 'linux',
    },
    resourceClaims: { shape: 'list', note: 'dynamic resource allocation is not supported' },
    resources: { shape: 'map', note: 'pod-level resources are not applied; set resources on each container' },
    hostnameOverride: { shape: 'string', note: 'set spec.hostname instead' },
  },
  Container: {
    envFrom: {
      shape: 'list',
      blocking: true,
      note: 'there are no ConfigMaps or Secrets to read variables from; list them under env with a value',
    },
    resizePolicy: { shape: 'list', note: 'resources are not resized in place' },
    restartPolicy: {
      shape: 'string',
      blocking: true,
      note: 'sidecar containers (an init container with restartPolicy: Always) are not supported; run it as an ordinary container',
    },
    restartPolicyRules: { shape: 'list', blocking: true, note: 'per-container restart rules are not supported' },
    volumeDevices: { shape: 'list', blocking: true, note: 'raw block devices are not supported' },
    stdinOnce: { shape: 'boolean', note: 'stdin is not closed after the first attach', harmless: is(false) },
  },
  EnvVar: {},
  EnvVarSource: {
    configMapKeyRef: { shape: 'map', blocking: true, note: 'there are no ConfigMaps to read it from; set value instead' },
    secretKeyRef: { shape: 'map', blocking: true, note: 'there are no Secrets to read it from; set value instead' },
    resourceFieldRef: { shape: 'map', blocking: true, note: 'resource fields are not exposed; set value instead' },
    fileKeyRef: { shape: 'map', blocking: true, note: 'variables are not read from files; set value instead' },
  },
  ObjectFieldSelector: {},
  Lifecycle: { stopSignal: { shape: 'string', note: 'containers are stopped with SIGTERM' } },
  LifecycleHandler: {
    tcpSocket: {
      shape: 'map',
      blocking: true,
      note: 'tcpSocket hooks are kept by Kubernetes for compatibility only and never run; use exec, httpGet or sleep',
    },
  },
  ExecAction: {},
  HTTPGetAction: {},
  HTTPHeader: {},
  SleepAction: {},
  Probe: {},
  TCPSocketAction: {},
  GRPCAction: {},
  ContainerPort: {},
  VolumeMount: {
    recursiveReadOnly: {
      shape: 'string',
      note: 'read-only mounts are not made recursively read-only',
      harmless: is('Disabled'),
    },
  },
  ResourceRequirements: { claims: { shape: 'list', note: 'resource claims are not supported' } },
  Volume: Object.fromEntries(
    UNSUPPORTED_VOLUME_SOURCES.map((s): [string, NotImplemented] => [s, { shape: 'map', blocking: true, note: VOLUME_NOTE }]),
  ),
  EmptyDirVolumeSource: {},
  HostPathVolumeSource: {},
  SecurityContext: {
    appArmorProfile: { shape: 'map', note: NO_LSM },
    seLinuxOptions: { shape: 'map', note: NO_LSM },
    windowsOptions: { shape: 'map', note: 'only Linux containers run here' },
    procMount: { shape: 'string', note: '/proc is always masked as the Default procMount does', harmless: is('Default') },
  },
  Capabilities: {},
  PodSecurityContext: {
    supplementalGroupsPolicy: { shape: 'string', note: "groups from the image's /etc/group are always merged", harmless: is('Merge') },
    fsGroupChangePolicy: {
      shape: 'string',
      note: 'only the emptyDir volumes peapod creates are given to fsGroup; hostPath ownership is never changed',
    },
    sysctls: { shape: 'list', blocking: true, note: 'sysctls are not set in the pod; remove them' },
    appArmorProfile: { shape: 'map', note: NO_LSM },
    seLinuxOptions: { shape: 'map', note: NO_LSM },
    seLinuxChangePolicy: { shape: 'string', note: NO_LSM },
    windowsOptions: { shape: 'map', note: 'only Linux pods run here' },
  },
  SeccompProfile: {},
  HostAlias: {},
  PodDNSConfig: {},
  PodDNSConfigOption: {},
};

/** Resource names Kubernetes knows that peapod does not limit. */
export function unimplementedResource(name: string): string | undefined {
  if (name === 'ephemeral-storage') return 'ephemeral storage is not limited';
  if (name.startsWith('hugepages-')) return 'huge pages are not reserved';
  if (name.includes('/')) return 'extended resources need device plugins, which peapod does not have';
  return undefined;
}
