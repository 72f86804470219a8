// The seccomp filter of a container's processes, from the profile the
// kubelet asks for (src/kubelet/security-context.ts), as containerd makes it:
//
//   RuntimeDefault  Docker's / containerd's default allowlist (seccomp/default-profile.ts);
//                   peapod's default for every non-privileged container, as podman's
//   Localhost       an OCI/Docker JSON profile at <seccomp root>/<localhostProfile>,
//                   the root being $PEAPOD_SECCOMP_ROOT or /var/lib/peapod/seccomp
//   Unconfined      no filter; privileged containers never have one either
//
// Every filter peapod installs also refuses device nodes (seccomp/default-profile.ts
// DEVICE_NODE_RULES). Profiles are compiled to BPF for every ABI the host
// accepts (seccomp/compile.ts), once per profile, architecture, capability
// set and kernel.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { LinuxContainerSecurityContext } from '../runtime/api.js';
import type { BpfInstruction } from './seccomp/bpf.js';
import { compileProfile } from './seccomp/compile.js';
import { DEVICE_NODE_RULES, RUNTIME_DEFAULT } from './seccomp/default-profile.js';
import { parseSeccompProfile, type SeccompProfile } from './seccomp/profile.js';

export type { BpfInstruction } from './seccomp/bpf.js';

export type SeccompChoice =
  | { type: 'Unconfined'; why: 'privileged' | 'profile' }
  | { type: 'RuntimeDefault' }
  | {
      type: 'Localhost';
      /** As the manifest says it: relative to the seccomp root. */
      localhostProfile: string;
      /** The file read. */
      file: string;
      profile: SeccompProfile;
      /** Of the file's text: what the compiled program is cached by. */
      digest: string;
    };

export class SeccompLoadError extends Error {
  override name = 'SeccompLoadError';
}

/** Reads a file of the host (not of an image): a profile lives beside peapod, not in the container. */
export type HostFileReader = (path: string) => string;

const readHostFile: HostFileReader = (path) => readFileSync(path, 'utf8');

function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (err as Error).message;
}

/** Reads and checks a Localhost profile at `file`; the message names the file and what is wrong in it. */
export function loadLocalhostProfile(file: string, localhostProfile: string, read: HostFileReader = readHostFile): SeccompChoice {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    throw new SeccompLoadError(`cannot read the Localhost seccomp profile ${file}: ${unreadable(err)}; put the profile there (JSON, Docker's format) or set $PEAPOD_SECCOMP_ROOT`);
  }
  let profile: SeccompProfile;
  try {
    profile = parseSeccompProfile(text, file);
  } catch (err) {
    throw new SeccompLoadError(`the Localhost seccomp profile ${file} is not valid: ${(err as Error).message}`);
  }
  return { type: 'Localhost', localhostProfile, file, profile, digest: createHash('sha256').update(text).digest('hex') };
}

/** "RuntimeDefault", "Localhost /var/lib/peapod/seccomp/x.json", "Unconfined (privileged)". */
export function describeSeccomp(choice: SeccompChoice): string {
  if (choice.type === 'Localhost') return `Localhost ${choice.file}`;
  if (choice.type === 'Unconfined') return choice.why === 'privileged' ? 'Unconfined (privileged)' : 'Unconfined';
  return 'RuntimeDefault';
}

/** What a CRI security context asks for, in describeSeccomp's words ("?" when unknown). */
export function describeProfile(sc: Pick<LinuxContainerSecurityContext, 'privileged' | 'seccomp'> | null): string {
  if (!sc) return '?';
  if (sc.privileged) return 'Unconfined (privileged)';
  if (sc.seccomp.profileType === 'Localhost') return `Localhost ${sc.seccomp.localhostRef ?? '?'}`;
  return sc.seccomp.profileType;
}

/** The running kernel's [major, minor]. */
export function kernelVersion(text: string = release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export interface SeccompFilter {
  /** For `explain`: which profile this is. */
  profile: string;
  program: BpfInstruction[];
}

const cache = new Map<string, BpfInstruction[]>();
const CACHE_SIZE = 64;

/**
 * The filter for a process that may hold the capabilities `caps`, for
 * Node's `arch`; null when there is none to install (Unconfined).
 */
export function seccompFilter(choice: SeccompChoice, arch: string, caps: readonly string[], kernel: readonly [number, number] = kernelVersion()): SeccompFilter | null {
  if (choice.type === 'Unconfined') return null;
  const profile = choice.type === 'Localhost' ? choice.profile : RUNTIME_DEFAULT;
  const key = [choice.type === 'Localhost' ? choice.digest : 'default', arch, [...caps].sort().join(','), kernel.join('.')].join('|');
  let program = cache.get(key);
  if (!program) {
    program = compileProfile(profile, { arch, caps, kernel }, DEVICE_NODE_RULES);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(key, program);
  }
  return { profile: describeSeccomp(choice), program };
}
