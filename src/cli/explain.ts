// `peapod explain -f FILE`: the pod as the list of system calls that would
// make it, without root and without running anything (src/node/explain.ts
// builds it, through the functions `run` uses). For pause and every
// container: the namespaces clone() creates or the parent joins, then the
// steps the cloned child performs in order, ending in exec. `-o json` prints
// the plans, and the CRI requests they come from, as data.
import { explainPod } from '../node/explain.js';
import { renderExplanation } from '../node/explain-text.js';
import { runtimePaths } from '../runtime/paths.js';
import { formatIssue, readPodFile } from '../manifest/index.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { serialize } from './format.js';

const USAGE = 'usage: peapod explain -f FILE [-o json|yaml] [--root DIR] [--pod-infra-binary PATH]';

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    filename: { value: true, alias: 'f' },
    output: { value: true, alias: 'o' },
    root: { value: true },
    'pod-infra-binary': { value: true },
    strict: { value: false },
  });
  const file = stringFlag(args, 'filename');
  if (!file) throw new UsageError(`explain needs a manifest: -f FILE\n${USAGE}`);
  if (args.positionals.length > 0) throw new UsageError(`explain takes no arguments besides flags: ${args.positionals.join(' ')}\n${USAGE}`);
  const output = stringFlag(args, 'output');
  if (output !== undefined && output !== 'json' && output !== 'yaml') {
    throw new UsageError(`unable to match a printer suitable for the output format "${output}", allowed formats are: json,yaml`);
  }
  const { pods, warnings } = readPodFile(file, { strict: args.flags.has('strict') });
  for (const w of warnings) process.stderr.write(`${formatIssue(w, file)}\n`);
  const pauseBinary = stringFlag(args, 'pod-infra-binary');
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const explained = pods.map((pod) => explainPod(pod, { paths, ...(pauseBinary ? { pauseBinary } : {}) }));
  if (output) {
    const value = explained.length === 1 ? explained[0] : { apiVersion: 'v1', kind: 'List', items: explained };
    process.stdout.write(serialize(value, output));
  } else {
    process.stdout.write(explained.map(renderExplanation).join('\n'));
  }
  const failed = explained.flatMap((e) => e.processes.filter((p) => p.error !== undefined).map((p) => `${e.metadata.name}/${p.name}`));
  if (failed.length > 0) {
    process.stderr.write(`peapod: cannot plan ${failed.join(', ')}: \`peapod run\` would refuse this pod\n`);
    return 1;
  }
  return 0;
}

export const explainCommand: Command = {
  name: 'explain',
  synopsis: 'peapod explain -f pod.yaml [-o json]',
  summary: 'the system calls that would make the pod, without running it',
  help: `${USAGE}

Prints the spawn plan of pause and of every container of the pod: the
namespaces clone() creates and those joined from pause, then every step
the cloned child takes, in order (mounts with their flags, pivot_root,
hostname, capabilities and ids, exec with its argv and env). These are
the plans \`peapod run\` hands to the kernel; nothing is run here, and
no root is needed. What only a running pod knows is a placeholder, such
as <pause pid>.

  -f, --filename FILE        the Pod manifest (YAML or JSON)
  -o, --output json|yaml     the plans as data
  --root DIR                 the state root the paths are shown under (default /run/peapod; $PEAPOD_ROOT)
  --pod-infra-binary PATH    the pause binary
  --strict                   refuse fields peapod does not implement instead of warning`,
  run,
};
