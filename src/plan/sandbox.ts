// The pod sandbox: pause, created with the pod's PID, network, IPC and UTS
// namespaces. Everything else of the pod joins these.
//
// pause is contained like Kubernetes' own, which runs from a minimal image as
// uid 65535: a mount namespace of its own whose root is an empty read-only
// tmpfs (pause runs by fd, from a private read-only mount), no capabilities at all, no_new_privs,
// an empty environment. A container that sees it as PID 1 finds nothing of
// the host behind /proc/1/root, /proc/1/cwd or /proc/1/environ (and, pause
// running as another uid, is refused even a look: EACCES).
import { posix } from 'node:path';
import type { NamespaceOption } from '../runtime/api.js';
import { PLAN_FDS, type Namespace, type SpawnPlan, type Step } from './types.js';

/** The uid and gid of Kubernetes' pause image (USER 65535:65535). */
export const PAUSE_ID = 65535;

export interface SandboxInputs {
  hostname: string;
  pauseBinary: string;
  /** NODE: share the host's namespace instead. Default: the pod's own, all of them. */
  namespaces?: NamespaceOption | undefined;
  /** Sysctls of the pod's own namespaces (checked by sysctlPath). */
  sysctls?: Record<string, string> | undefined;
  /** A pause of another make (a sandbox image's), which installs handlers rather than waiting with every signal blocked. */
  foreignPause?: boolean | undefined;
  /**
   * pause outlives whoever started it once it is made (a pod of the node
   * daemon): PR_SET_PDEATHSIG guards the making only (the uid change clears
   * it) and is not set again. Default: pause dies with its supervisor.
   */
  detached?: boolean | undefined;
}

export class SysctlError extends Error {
  override name = 'SysctlError';
}

/**
 * The /proc/sys file of a sysctl the pod may set: only those its own
 * namespaces hold (as runc allows them), never one that would change the
 * host. `net.ipv4.conf.eth0/1.x` style names take "/" for ".".
 */
export function sysctlPath(key: string, namespaces: readonly Namespace[]): string {
  const own = (ns: Namespace, what: string): void => {
    if (!namespaces.includes(ns)) throw new SysctlError(`sysctl ${key}: ${what} is the host's for this pod (it shares the host's ${ns} namespace); refused`);
  };
  if (!/^[a-z0-9_]+([./][A-Za-z0-9_@:-]+)+$/.test(key)) throw new SysctlError(`sysctl ${JSON.stringify(key)}: not a sysctl name (such as net.ipv4.ip_forward)`);
  if (key.startsWith('net.')) own('net', 'the network');
  else if (/^kernel\.(shm|msg)/.test(key) || key === 'kernel.sem' || key.startsWith('fs.mqueue.')) own('ipc', 'IPC');
  else if (key === 'kernel.hostname' || key === 'kernel.domainname') own('uts', 'the host name');
  else throw new SysctlError(`sysctl ${key}: not namespaced, so it would change the host; peapod sets only net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and kernel.hostname/domainname`);
  // Dots separate levels; a slash stands for a dot inside one level (an interface name).
  const parts = key.split('.').map((p) => p.replace(/\//g, '.'));
  if (parts.some((p) => p === '..' || p === '.')) throw new SysctlError(`sysctl ${JSON.stringify(key)}: not a sysctl name`);
  return `/proc/sys/${parts.join('/')}`;
}

/** The namespaces pause creates: those of the four the pod does not take from the host. */
export function sandboxNamespaces(options: NamespaceOption | undefined): Namespace[] {
  const ns: Namespace[] = ['mnt'];
  if (options?.pid !== 'NODE') ns.push('pid');
  if (options?.network !== 'NODE') ns.push('net');
  if (options?.ipc !== 'NODE') ns.push('ipc');
  // A pod on the host's network has the host's name too (the kubelet's rule).
  if (options?.network !== 'NODE') ns.push('uts');
  return ns;
}

export function sandboxPlan(input: SandboxInputs): SpawnPlan {
  const namespaces = sandboxNamespaces(input.namespaces);
  // pause's root: an empty read-only tmpfs, mounted over a directory that
  // exists wherever pause is installed (its own); the binary itself is run
  // by fd, from a private read-only copy of its mount.
  const root = posix.dirname(input.pauseBinary) === '/' ? '/tmp' : posix.dirname(input.pauseBinary);
  const proc = PLAN_FDS.base;
  const exe = PLAN_FDS.base + 1;
  const steps: Step[] = [
    // First: a pause whose supervisor dies while it is being made must not
    // outlive it; the check after the flag ends it at once if the supervisor
    // is gone already. The host's /proc tells who the parent is (getppid()
    // says 0 in a new PID namespace).
    { op: 'open', path: '/proc', fd: proc },
    { op: 'pdeathsig', signal: 'SIGKILL', procFd: proc },
  ];
  if (namespaces.includes('uts')) steps.push({ op: 'sethostname', name: input.hostname });
  if (namespaces.includes('net')) steps.push({ op: 'loopback_up' });
  // The host's /proc, still: a namespaced sysctl there is the one of the opener's (the new) namespace.
  for (const [key, value] of Object.entries(input.sysctls ?? {})) {
    steps.push({ op: 'write_file', path: sysctlPath(key, namespaces), content: value });
  }
  steps.push(
    // Nothing mounted from here on reaches the host.
    { op: 'mount', source: '', target: '/', flags: ['rec', 'private'] },
    { op: 'open_exe', path: input.pauseBinary, fd: exe },
    { op: 'mount', source: 'tmpfs', target: root, fstype: 'tmpfs', flags: ['rdonly', 'nosuid', 'nodev', 'noexec'], data: 'mode=0555,size=4k,nr_inodes=1' },
    { op: 'pivot_root', root },
    { op: 'chdir', path: '/' },
    { op: 'no_new_privs' },
    { op: 'capbset', keep: [] },
    { op: 'setgroups', gids: [] },
    { op: 'setgid', gid: PAUSE_ID },
    { op: 'setuid', uid: PAUSE_ID },
    { op: 'capset', permitted: [], effective: [], inheritable: [], ambient: [], limitToHeld: false },
    // Again after the uid change, which clears it: the pod lives no longer
    // than the process that supervises it (unless it is the daemon's).
    ...(input.detached ? [] : [{ op: 'pdeathsig' as const, signal: 'SIGKILL' as const, procFd: proc }]),
    { op: 'setsid' },
    { op: 'exec', candidates: [], fd: exe, argv: ['/pause'], env: [], what: 'pause' },
  );
  return {
    name: 'pause',
    newNamespaces: namespaces,
    // A signal to a namespace's PID 1 with no handler is dropped unless it is
    // blocked: pause keeps every signal blocked and takes the few it wants
    // with rt_sigtimedwait, so not even an instant SIGTERM is lost.
    keepSignalsBlocked: !input.foreignPause,
    steps,
  };
}
