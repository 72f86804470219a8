// The pod sandbox: pause, created with the pod's PID, network, IPC and UTS
// namespaces. Everything else of the pod joins these.
import type { SpawnPlan } from './types.js';

export interface SandboxInputs {
  hostname: string;
  pauseBinary: string;
}

export function sandboxPlan(input: SandboxInputs): SpawnPlan {
  return {
    name: 'pause',
    newNamespaces: ['pid', 'net', 'ipc', 'uts'],
    // A signal to a namespace's PID 1 without a handler is dropped: pause
    // unblocks only once its handlers are installed.
    keepSignalsBlocked: true,
    steps: [
      { op: 'sethostname', name: input.hostname },
      { op: 'loopback_up' },
      // The pod lives no longer than the process that supervises it.
      { op: 'pdeathsig', signal: 'SIGKILL' },
      { op: 'setsid' },
      { op: 'chdir', path: '/' },
      { op: 'exec', candidates: [input.pauseBinary], argv: ['/pause'], env: [] },
    ],
  };
}
