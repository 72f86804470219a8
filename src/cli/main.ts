// peapod's command line: kubectl's words over the runtime.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native/addon.js';
import { UsageError } from './args.js';
import { runCommand } from './run.js';

const USAGE = `peapod: Kubernetes-style pods on this host

usage:
  peapod run -f pod.yaml [--root DIR] [--grace-period N]   run a pod in the foreground
  peapod version
  peapod help

State lives under --root or $PEAPOD_ROOT (default /run/peapod and /var/lib/peapod).`;

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'version':
      case '--version':
        process.stdout.write(`peapod ${version()}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n${USAGE}`);
    }
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`peapod: ${e.message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
