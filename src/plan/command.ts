// What a container runs, decided as Kubernetes does: `command` replaces the
// image's ENTRYPOINT, `args` replaces its CMD, env from the image then the
// container, `$(VAR)` references expanded, PATH searched in the container.
import { posix } from 'node:path';
import type { Container } from '../spec/types.js';
import type { ImageConfig } from '../image/store.js';

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

/**
 * Kubernetes' $(VAR) expansion: defined names are replaced, `$$` escapes a
 * dollar, an undefined reference is left as written.
 */
export function expandReferences(input: string, vars: ReadonlyMap<string, string>): string {
  return input.replace(/\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    const value = name === undefined ? undefined : vars.get(name);
    return value ?? match;
  });
}

function envMap(entries: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq > 0) map.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return map;
}

export function buildEnv(image: ImageConfig, container: Container, hostname: string): Map<string, string> {
  const env = envMap(image.env);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  env.set('HOSTNAME', hostname);
  for (const v of container.env ?? []) {
    // Later entries may refer to earlier ones, as in Kubernetes.
    env.set(v.name, expandReferences(v.value ?? '', env));
  }
  return env;
}

export function execCandidates(argv0: string, path: string): string[] {
  if (argv0.includes('/')) return [argv0];
  const dirs = path.split(':').map((d) => (d === '' ? '.' : d));
  return [...new Set(dirs.map((d) => posix.join(d, argv0)))];
}

export function resolveCommand(image: ImageConfig, container: Container, hostname: string): ResolvedCommand {
  const env = buildEnv(image, container, hostname);
  let argv: string[];
  if (container.command && container.command.length > 0) {
    argv = [...container.command, ...(container.args ?? [])];
  } else {
    argv = [...image.entrypoint, ...(container.args ?? image.cmd)];
  }
  argv = argv.map((a) => expandReferences(a, env));
  const argv0 = argv[0];
  if (argv0 === undefined || argv0 === '') {
    throw new CommandError(
      `container "${container.name}": no command to run: the image has no entrypoint or cmd; set spec.containers[].command`,
    );
  }
  const workingDir = container.workingDir || image.workingDir || '/';
  return {
    argv,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    workingDir,
    candidates: execCandidates(argv0, env.get('PATH') ?? DEFAULT_PATH).map((c) => posix.resolve(workingDir, c)),
  };
}
