// peapod's command line: kubectl's words over the runtime. Each command is
// a module exporting a Command; this table is the whole CLI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native/addon.js';
import { UsageError, type Command } from './args.js';
import { runCommand } from './run.js';

const commands = new Map<string, Command>([runCommand].map((c) => [c.name, c]));

function usage(): string {
  const lines = [...commands.values()].map((c) => `  ${c.synopsis.padEnd(58)} ${c.summary}`);
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
    process.stderr.write(`peapod: ${e.message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
