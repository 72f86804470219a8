// A process started inside a running container (hooks, `peapod exec`):
// the container's cgroup (joinCgroup), its network, IPC and UTS
// namespaces, then its mount namespace, whose root becomes ours; only then
// a process is born in its PID namespace (enter_pid_ns), so nothing in the
// pod sees it with the host's root; then the container's privileges, never
// the runtime's (a hook runs the container's own, writable, binaries), a
// session of its own, and the command through a read-only pause (launch.ts).
import { execCandidates, DEFAULT_PATH } from './command.js';
import { execThroughPause, openPause } from './launch.js';
import { resolveSecurity, securitySteps, type ProcessSecurity } from './security.js';
import { PLAN_FDS, type SpawnPlan, type Step } from './types.js';

/** A default container's privileges: what a process exec'd into a container gets when nothing more precise is known. */
export const DEFAULT_EXEC_SECURITY: ProcessSecurity = resolveSecurity({
  sc: {
    capabilities: { addCapabilities: [], dropCapabilities: [] },
    privileged: false,
    namespaceOptions: { network: 'POD', pid: 'POD', ipc: 'POD' },
    readonlyRootfs: false,
    supplementalGroups: [],
    noNewPrivs: true,
    seccomp: { profileType: 'RuntimeDefault' },
  },
  rootfs: '/',
  fs: { readlink: () => null, exists: () => false, isFile: () => false },
  where: 'exec',
});

export interface ExecInputs {
  /** For messages: "web (preStop)". */
  name: string;
  /** The container's main process, as seen from the host. */
  containerPid: number;
  argv: string[];
  env: string[];
  workingDir: string;
  /** pause, the binary every process of a container is started through. */
  launcher: string;
  /**
   * The container's identity and privileges (resolveSecurity of its spec and
   * the pod's). Default: a default container's (uid 0, containerd's
   * capabilities, no_new_privs, the seccomp filter), never more.
   */
  security?: ProcessSecurity | undefined;
  /** Node's process.arch, for the seccomp filter. Default: this process's. */
  arch?: string | undefined;
  /**
   * A pseudo-terminal of the container's own devpts, of this size, as
   * stdin/out/err and controlling terminal; its master goes back to the caller.
   */
  tty?: { rows: number; cols: number } | undefined;
}

export function execPlan(input: ExecInputs): SpawnPlan {
  const ns = (name: string): string => `/proc/${input.containerPid}/ns/${name}`;
  const path = input.env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const argv0 = input.argv[0] ?? '';
  const pidNs = PLAN_FDS.base;
  const pause = openPause(input.launcher, PLAN_FDS.base + 1);
  const env = input.tty && !input.env.some((e) => e.startsWith('TERM=')) ? [...input.env, 'TERM=xterm'] : input.env;
  const steps: Step[] = [
    { op: 'setns', path: ns('net'), ns: 'net' },
    { op: 'setns', path: ns('ipc'), ns: 'ipc' },
    { op: 'setns', path: ns('uts'), ns: 'uts' },
    { op: 'open', path: ns('pid'), fd: pidNs, read: true },
    { op: 'new_session_keyring' },
    pause.open,
    // Last: after it, paths are the container's.
    { op: 'setns', path: ns('mnt'), ns: 'mnt' },
    ...(input.tty ? [{ op: 'open_pty' as const, socketFd: PLAN_FDS.ptySocket, rows: input.tty.rows, cols: input.tty.cols }] : []),
    { op: 'enter_pid_ns', fd: pidNs },
    // Never the caller's session: its terminal (TIOCSTI) stays out of reach.
    { op: 'setsid', ...(input.tty ? { controllingTerminal: true } : {}) },
    ...securitySteps(input.security ?? DEFAULT_EXEC_SECURITY, input.arch ?? process.arch),
    { op: 'chdir', path: input.workingDir },
    execThroughPause(pause.fd, { candidates: execCandidates(argv0, path), argv: input.argv, env }, 'exec'),
  ];
  return { name: input.name, newNamespaces: [], keepSignalsBlocked: false, steps };
}
