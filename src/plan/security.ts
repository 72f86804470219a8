// Who a container's process is and what it may do: the runtime's part
// (containerd's), from the CRI security context the kubelet computed
// (src/kubelet/security-context.ts) and the image, written as kernel steps:
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
import type { LinuxContainerSecurityContext } from '../runtime/api.js';
import { capabilitySets, type Capability } from './capabilities.js';
import { scopedJoin, type FsView } from './scoped-path.js';
import { loadLocalhostProfile, SeccompLoadError, seccompFilter, type HostFileReader, type SeccompChoice, type SeccompFilter } from './seccomp.js';
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
  /** `add: [ALL]`: every capability the runtime holds (containerd's reading), not one more. */
  addedAll?: boolean;
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
  /** What the kubelet asks for (the CRI's LinuxContainerSecurityContext). */
  sc: LinuxContainerSecurityContext;
  /** The image's root (for /etc/passwd and /etc/group), and how to read it. */
  rootfs: string;
  fs: FsView;
  /** For messages: `container "web"`. */
  where: string;
  /** How a Localhost profile is read from the host. Default: node:fs. */
  readProfile?: HostFileReader;
}

/** The seccomp filter asked for; a Localhost profile is read (and checked) here. None for a privileged container. */
function seccompChoice(input: SecurityInputs): SeccompChoice {
  const { sc } = input;
  if (sc.privileged) return { type: 'Unconfined', why: 'privileged' };
  const p = sc.seccomp;
  if (p.profileType === 'Unconfined') return { type: 'Unconfined', why: 'profile' };
  if (p.profileType === 'RuntimeDefault') return { type: 'RuntimeDefault' };
  try {
    return loadLocalhostProfile(p.localhostRef ?? '', p.localhostProfile ?? p.localhostRef ?? '', input.readProfile);
  } catch (err) {
    if (!(err instanceof SeccompLoadError)) throw err;
    throw new SecurityError(`${p.field ?? input.where}: ${err.message}`);
  }
}

/** The process's identity and privileges: the kubelet's request over the image and the runtime's defaults. */
export function resolveSecurity(input: SecurityInputs): ProcessSecurity {
  const { sc, where } = input;
  const privileged = sc.privileged;
  const uid = sc.runAsUser ?? 0;
  // containerd's WithUserID + WithAdditionalGIDs.
  const fromImage = imageGroups(uid, input.rootfs, input.fs);
  const gid = sc.runAsGroup ?? fromImage.gid ?? 0;
  const groups = [...new Set([gid, ...fromImage.groups, ...sc.supplementalGroups])];

  const seccomp = seccompChoice(input);
  const requested = capabilitySets(
    { add: sc.capabilities.addCapabilities, drop: sc.capabilities.dropCapabilities },
    privileged,
    `${where}: securityContext.capabilities`,
  );
  // Every filter peapod installs refuses device nodes, since it has no
  // devices cgroup; without a filter (Unconfined), MKNOD itself goes,
  // unless the spec asks for it by name.
  const caps =
    !privileged && seccomp.type === 'Unconfined' && !requested.added.includes('MKNOD')
      ? { kept: requested.kept.filter((c) => c !== 'MKNOD'), added: requested.added }
      : requested;
  const root = uid === 0;
  const ambient = root ? [] : caps.added;
  const addedAll = sc.capabilities.addCapabilities.some((c) => c.trim().toUpperCase().replace(/^CAP_/, '') === 'ALL');
  return {
    uid,
    gid,
    groups,
    privileged,
    noNewPrivs: !privileged && sc.noNewPrivs,
    readOnlyRootFilesystem: sc.readonlyRootfs,
    bounding: caps.kept,
    permitted: root ? caps.kept : ambient,
    inheritable: ambient,
    ambient,
    seccomp,
    ...(addedAll ? { addedAll } : {}),
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
      // A privileged container, or one given ALL, gets every capability the
      // runtime itself holds (this host lacks CAP_SYS_RESOURCE); a set named
      // capability by capability must be held whole.
      limitToHeld: s.privileged || s.addedAll === true,
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
