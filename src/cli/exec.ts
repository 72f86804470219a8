// `peapod exec NAME [-c C] [-i] -- CMD...`: a command inside a running
// container; peapod exits with its exit code.
import { ExecError, execInContainer } from '../runtime/exec.js';
import { runtimePaths } from '../runtime/paths.js';
import { getStoredPod } from '../runtime/store.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    container: { value: true, alias: 'c' },
    stdin: { value: false, alias: 'i' },
    tty: { value: false, alias: 't' },
    root: { value: true },
  });
  const [name, ...extra] = args.positionals;
  const command = args.rest;
  if (!name || extra.length > 0 || command.length === 0) throw new UsageError(`usage: ${execCommand.synopsis}`);
  if (args.flags.has('tty')) throw new UsageError('exec -t (a pseudo-terminal) is not supported yet; run without -t');
  const stored = getStoredPod(runtimePaths({ root: stringFlag(args, 'root') }), name);
  const pod = stored.pod ?? stored.record?.pod;
  let container = stringFlag(args, 'container');
  if (!container) {
    container = pod?.spec.containers[0]?.name;
    if ((pod?.spec.containers.length ?? 0) > 1) process.stderr.write(`Defaulted container "${container}" out of: ${pod?.spec.containers.map((c) => c.name).join(', ')}\n`);
  }
  try {
    return await execInContainer(stored, container ?? '', command, { stdin: args.flags.has('stdin') });
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    process.stderr.write(`peapod: ${err.message}\n`);
    return err.exitCode;
  }
}

export const execCommand: Command = {
  name: 'exec',
  synopsis: 'peapod exec NAME [-c C] [-i] -- CMD [ARG...]',
  summary: 'run a command in a running container',
  help: `usage: peapod exec NAME [-c CONTAINER] [-i] [--root DIR] -- COMMAND [ARG...]

Runs COMMAND inside a running container: in all of its namespaces (its
mount namespace, and the pod's PID, network, IPC and UTS namespaces), with
its environment and working directory. -i passes this terminal's stdin.
The exit code is the command's (127: not found, 126: could not run).
Without -c, the pod's first container.`,
  run,
};
