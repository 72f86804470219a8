// The shape of every field peapod reads, one table per Kubernetes type. The
// tables are typed against types.ts, so a field added there and not here (or
// the other way round) fails to compile. Fields Kubernetes has and peapod does
// not implement are in unimplemented.ts.
import type {
  Capabilities,
  Container,
  ContainerPort,
  EmptyDirVolumeSource,
  EnvVar,
  EnvVarSource,
  ExecAction,
  HostAlias,
  HostPathVolumeSource,
  HTTPGetAction,
  HTTPHeader,
  GRPCAction,
  Lifecycle,
  LifecycleHandler,
  ObjectFieldSelector,
  ObjectMeta,
  Pod,
  PodDNSConfig,
  PodDNSConfigOption,
  PodSecurityContext,
  PodSpec,
  Probe,
  ResourceRequirements,
  SeccompProfile,
  SecurityContext,
  SleepAction,
  TCPSocketAction,
  Volume,
  VolumeMount,
} from './types.js';

export type FieldSpec =
  | { kind: 'string' }
  | { kind: 'integer' }
  /** IntOrString, as in httpGet.port: a number or a name. */
  | { kind: 'intOrString' }
  | { kind: 'boolean' }
  /** A string, or a YAML number kept as written (Kubernetes accepts `cpu: 0.5`). */
  | { kind: 'quantity' }
  | { kind: 'strings' }
  /** A list of integers, as supplementalGroups. */
  | { kind: 'integers' }
  | { kind: 'stringMap' }
  | { kind: 'quantityMap' }
  | { kind: 'object'; of: ObjectName }
  | { kind: 'list'; of: ObjectName };

export interface Objects {
  Pod: Pod;
  ObjectMeta: ObjectMeta;
  PodSpec: PodSpec;
  Container: Container;
  EnvVar: EnvVar;
  EnvVarSource: EnvVarSource;
  ObjectFieldSelector: ObjectFieldSelector;
  Lifecycle: Lifecycle;
  LifecycleHandler: LifecycleHandler;
  ExecAction: ExecAction;
  HTTPGetAction: HTTPGetAction;
  HTTPHeader: HTTPHeader;
  SleepAction: SleepAction;
  Probe: Probe;
  TCPSocketAction: TCPSocketAction;
  GRPCAction: GRPCAction;
  ContainerPort: ContainerPort;
  VolumeMount: VolumeMount;
  ResourceRequirements: ResourceRequirements;
  Volume: Volume;
  EmptyDirVolumeSource: EmptyDirVolumeSource;
  HostPathVolumeSource: HostPathVolumeSource;
  SecurityContext: SecurityContext;
  Capabilities: Capabilities;
  PodSecurityContext: PodSecurityContext;
  SeccompProfile: SeccompProfile;
  HostAlias: HostAlias;
  PodDNSConfig: PodDNSConfig;
  PodDNSConfigOption: PodDNSConfigOption;
}

export type ObjectName = keyof Objects;

type Fields<T> = { readonly [K in keyof T]-?: FieldSpec };

const string = { kind: 'string' } as const;
const integer = { kind: 'integer' } as const;
const boolean = { kind: 'boolean' } as const;
const strings = { kind: 'strings' } as const;
const object = (of: ObjectName): FieldSpec => ({ kind: 'object', of });
const list = (of: ObjectName): FieldSpec => ({ kind: 'list', of });

export const SCHEMA: { readonly [N in ObjectName]: Fields<Objects[N]> } = {
  Pod: { apiVersion: string, kind: string, metadata: object('ObjectMeta'), spec: object('PodSpec') },
  ObjectMeta: {
    name: string,
    namespace: string,
    uid: string,
    labels: { kind: 'stringMap' },
    annotations: { kind: 'stringMap' },
  },
  PodSpec: {
    containers: list('Container'),
    initContainers: list('Container'),
    volumes: list('Volume'),
    restartPolicy: string,
    terminationGracePeriodSeconds: integer,
    activeDeadlineSeconds: integer,
    hostname: string,
    subdomain: string,
    shareProcessNamespace: boolean,
    hostNetwork: boolean,
    hostPID: boolean,
    hostIPC: boolean,
    securityContext: object('PodSecurityContext'),
    dnsPolicy: string,
    dnsConfig: object('PodDNSConfig'),
    hostAliases: list('HostAlias'),
  },
  Container: {
    name: string,
    image: string,
    command: strings,
    args: strings,
    workingDir: string,
    env: list('EnvVar'),
    ports: list('ContainerPort'),
    volumeMounts: list('VolumeMount'),
    resources: object('ResourceRequirements'),
    imagePullPolicy: string,
    terminationMessagePath: string,
    terminationMessagePolicy: string,
    lifecycle: object('Lifecycle'),
    livenessProbe: object('Probe'),
    readinessProbe: object('Probe'),
    startupProbe: object('Probe'),
    securityContext: object('SecurityContext'),
    stdin: boolean,
    tty: boolean,
  },
  EnvVar: { name: string, value: string, valueFrom: object('EnvVarSource') },
  EnvVarSource: { fieldRef: object('ObjectFieldSelector') },
  ObjectFieldSelector: { fieldPath: string, apiVersion: string },
  Lifecycle: { postStart: object('LifecycleHandler'), preStop: object('LifecycleHandler') },
  LifecycleHandler: { exec: object('ExecAction'), httpGet: object('HTTPGetAction'), sleep: object('SleepAction') },
  ExecAction: { command: strings },
  HTTPGetAction: {
    path: string,
    port: { kind: 'intOrString' },
    host: string,
    scheme: string,
    httpHeaders: list('HTTPHeader'),
  },
  HTTPHeader: { name: string, value: string },
  SleepAction: { seconds: integer },
  Probe: {
    exec: object('ExecAction'),
    httpGet: object('HTTPGetAction'),
    tcpSocket: object('TCPSocketAction'),
    grpc: object('GRPCAction'),
    initialDelaySeconds: integer,
    timeoutSeconds: integer,
    periodSeconds: integer,
    successThreshold: integer,
    failureThreshold: integer,
    terminationGracePeriodSeconds: integer,
  },
  TCPSocketAction: { port: { kind: 'intOrString' }, host: string },
  GRPCAction: { port: integer, service: string },
  ContainerPort: { name: string, containerPort: integer, protocol: string, hostPort: integer, hostIP: string },
  VolumeMount: {
    name: string,
    mountPath: string,
    readOnly: boolean,
    subPath: string,
    subPathExpr: string,
    mountPropagation: string,
  },
  ResourceRequirements: { limits: { kind: 'quantityMap' }, requests: { kind: 'quantityMap' } },
  Volume: { name: string, emptyDir: object('EmptyDirVolumeSource'), hostPath: object('HostPathVolumeSource') },
  EmptyDirVolumeSource: { medium: string, sizeLimit: { kind: 'quantity' } },
  HostPathVolumeSource: { path: string, type: string },
  SecurityContext: {
    capabilities: object('Capabilities'),
    privileged: boolean,
    runAsUser: integer,
    runAsGroup: integer,
    runAsNonRoot: boolean,
    readOnlyRootFilesystem: boolean,
    allowPrivilegeEscalation: boolean,
    seccompProfile: object('SeccompProfile'),
  },
  Capabilities: { add: strings, drop: strings },
  PodSecurityContext: {
    runAsUser: integer,
    runAsGroup: integer,
    runAsNonRoot: boolean,
    supplementalGroups: { kind: 'integers' },
    fsGroup: integer,
    seccompProfile: object('SeccompProfile'),
  },
  SeccompProfile: { type: string, localhostProfile: string },
  HostAlias: { ip: string, hostnames: strings },
  PodDNSConfig: { nameservers: strings, searches: strings, options: list('PodDNSConfigOption') },
  PodDNSConfigOption: { name: string, value: string },
};

/** What people call these types in messages ("a Container field"). */
export const TYPE_LABEL: { readonly [N in ObjectName]: string } = {
  Pod: 'a Pod',
  ObjectMeta: 'metadata',
  PodSpec: 'spec',
  Container: 'a container',
  EnvVar: 'an env entry',
  EnvVarSource: 'valueFrom',
  ObjectFieldSelector: 'fieldRef',
  Lifecycle: 'lifecycle',
  LifecycleHandler: 'a lifecycle hook',
  ExecAction: 'exec',
  HTTPGetAction: 'httpGet',
  HTTPHeader: 'an HTTP header',
  SleepAction: 'sleep',
  Probe: 'a probe',
  TCPSocketAction: 'tcpSocket',
  GRPCAction: 'grpc',
  ContainerPort: 'a port',
  VolumeMount: 'a volumeMount',
  ResourceRequirements: 'resources',
  Volume: 'a volume',
  EmptyDirVolumeSource: 'emptyDir',
  HostPathVolumeSource: 'hostPath',
  SecurityContext: 'a container securityContext',
  Capabilities: 'capabilities',
  PodSecurityContext: 'the pod securityContext',
  SeccompProfile: 'seccompProfile',
  HostAlias: 'a hostAliases entry',
  PodDNSConfig: 'dnsConfig',
  PodDNSConfigOption: 'a dnsConfig option',
};
