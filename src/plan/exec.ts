// A process started inside a running container (hooks, `peapod exec`):
// every namespace of the container's main process, the mount namespace last
// (after it, /proc paths are the container's), then the container's
// working directory, environment and PATH.
import { execCandidates, DEFAULT_PATH } from './command.js';
import type { SpawnPlan } from './types.js';

export interface ExecInputs {
  /** For messages: "web (preStop)". */
  name: string;
  /** The container's main process, as seen from the host. */
  containerPid: number;
  argv: string[];
  env: string[];
  workingDir: string;
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
      { op: 'chdir', path: input.workingDir },
      { op: 'exec', candidates: execCandidates(argv0, path), argv: input.argv, env: input.env },
    ],
  };
}
