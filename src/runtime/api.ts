// The runtime layer's requests and replies, shaped like the Container
// Runtime Interface (runtime.v1): the names of the CRI's messages and
// fields, in camelCase, as plain data. A gRPC server is a translation of
// these, not a second model. Where peapod carries more than the CRI does,
// the field says so ("peapod:").

/** NamespaceMode: POD shares the sandbox's, CONTAINER is the container's own, NODE the host's. */
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE';

export interface NamespaceOption {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

/** What a cgroup is given: CRI LinuxContainerResources, the part peapod applies. */
export interface LinuxContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  memoryLimitInBytes?: number;
  /** peapod: the pids limit (the CRI has it only on the pod's cgroup, through the kubelet). */
  pidsLimit?: number;
  /** Kept and reported; peapod's cgroups take no weights. */
  cpuShares?: number;
  /** The container's oom_score_adj, raised to the runtime's own where lowering needs CAP_SYS_RESOURCE. */
  oomScoreAdj?: number;
}

/** A hostPort of the pod, for portmap (the CRI's PortMapping). */
export interface PortMapping {
  protocol: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  hostPort: number;
  hostIP?: string;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname: string;
  /** Where the containers' logs go: logPath of a container is relative to it. */
  logDirectory: string;
  dnsConfig?: DNSConfig;
  portMappings: PortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** peapod: the name of the pod's directories under pods/ (default: metadata.name); the CRI keeps its pods apart. */
  podDirectory?: string;
  /** peapod: the sandbox's program instead of the runtime's pause (the CRI's sandbox image): a static binary on the host. */
  pauseBinary?: string;
  /** peapod: the CRI's runtime handler the sandbox was asked with, kept with it for its status. */
  runtimeHandler?: string;
  /** peapod: logDirectory was chosen by the CRI server (the request named none): it goes with the pod's directories. */
  ownLogDirectory?: boolean;
  linux: {
    cgroupParent: string;
    securityContext: { namespaceOptions: NamespaceOption };
    /** peapod: the pod cgroup's limits (the kubelet sets them on the pod's cgroup itself). */
    resources: LinuxContainerResources;
    /** Namespaced sysctls (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*), set in the pod's namespaces. */
    sysctls?: Record<string, string>;
  };
}

export type MountPropagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';

export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  propagation: MountPropagation;
  /**
   * peapod: a path below hostPath, opened there by the container's child
   * itself, never through a link out of it (the kubelet resolves subPaths
   * before the CRI; peapod does it where no link can be swapped after).
   */
  subPath?: string;
  /** peapod: the mode of directories made on the way to a missing subPath (the volume's, as the kubelet makes them). */
  subPathMode?: number;
  /** peapod: for messages, what this mount is ("volume \"data\"", "the termination log"). */
  what?: string;
  /** peapod: for messages, the manifest's field that asked for it ("volumeMounts[0] (data)", "terminationMessagePath"). */
  field?: string;
  /** peapod: what is at hostPath, when the kubelet knows (it made it); else the runtime looks. */
  kind?: 'dir' | 'file';
}

export interface SecurityProfile {
  profileType: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  /** For Localhost: the profile's file on the host. */
  localhostRef?: string;
  /** peapod: what the manifest said, for messages ("team/x.json"). */
  localhostProfile?: string;
  /** peapod: the field that asked for it, for messages. */
  field?: string;
}

export interface LinuxContainerSecurityContext {
  capabilities: { addCapabilities: string[]; dropCapabilities: string[] };
  privileged: boolean;
  namespaceOptions: NamespaceOption;
  /** Unset: the image's user (uid 0 without one). */
  runAsUser?: number;
  runAsGroup?: number;
  readonlyRootfs: boolean;
  supplementalGroups: number[];
  noNewPrivs: boolean;
  seccomp: SecurityProfile;
  /** Paths masked instead of the OCI default list (unset: the default). */
  maskedPaths?: string[];
  /** Paths made read-only instead of the OCI default list (unset: the default). */
  readonlyPaths?: string[];
}

export interface ContainerMetadata {
  name: string;
  attempt: number;
}

/** ImageSpec: the image by ID (or reference), and what the pod's manifest said. */
export interface ImageSpec {
  image: string;
  userSpecifiedImage?: string;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: ImageSpec;
  /** Replaces the image's entrypoint (and its cmd) when not empty. */
  command: string[];
  /** Replaces the image's cmd when not empty. */
  args: string[];
  /** Empty: the image's. */
  workingDir: string;
  /** Over the image's environment, in order. */
  envs: KeyValue[];
  mounts: Mount[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Relative to the sandbox's logDirectory. */
  logPath: string;
  stdin: boolean;
  /** peapod: how the CRI names the image in its statuses (a repo digest, else its ID), kept with the container. */
  imageRef?: string;
  /** peapod: false: the runtime never rotates its log, whoever reads it does (the kubelet: ReopenContainerLog). Default true. */
  rotateLogs?: boolean;
  /** Close its stdin when the first attach ends. */
  stdinOnce?: boolean;
  /**
   * peapod: with a PID namespace of its own (pid CONTAINER), pause is its
   * PID 1 (it reaps, and a TERM reaches a command with no handler) and the
   * command its child; false: the command itself is PID 1, as runc makes it.
   * Default true; the CRI asks false.
   */
  pidInit?: boolean;
  tty: boolean;
  linux: {
    resources: LinuxContainerResources;
    securityContext: LinuxContainerSecurityContext;
  };
}

export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  /** ns since the epoch, as the CRI counts. */
  createdAt: number;
  network: { ip: string; additionalIps: string[] };
  linux: { namespaces: { options: NamespaceOption } };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** peapod: pause's pid, as the host sees it. */
  pid: number;
}

export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: ImageSpec;
  imageRef: string;
  /** OOMKilled, Completed, Error, ContainerCannotRun. */
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  logPath: string;
  /** peapod: the main process, as the host sees it (0 before start). */
  pid: number;
  /** peapod: the signal that ended it, when one did. */
  signal?: number;
}

/** A container's event (GetContainerEvents). */
export interface ContainerEvent {
  containerId: string;
  containerEventType: 'CONTAINER_CREATED_EVENT' | 'CONTAINER_STARTED_EVENT' | 'CONTAINER_STOPPED_EVENT' | 'CONTAINER_DELETED_EVENT';
  createdAt: number;
  podSandboxId: string;
}

export interface ContainerFilter {
  id?: string;
  podSandboxId?: string;
  state?: ContainerState;
  labelSelector?: Record<string, string>;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

/** ExecSync's reply. */
export interface ExecSyncResponse {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
  /** peapod: how it ended, when not by its own exit. */
  timedOut?: boolean;
  aborted?: boolean;
  signal?: number;
  /** peapod: it could not even start (the message of the failed step). */
  startError?: string;
}

/** ns since the epoch of a Date, as the CRI's timestamps are. */
export function nanos(date: Date | undefined): number {
  return date ? date.getTime() * 1e6 : 0;
}
