// `peapod exec NAME [-c C] [-i] -- CMD...`: a command inside a running
// container; peapod exits with its exit code.
import { writeSync } from 'node:fs';
import { ExecError, execInContainer } from '../node/exec.js';
import { copyOut, drainOutput, type OutputCopy } from '../runtime/exec.js';
import { runtimePaths } from '../runtime/paths.js';
import { viewPod } from '../node/pods-view.js';
import type { StoredPod } from '../node/store.js';
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
  const stored = await viewPod(runtimePaths({ root: stringFlag(args, 'root') }), name);
  const pod = stored.pod ?? stored.record?.pod;
  let container = stringFlag(args, 'container');
  if (!container) {
    container = pod?.spec.containers[0]?.name;
    if ((pod?.spec.containers.length ?? 0) > 1) process.stderr.write(`Defaulted container "${container}" out of: ${pod?.spec.containers.map((c) => c.name).join(', ')}\n`);
  }
  const interactive = args.flags.has('stdin');
  try {
    if (args.flags.has('tty')) return await execWithTerminal(stored, container ?? '', command, interactive);
    return await execInContainer(stored, container ?? '', command, { stdin: interactive });
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    process.stderr.write(`peapod: ${err.message}\n`);
    return err.exitCode;
  }
}

/**
 * exec -t: the command on a pseudo-terminal of its container. Its output is
 * copied to ours; with -i our input goes to it, byte for byte (raw mode
 * when ours is a terminal, so Ctrl-C reaches the command, not peapod).
 */
async function execWithTerminal(stored: StoredPod, container: string, command: string[], interactive: boolean): Promise<number> {
  const out = process.stdout;
  let copy: OutputCopy | undefined;
  let cleanup = (): void => {};
  const code = await execInContainer(stored, container, command, {
    stdin: interactive,
    tty: {
      rows: out.isTTY ? out.rows : 24,
      cols: out.isTTY ? out.columns : 80,
      onMaster(master, resize) {
        // The copy owns the master fd: it closes it when it ends, fails or is stopped.
        copy = copyOut(master, out);
        const onInput = (d: Buffer): void => {
          try {
            writeSync(master, d);
          } catch {
            // The terminal is gone.
          }
        };
        const onResize = (): void => resize(out.rows, out.columns);
        if (interactive) {
          if (process.stdin.isTTY) process.stdin.setRawMode(true);
          process.stdin.on('data', onInput);
        }
        if (out.isTTY) out.on('resize', onResize);
        cleanup = () => {
          process.stdin.off('data', onInput);
          if (process.stdin.isTTY) process.stdin.setRawMode(false);
          process.stdin.pause();
          out.off('resize', onResize);
        };
      },
    },
  });
  // EIO ends the copy once every holder of the terminal is gone.
  if (copy) await drainOutput([copy]);
  cleanup();
  return code;
}

export const execCommand: Command = {
  name: 'exec',
  synopsis: 'peapod exec NAME [-c C] [-i] [-t] -- CMD [ARG...]',
  summary: 'run a command in a running container',
  help: `usage: peapod exec NAME [-c CONTAINER] [-i] [-t] [--root DIR] -- COMMAND [ARG...]

Runs COMMAND inside a running container: in all of its namespaces (its
mount namespace, and the pod's PID, network, IPC and UTS namespaces), with
its environment, working directory, cgroup, user and capabilities, and a
session of its own. It never gets this terminal: its stdin, stdout and
stderr are pipes peapod copies (-i copies this stdin into it), or with -t a
pseudo-terminal of its container (this terminal's size; raw mode with -i).
The exit code is the command's (127: not found, 126: could not run).
Without -c, the pod's first container.`,
  run,
};
