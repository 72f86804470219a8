// The kubelet's half of a container's security: the container's
// securityContext over the pod's (determineEffectiveSecurityContext),
// checked as the kubelet checks it, and said to the runtime as the CRI's
// LinuxContainerSecurityContext. What the ids and capabilities then become
// (the image's groups, the default capability set, the seccomp program) is
// the runtime's part: src/plan/security.ts.
import { posix } from 'node:path';
import type { LinuxContainerSecurityContext, NamespaceOption, SecurityProfile } from '../runtime/api.js';
import type { Container, PodSpec } from '../manifest/types.js';

export class SecurityContextError extends Error {
  override name = 'SecurityContextError';
}

const MAX_ID = 2147483647;

function checkId(value: number | undefined, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw new SecurityContextError(`${where}: must be between 0 and ${MAX_ID}, got ${value}`);
  }
  return value;
}

/** Which of the sandbox's namespaces a container shares (the kubelet's namespacesForPod). */
export function namespaceOptions(podSpec: PodSpec | undefined): NamespaceOption {
  return {
    network: podSpec?.hostNetwork ? 'NODE' : 'POD',
    // hostPID: pause is in the host's namespace, and so is everyone.
    pid: podSpec?.hostPID ? 'NODE' : podSpec?.shareProcessNamespace === false ? 'CONTAINER' : 'POD',
    ipc: podSpec?.hostIPC ? 'NODE' : 'POD',
  };
}

export const DEFAULT_SECCOMP_ROOT = '/var/lib/peapod/seccomp';

/** Where Localhost profiles are: $PEAPOD_SECCOMP_ROOT, or /var/lib/peapod/seccomp (the kubelet's is /var/lib/kubelet/seccomp). */
export function seccompRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.PEAPOD_SECCOMP_ROOT || DEFAULT_SECCOMP_ROOT;
}

/**
 * The container's seccompProfile over the pod's. peapod's default is
 * RuntimeDefault (podman's; the kubelet's with --seccomp-default); a
 * Localhost profile becomes its file under the seccomp root.
 */
function seccompProfile(container: Container, podSpec: PodSpec | undefined, root: string, where: string): SecurityProfile {
  const own = container.securityContext?.seccompProfile;
  const sp = own ?? podSpec?.securityContext?.seccompProfile;
  if (sp?.type === 'Unconfined') return { profileType: 'Unconfined' };
  if (sp?.type !== 'Localhost') return { profileType: 'RuntimeDefault' };
  const field = `${where}: ${own ? 'securityContext.seccompProfile' : 'spec.securityContext.seccompProfile'}`;
  const rel = sp.localhostProfile ?? '';
  if (rel === '' || rel.startsWith('/') || rel.split('/').includes('..')) {
    throw new SecurityContextError(`${field}: localhostProfile must be a relative path below ${root} without "..", got ${JSON.stringify(rel)}`);
  }
  return { profileType: 'Localhost', localhostRef: posix.join(root, rel), localhostProfile: rel, field };
}

export interface SecurityContextOptions {
  /** For messages: `container "web"`. */
  where?: string;
  /** Where Localhost seccomp profiles are. Default: seccompRoot(). */
  seccompRoot?: string;
  /** The uid the image runs as when runAsUser is unset (its USER; 0 without one). */
  imageUid?: number;
}

/** The effective security context of one container, as the CRI carries it. */
export function containerSecurityContext(container: Container, podSpec: PodSpec | undefined, options: SecurityContextOptions = {}): LinuxContainerSecurityContext {
  const where = options.where ?? `container "${container.name}"`;
  const sc = container.securityContext ?? {};
  const pod = podSpec?.securityContext ?? {};
  const privileged = sc.privileged === true;
  if (privileged && sc.allowPrivilegeEscalation === false) {
    throw new SecurityContextError(
      `${where}: securityContext: cannot set allowPrivilegeEscalation to false and privileged to true; a privileged container can always escalate`,
    );
  }
  const runAsUser = checkId(sc.runAsUser, `${where}: securityContext.runAsUser`) ?? checkId(pod.runAsUser, 'spec.securityContext.runAsUser');
  const runAsGroup = checkId(sc.runAsGroup, `${where}: securityContext.runAsGroup`) ?? checkId(pod.runAsGroup, 'spec.securityContext.runAsGroup');
  // The kubelet's verifyRunAsNonRoot, against the uid the process will have.
  if ((sc.runAsNonRoot ?? pod.runAsNonRoot ?? false) && (runAsUser ?? options.imageUid ?? 0) === 0) {
    throw new SecurityContextError(
      `${where}: runAsNonRoot is set but the container would run as root (uid 0${runAsUser !== undefined ? ', from runAsUser' : ', the image has no user'}); set securityContext.runAsUser to a non-zero uid`,
    );
  }
  const supplemental = (pod.supplementalGroups ?? []).map((g, i) => checkId(g, `spec.securityContext.supplementalGroups[${i}]`) as number);
  const fsGroup = checkId(pod.fsGroup, 'spec.securityContext.fsGroup');
  return {
    capabilities: { addCapabilities: sc.capabilities?.add ?? [], dropCapabilities: sc.capabilities?.drop ?? [] },
    privileged,
    namespaceOptions: namespaceOptions(podSpec),
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    readonlyRootfs: sc.readOnlyRootFilesystem === true,
    // The kubelet gives the fsGroup as one more supplementary group.
    supplementalGroups: [...new Set([...supplemental, ...(fsGroup === undefined ? [] : [fsGroup])])],
    // Kubernetes leaves allowPrivilegeEscalation unset as true; peapod's
    // default is the safer one: only an explicit true (or privileged) lets
    // setuid binaries and file capabilities raise privileges.
    noNewPrivs: !privileged && sc.allowPrivilegeEscalation !== true,
    seccomp: seccompProfile(container, podSpec, options.seccompRoot ?? seccompRoot(), where),
  };
}
