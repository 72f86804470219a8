// A process started inside a running container (hooks, `peapod exec`):
// every namespace of the container's main process, the mount namespace last
// (after it, /proc paths are the container's), then the container's
// working directory, environment and PATH; and the container's privileges,
// never the runtime's: a hook runs the container's own (writable) binaries.
import { execCandidates, DEFAULT_PATH } from './command.js';
import { resolveSecurity, securitySteps, type ProcessSecurity } from './security.js';
import type { SpawnPlan } from './types.js';

/** A default container's privileges: what a process exec'd into a container gets when nothing more precise is known. */
export const DEFAULT_EXEC_SECURITY: ProcessSecurity = resolveSecurity({
  container: { name: 'exec', image: '' },
  rootfs: '/',
  fs: { readlink: () => null, exists: () => false, isFile: () => false },
});

export interface ExecInputs {
  /** For messages: "web (preStop)". */
  name: string;
  /** The container's main process, as seen from the host. */
  containerPid: number;
  argv: string[];
  env: string[];
  workingDir: string;
  /**
   * The container's identity and privileges (resolveSecurity of its spec and
   * the pod's). Default: a default container's (uid 0, containerd's
   * capabilities, no_new_privs, the seccomp filter), never more.
   */
  security?: ProcessSecurity | undefined;
  /** Node's process.arch, for the seccomp filter. Default: this process's. */
  arch?: string | undefined;
  /** stdin is a pseudo-terminal: a new session with it as the controlling terminal. */
  tty?: boolean;
}

export function execPlan(input: ExecInputs): SpawnPlan {
  const ns = (name: string): string => `/proc/${input.containerPid}/ns/${name}`;
  const path = input.env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const argv0 = input.argv[0] ?? '';
  return {
    name: input.name,
    newNamespaces: [],
    joinPidNamespace: ns('pid'),
    keepSignalsBlocked: false,
    steps: [
      { op: 'setns', path: ns('net'), ns: 'net' },
      { op: 'setns', path: ns('ipc'), ns: 'ipc' },
      { op: 'setns', path: ns('uts'), ns: 'uts' },
      { op: 'setns', path: ns('mnt'), ns: 'mnt' },
      ...(input.tty ? [{ op: 'setsid' as const, controllingTerminal: true }] : []),
      ...securitySteps(input.security ?? DEFAULT_EXEC_SECURITY, input.arch ?? process.arch),
      { op: 'chdir', path: input.workingDir },
      { op: 'exec', candidates: execCandidates(argv0, path), argv: input.argv, env: input.tty && !input.env.some((e) => e.startsWith('TERM=')) ? [...input.env, 'TERM=xterm'] : input.env },
    ],
  };
}
