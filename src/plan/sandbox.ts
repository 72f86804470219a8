// The pod sandbox: pause, created with the pod's PID, network, IPC and UTS
// namespaces. Everything else of the pod joins these.
//
// pause is contained like Kubernetes' own, which runs from a minimal image as
// uid 65535: a mount namespace of its own whose root is an empty read-only
// tmpfs holding only the pause binary, no capabilities at all, no_new_privs,
// an empty environment. A container that sees it as PID 1 finds nothing of
// the host behind /proc/1/root, /proc/1/cwd or /proc/1/environ (and, pause
// running as another uid, is refused even a look: EACCES).
import { posix } from 'node:path';
import type { PodSpec } from '../spec/types.js';
import { PLAN_FDS, type Namespace, type SpawnPlan, type Step } from './types.js';

/** The uid and gid of Kubernetes' pause image (USER 65535:65535). */
export const PAUSE_ID = 65535;

export interface SandboxInputs {
  hostname: string;
  pauseBinary: string;
  /** hostNetwork, hostPID, hostIPC: share the host's namespace instead. Default: none. */
  podSpec?: PodSpec | undefined;
}

/** The namespaces pause creates: those of the four the pod does not take from the host. */
export function sandboxNamespaces(podSpec: PodSpec | undefined): Namespace[] {
  const ns: Namespace[] = ['mnt'];
  if (!podSpec?.hostPID) ns.push('pid');
  if (!podSpec?.hostNetwork) ns.push('net');
  if (!podSpec?.hostIPC) ns.push('ipc');
  // A pod on the host's network has the host's name too (the kubelet's rule).
  if (!podSpec?.hostNetwork) ns.push('uts');
  return ns;
}

export function sandboxPlan(input: SandboxInputs): SpawnPlan {
  const namespaces = sandboxNamespaces(input.podSpec);
  // An empty tmpfs over the binary's own directory (it exists wherever pause
  // is installed); the binary itself is reached through an fd opened first.
  const root = posix.dirname(input.pauseBinary) === '/' ? '/tmp' : posix.dirname(input.pauseBinary);
  const binary = posix.join(root, 'pause');
  const fd = PLAN_FDS.base;
  const steps: Step[] = [];
  if (namespaces.includes('uts')) steps.push({ op: 'sethostname', name: input.hostname });
  if (namespaces.includes('net')) steps.push({ op: 'loopback_up' });
  steps.push(
    // Nothing mounted from here on reaches the host.
    { op: 'mount', source: '', target: '/', flags: ['rec', 'private'] },
    { op: 'open', path: input.pauseBinary, fd },
    { op: 'mount', source: 'tmpfs', target: root, fstype: 'tmpfs', flags: ['nosuid', 'nodev'], data: 'mode=0555,size=16k,nr_inodes=8' },
    { op: 'touch', path: binary, mode: 0o555 },
    { op: 'mount', source: `/proc/self/fd/${fd}`, target: binary, flags: ['bind'] },
    { op: 'remount_ro', target: binary },
    { op: 'remount_ro', target: root },
    { op: 'pivot_root', root },
    { op: 'chdir', path: '/' },
    { op: 'no_new_privs' },
    { op: 'capbset', keep: [] },
    { op: 'setgroups', gids: [] },
    { op: 'setgid', gid: PAUSE_ID },
    { op: 'setuid', uid: PAUSE_ID },
    { op: 'capset', permitted: [], effective: [], inheritable: [], ambient: [], limitToHeld: false },
    // After the uid change, which would clear it: the pod lives no longer
    // than the process that supervises it.
    { op: 'pdeathsig', signal: 'SIGKILL' },
    { op: 'setsid' },
    { op: 'exec', candidates: ['/pause'], argv: ['/pause'], env: [] },
  );
  return {
    name: 'pause',
    newNamespaces: namespaces,
    // A signal to a namespace's PID 1 with no handler is dropped unless it is
    // blocked: pause keeps every signal blocked and takes the few it wants
    // with rt_sigtimedwait, so not even an instant SIGTERM is lost.
    keepSignalsBlocked: true,
    steps,
  };
}
