// Who a container's process is and what it may do, decided from the pod's
// and the container's securityContext the way the kubelet and containerd
// decide it, then written as kernel steps:
//
//   seccomp filter      the profile of securityContext.seccompProfile
//                        (RuntimeDefault unless said otherwise; none if
//                        privileged or Unconfined), installed while
//                        CAP_SYS_ADMIN is still held, so no_new_privs is
//                        not needed to install it
//   no_new_privs        (by default; not for privileged containers or
//                        allowPrivilegeEscalation: true)
//   PR_CAPBSET_DROP     every capability outside the container's set
//   PR_SET_KEEPCAPS 1   so that setresuid below keeps the permitted set
//   setgroups, setresgid, setresuid
//   PR_SET_KEEPCAPS 0
//   capset              permitted = effective = the set (uid 0), or only the
//                        explicitly added ones (another uid); inheritable =
//                        ambient = those added ones for another uid, else
//                        empty (CVE-2022-24769: containerd, CRI-O and podman
//                        no longer fill the inheritable set)
//   PR_CAP_AMBIENT      cleared, then raised for the added ones (non-root)
//
// As in Docker and containerd, a process that does not run as uid 0 loses
// its capabilities at exec; podman's rule is taken for the ones a user asks
// for by name: `runAsUser: 1000` with `add: [NET_BIND_SERVICE]` can bind :80.
import { posix } from 'node:path';
import type { Container, PodSpec } from '../spec/types.js';
import { capabilitySets, type Capability } from './capabilities.js';
import { scopedJoin, type FsView } from './scoped-path.js';
import { loadLocalhostProfile, SeccompLoadError, seccompFilter, seccompRequest, seccompRoot, type HostFileReader, type SeccompChoice, type SeccompFilter } from './seccomp.js';
import { SeccompCompileError } from './seccomp/compile.js';
import type { Step } from './types.js';

export class SecurityError extends Error {
  override name = 'SecurityError';
}

/** What the kernel will be told for one container's process. */
export interface ProcessSecurity {
  uid: number;
  gid: number;
  /** Supplementary groups, the primary one first. */
  groups: number[];
  privileged: boolean;
  noNewPrivs: boolean;
  readOnlyRootFilesystem: boolean;
  /** Bounding set. */
  bounding: Capability[];
  /** Permitted and effective sets after the uid change. */
  permitted: Capability[];
  inheritable: Capability[];
  ambient: Capability[];
  /** The seccomp profile: RuntimeDefault unless the spec says otherwise; Unconfined when privileged. */
  seccomp: SeccompChoice;
}

const MAX_ID = 2147483647;

function checkId(value: number | undefined, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw new SecurityError(`${where}: must be between 0 and ${MAX_ID}, got ${value}`);
  }
  return value;
}

/** An /etc/passwd or /etc/group of the image, one entry per line, `:`-separated. */
function entries(text: string | null): string[][] {
  if (!text) return [];
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/**
 * containerd's WithUserID + WithAdditionalGIDs: the primary group is the
 * uid's in the image's /etc/passwd (0 if the uid has no entry), and the
 * supplementary groups are that user's groups in /etc/group.
 */
function imageGroups(uid: number, rootfs: string, fs: FsView): { gid: number | undefined; groups: number[] } {
  const read = (file: string): string | null => fs.readFile?.(scopedJoin(rootfs, file, fs)) ?? null;
  const user = entries(read('/etc/passwd')).find((e) => e[2] !== undefined && Number(e[2]) === uid);
  const gid = user?.[3] !== undefined && /^\d+$/.test(user[3]) ? Number(user[3]) : undefined;
  const name = user?.[0];
  const groups = name
    ? entries(read('/etc/group'))
        .filter((e) => (e[3] ?? '').split(',').includes(name) && /^\d+$/.test(e[2] ?? ''))
        .map((e) => Number(e[2]))
    : [];
  return { gid, groups };
}

export interface SecurityInputs {
  container: Container;
  podSpec?: PodSpec | undefined;
  /** The image's root (for /etc/passwd and /etc/group), and how to read it. */
  rootfs: string;
  fs: FsView;
  /** For messages: spec.containers[0] or the container's name. */
  where?: string;
  /** Where Localhost seccomp profiles are. Default: $PEAPOD_SECCOMP_ROOT or /var/lib/peapod/seccomp. */
  seccompRoot?: string;
  /** How a Localhost profile is read from the host. Default: node:fs. */
  readProfile?: HostFileReader;
}

/** The container's seccompProfile over the pod's; a Localhost profile is read (and checked) here. */
function seccompChoice(input: SecurityInputs, where: string): SeccompChoice {
  const request = seccompRequest(input.container, input.podSpec);
  if (request.type !== 'Localhost') return request;
  try {
    return loadLocalhostProfile(input.seccompRoot ?? seccompRoot(), request.localhostProfile, input.readProfile);
  } catch (err) {
    if (!(err instanceof SeccompLoadError)) throw err;
    throw new SecurityError(`${where}: ${request.field}: ${err.message}`);
  }
}

/** The container's effective security: the container's settings over the pod's. */
export function resolveSecurity(input: SecurityInputs): ProcessSecurity {
  const { container } = input;
  const where = input.where ?? `container "${container.name}"`;
  const sc = container.securityContext ?? {};
  const pod = input.podSpec?.securityContext ?? {};
  const privileged = sc.privileged === true;

  if (privileged && sc.allowPrivilegeEscalation === false) {
    throw new SecurityError(
      `${where}: securityContext: cannot set allowPrivilegeEscalation to false and privileged to true; a privileged container can always escalate`,
    );
  }
  const uid = checkId(sc.runAsUser, `${where}: securityContext.runAsUser`) ?? checkId(pod.runAsUser, 'spec.securityContext.runAsUser') ?? 0;
  const runAsNonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot ?? false;
  if (runAsNonRoot && uid === 0) {
    const set = sc.runAsUser !== undefined || pod.runAsUser !== undefined;
    throw new SecurityError(
      `${where}: runAsNonRoot is set but the container would run as root (uid 0${set ? ', from runAsUser' : ', the image has no user'}); set securityContext.runAsUser to a non-zero uid`,
    );
  }
  const fromImage = imageGroups(uid, input.rootfs, input.fs);
  const gid =
    checkId(sc.runAsGroup, `${where}: securityContext.runAsGroup`) ?? checkId(pod.runAsGroup, 'spec.securityContext.runAsGroup') ?? fromImage.gid ?? 0;
  const supplemental = (pod.supplementalGroups ?? []).map((g, i) => checkId(g, `spec.securityContext.supplementalGroups[${i}]`) as number);
  const fsGroup = checkId(pod.fsGroup, 'spec.securityContext.fsGroup');
  const groups = [...new Set([gid, ...fromImage.groups, ...supplemental, ...(fsGroup === undefined ? [] : [fsGroup])])];

  const seccomp = seccompChoice(input, where);
  const requested = capabilitySets(sc.capabilities, privileged, `${where}: securityContext.capabilities`);
  // Every filter peapod installs refuses device nodes, since it has no
  // devices cgroup; without a filter (Unconfined), MKNOD itself goes,
  // unless the spec asks for it by name.
  const caps =
    !privileged && seccomp.type === 'Unconfined' && !requested.added.includes('MKNOD')
      ? { kept: requested.kept.filter((c) => c !== 'MKNOD'), added: requested.added }
      : requested;
  const root = uid === 0;
  const ambient = root ? [] : caps.added;
  return {
    uid,
    gid,
    groups,
    privileged,
    // Kubernetes leaves allowPrivilegeEscalation unset as true; peapod's
    // default is the safer one, as the issue asks: only an explicit true
    // (or privileged) lets setuid binaries and file capabilities raise privileges.
    noNewPrivs: !privileged && sc.allowPrivilegeEscalation !== true,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
    bounding: caps.kept,
    permitted: root ? caps.kept : ambient,
    inheritable: ambient,
    ambient,
    seccomp,
  };
}

/**
 * The steps, in the order that works: the filter first (CAP_SYS_ADMIN still
 * held), the bounding set while CAP_SETPCAP is, the ids under KEEPCAPS, and
 * capset last. A privileged container keeps what the runtime holds.
 */
export function securitySteps(s: ProcessSecurity, arch: string): Step[] {
  const steps: Step[] = [];
  let filter: SeccompFilter | null;
  try {
    filter = seccompFilter(s.seccomp, arch, s.bounding);
  } catch (err) {
    throw err instanceof SeccompCompileError ? new SecurityError(`seccomp: ${err.message}`) : err;
  }
  if (filter) steps.push({ op: 'seccomp', filter: filter.program, profile: filter.profile });
  if (s.noNewPrivs) steps.push({ op: 'no_new_privs' });
  steps.push(
    { op: 'capbset', keep: s.bounding },
    { op: 'keepcaps', on: true },
    { op: 'setgroups', gids: s.groups },
    { op: 'setgid', gid: s.gid },
    { op: 'setuid', uid: s.uid },
    { op: 'keepcaps', on: false },
    {
      op: 'capset',
      permitted: s.permitted,
      effective: s.permitted,
      inheritable: s.inheritable,
      ambient: s.ambient,
      // A privileged container gets every capability the runtime itself holds
      // (this host lacks CAP_SYS_RESOURCE); an explicit set must be held whole.
      limitToHeld: s.privileged,
    },
  );
  return steps;
}

/** What `ps`/`inspect` would say of a process: "uid=1000 gid=0 groups=0,2000 caps=NET_BIND_SERVICE". */
export function describeSecurity(s: ProcessSecurity): string {
  const caps = s.permitted.length === 0 ? '-' : s.permitted.join(',');
  return `uid=${s.uid} gid=${s.gid} groups=${s.groups.join(',')} caps=${caps}${s.noNewPrivs ? ' no_new_privs' : ''}`;
}

/** Joins a subPath under a volume, refusing anything that is not a path down into it. */
export function checkSubPath(subPath: string, where: string): string {
  if (subPath.startsWith('/')) throw new SecurityError(`${where}: must be a relative path, got ${JSON.stringify(subPath)}`);
  const parts = subPath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new SecurityError(`${where}: must not contain '..', got ${JSON.stringify(subPath)}`);
  return posix.join(...(parts.length === 0 ? ['.'] : parts));
}
