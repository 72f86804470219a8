// peapod's command line: kubectl's words over the runtime. Each command is
// a module exporting a Command; this table is the whole CLI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package.js';
import { UsageError, type Command } from './args.js';

/**
 * Every command by name, loaded when it is called: a CLI call parses only
 * the modules its own verb needs (in the bundle too: a module no verb's
 * import reached is never evaluated).
 */
const commands = new Map<string, () => Promise<Command>>([
  ['run', async () => (await import('./run.js')).runCommand],
  ['get', async () => (await import('./get.js')).getCommand],
  ['describe', async () => (await import('./describe.js')).describeCommand],
  ['logs', async () => (await import('./logs.js')).logsCommand],
  ['exec', async () => (await import('./exec.js')).execCommand],
  ['delete', async () => (await import('./delete.js')).deleteCommand],
  ['inspect', async () => (await import('./inspect.js')).inspectCommand],
  ['explain', async () => (await import('./explain.js')).explainCommand],
  ['top', async () => (await import('./top.js')).topCommand],
  ['port-forward', async () => (await import('./port-forward.js')).portForwardCommand],
  ['ui', async () => (await import('./ui.js')).uiCommand],
  ['pull', async () => (await import('./pull.js')).pullCommand],
  ['images', async () => (await import('./images.js')).imagesCommand],
  ['rmi', async () => (await import('./rmi.js')).rmiCommand],
  ['load', async () => (await import('./load.js')).loadCommand],
  ['image', async () => (await import('./image.js')).imageCommand],
  ['cri', async () => (await import('./cri.js')).criCommand],
  ['daemon', async () => (await import('./daemon.js')).daemonCommand],
]);

async function usage(): Promise<string> {
  const all = await Promise.all([...commands.values()].map((load) => load()));
  const width = Math.max(...all.map((c) => c.synopsis.length));
  const lines = all.map((c) => `  ${c.synopsis.padEnd(width)}   ${c.summary}`);
  return [
    'peapod: Kubernetes-style pods on this host',
    '',
    'usage:',
    ...lines,
    '  peapod version',
    '',
    'Every command takes --root DIR (or $PEAPOD_ROOT); `peapod COMMAND --help` for its flags.',
  ].join('\n');
}

/** Whether `name` is a command (bin/peapod.js keeps a code cache per command). */
export function isCommand(name: string): boolean {
  return commands.has(name);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === 'version' || name === '--version') {
      process.stdout.write(`peapod ${version()}\n`);
      return 0;
    }
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      process.stdout.write(`${await usage()}\n`);
      return name === undefined ? 2 : 0;
    }
    const load = commands.get(name);
    if (!load) throw new UsageError(`unknown command "${name}"\n${await usage()}`);
    const command = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${command.help}\n`);
      return 0;
    }
    return await command.run(rest);
  } catch (err) {
    const e = err as Error;
    // kubectl's own wording stands alone, so scripts that match it keep working.
    process.stderr.write(e.message.startsWith('Error from server') ? `${e.message}\n` : `peapod: ${e.message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
