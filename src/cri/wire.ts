// The CRI's messages as gRPC hands them to peapod and takes them back
// (proto/api.proto loaded as grpc.ts says: camelCase, enums by name, every
// field present with its default, an absent message as null). Only what
// peapod reads or writes is typed here; api.ts is the runtime's own model,
// and translate.ts goes between the two.
import type { ContainerState, MountPropagation, NamespaceMode, PodSandboxState } from '../runtime/api.js';

export type Labels = Record<string, string>;

export interface WireInt64 {
  value: number;
}

export interface WireNamespaceOption {
  network: NamespaceMode | 'TARGET';
  pid: NamespaceMode | 'TARGET';
  ipc: NamespaceMode | 'TARGET';
  targetId: string;
}

export interface WireSecurityProfile {
  profileType: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  localhostRef: string;
}

export interface WireResources {
  cpuPeriod: number;
  cpuQuota: number;
  cpuShares: number;
  memoryLimitInBytes: number;
  oomScoreAdj: number;
  cpusetCpus: string;
  cpusetMems: string;
  unified: Labels;
  memorySwapLimitInBytes: number;
}

export interface WireMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface WirePortMapping {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

export interface WirePodSandboxConfig {
  metadata: WireMetadata | null;
  hostname: string;
  logDirectory: string;
  dnsConfig: { servers: string[]; searches: string[]; options: string[] } | null;
  portMappings: WirePortMapping[];
  labels: Labels;
  annotations: Labels;
  linux: {
    cgroupParent: string;
    securityContext: {
      namespaceOptions: WireNamespaceOption | null;
      runAsUser: WireInt64 | null;
      runAsGroup: WireInt64 | null;
      readonlyRootfs: boolean;
      supplementalGroups: number[];
      privileged: boolean;
      seccomp: WireSecurityProfile | null;
      seccompProfilePath: string;
    } | null;
    sysctls: Labels;
    overhead: WireResources | null;
    resources: WireResources | null;
  } | null;
}

export interface WireMount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  selinuxRelabel: boolean;
  propagation: MountPropagation;
  recursiveReadOnly: boolean;
}

export interface WireDevice {
  containerPath: string;
  hostPath: string;
  permissions: string;
}

export interface WireContainerSecurityContext {
  capabilities: { addCapabilities: string[]; dropCapabilities: string[]; addAmbientCapabilities: string[] } | null;
  privileged: boolean;
  namespaceOptions: WireNamespaceOption | null;
  runAsUser: WireInt64 | null;
  runAsUsername: string;
  runAsGroup: WireInt64 | null;
  readonlyRootfs: boolean;
  supplementalGroups: number[];
  noNewPrivs: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  seccomp: WireSecurityProfile | null;
  seccompProfilePath: string;
  apparmor: WireSecurityProfile | null;
  apparmorProfile: string;
}

export interface WireImageSpec {
  image: string;
  annotations: Labels;
  userSpecifiedImage: string;
  runtimeHandler: string;
}

export interface WireContainerConfig {
  metadata: { name: string; attempt: number } | null;
  image: WireImageSpec | null;
  command: string[];
  args: string[];
  workingDir: string;
  envs: Array<{ key: string; value: string }>;
  mounts: WireMount[];
  devices: WireDevice[];
  labels: Labels;
  annotations: Labels;
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  linux: { resources: WireResources | null; securityContext: WireContainerSecurityContext | null } | null;
}

/** What peapod sends back: a field left out is the proto's default. */
export interface WirePodSandboxStatus {
  id: string;
  metadata: WireMetadata;
  state: PodSandboxState;
  createdAt: number;
  network: { ip: string; additionalIps: Array<{ ip: string }> };
  linux: { namespaces: { options: { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode } } };
  labels: Labels;
  annotations: Labels;
  runtimeHandler: string;
}

export interface WireContainerStatus {
  id: string;
  metadata: { name: string; attempt: number };
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: { image: string; annotations?: Labels; userSpecifiedImage?: string };
  imageRef: string;
  imageId: string;
  reason: string;
  message: string;
  labels: Labels;
  annotations: Labels;
  mounts: Array<Pick<WireMount, 'containerPath' | 'hostPath' | 'readonly' | 'propagation'>>;
  logPath: string;
  resources?: { linux: Partial<WireResources> };
  user?: { linux: { uid: number; gid: number; supplementalGroups: number[] } };
}

export interface WireUInt64 {
  value: number;
}

export interface WireImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  uid: WireInt64 | null;
  username: string;
  spec: { image: string; annotations: Labels } | null;
  pinned: boolean;
}
