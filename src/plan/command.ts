// What a container runs, decided as containerd does from what the kubelet
// asks (command and args already expanded): `command` replaces the image's
// ENTRYPOINT, `args` replaces its CMD, env from the image then the
// container's, PATH searched in the container.
import { posix } from 'node:path';
import type { ImageConfig } from '../image/store.js';
import type { ContainerConfig } from '../runtime/api.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ResolvedCommand {
  argv: string[];
  env: string[];
  workingDir: string;
  /** Absolute paths in the container tried in order by exec. */
  candidates: string[];
}

export class CommandError extends Error {
  override name = 'CommandError';
}

function envMap(entries: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq > 0) map.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return map;
}

/** The CRI's part of a container a command is made of. */
export type CommandRequest = Pick<ContainerConfig, 'command' | 'args' | 'workingDir' | 'envs'> & { name: string };

export function buildEnv(image: ImageConfig, envs: ContainerConfig['envs'], hostname: string): Map<string, string> {
  const env = envMap(image.env);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  env.set('HOSTNAME', hostname);
  for (const { key, value } of envs) env.set(key, value);
  return env;
}

export function execCandidates(argv0: string, path: string): string[] {
  if (argv0.includes('/')) return [argv0];
  const dirs = path.split(':').map((d) => (d === '' ? '.' : d));
  return [...new Set(dirs.map((d) => posix.join(d, argv0)))];
}

export function resolveCommand(image: ImageConfig, request: CommandRequest, hostname: string): ResolvedCommand {
  const env = buildEnv(image, request.envs, hostname);
  const argv = request.command.length > 0 ? [...request.command, ...request.args] : [...image.entrypoint, ...(request.args.length > 0 ? request.args : image.cmd)];
  const argv0 = argv[0];
  if (argv0 === undefined || argv0 === '') {
    throw new CommandError(
      `container "${request.name}": no command to run: the image has no entrypoint or cmd; set spec.containers[].command`,
    );
  }
  const workingDir = request.workingDir || image.workingDir || '/';
  return {
    argv,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    workingDir,
    candidates: execCandidates(argv0, env.get('PATH') ?? DEFAULT_PATH).map((c) => posix.resolve(workingDir, c)),
  };
}
