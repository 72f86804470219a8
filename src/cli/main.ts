// peapod's command line: kubectl's words over the runtime. Each command is
// a module exporting a Command; this table is the whole CLI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package.js';
import { UsageError, type Command } from './args.js';
import { daemonCommand } from './daemon.js';
import { deleteCommand } from './delete.js';
import { describeCommand } from './describe.js';
import { execCommand } from './exec.js';
import { explainCommand } from './explain.js';
import { imageCommand } from './image.js';
import { imagesCommand } from './images.js';
import { loadCommand } from './load.js';
import { pullCommand } from './pull.js';
import { rmiCommand } from './rmi.js';
import { getCommand } from './get.js';
import { inspectCommand } from './inspect.js';
import { logsCommand } from './logs.js';
import { portForwardCommand } from './port-forward.js';
import { runCommand } from './run.js';
import { topCommand } from './top.js';
import { uiCommand } from './ui.js';

const commands = new Map<string, Command>(
  [runCommand, getCommand, describeCommand, logsCommand, execCommand, deleteCommand, inspectCommand, explainCommand, topCommand, portForwardCommand, uiCommand, pullCommand, imagesCommand, rmiCommand, loadCommand, imageCommand, daemonCommand].map((c) => [c.name, c]),
);

function usage(): string {
  const width = Math.max(...[...commands.values()].map((c) => c.synopsis.length));
  const lines = [...commands.values()].map((c) => `  ${c.synopsis.padEnd(width)}   ${c.summary}`);
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
      process.stdout.write(`${usage()}\n`);
      return name === undefined ? 2 : 0;
    }
    const command = commands.get(name);
    if (!command) throw new UsageError(`unknown command "${name}"\n${usage()}`);
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
