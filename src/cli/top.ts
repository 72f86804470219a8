// `peapod top pod [NAME] [--containers]`: CPU and memory from the cgroups,
// in kubectl top's units (millicores, Mi).
import { runtimePaths } from '../runtime/paths.js';
import { viewPods } from '../node/pods-view.js';
import { measureUsage } from '../runtime/usage.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { table } from './format.js';

const mi = (bytes: number): string => `${Math.round(bytes / (1024 * 1024))}Mi`;

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { containers: { value: false }, root: { value: true } });
  const [kind, name] = args.positionals;
  if (kind !== undefined && !['pod', 'pods', 'po'].includes(kind)) throw new UsageError(`usage: ${topCommand.synopsis}`);
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const pods = name ? await viewPods(paths, name) : (await viewPods(paths)).filter((p) => p.live);
  const usage = await measureUsage(pods);
  if (usage.length === 0) {
    process.stderr.write('No resources found (no running pod with cgroups).\n');
    return name ? 1 : 0;
  }
  if (args.flags.has('containers')) {
    const rows = usage.flatMap((p) => p.containers.map((c) => [p.name, c.name, `${c.cpuMillis}m`, mi(c.memoryBytes)]));
    process.stdout.write(`${table(['POD', 'NAME', 'CPU(cores)', 'MEMORY(bytes)'], rows)}\n`);
  } else {
    process.stdout.write(`${table(['NAME', 'CPU(cores)', 'MEMORY(bytes)'], usage.map((p) => [p.name, `${p.cpuMillis}m`, mi(p.memoryBytes)]))}\n`);
  }
  return 0;
}

export const topCommand: Command = {
  name: 'top',
  synopsis: 'peapod top pod [NAME] [--containers]',
  summary: 'CPU and memory of running pods, from their cgroups',
  help: `usage: peapod top pod [NAME] [--containers] [--root DIR]

CPU (millicores, measured over half a second) and memory of each running
pod, read from the pod's cgroup; --containers shows each container's.`,
  run,
};
