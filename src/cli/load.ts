// `peapod load -i FILE`: images from a docker save archive, an OCI archive
// or an OCI layout directory into the store.
import { loadArchive } from '../image/archive.js';
import { prepareRoots, runtimePaths } from '../runtime/paths.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';

const USAGE = 'usage: peapod load -i FILE [--root DIR]';

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { root: { value: true }, input: { value: true, alias: 'i' } });
  const file = stringFlag(args, 'input') ?? args.positionals[0];
  if (!file || args.positionals.length > (stringFlag(args, 'input') ? 0 : 1)) throw new UsageError(`load needs one file: -i FILE\n${USAGE}`);
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  prepareRoots(paths);
  const loaded = await loadArchive(paths.images, file);
  for (const image of loaded) {
    process.stdout.write(image.names.length > 0 ? image.names.map((n) => `Loaded image: ${n}\n`).join('') : `Loaded image ID: ${image.id}\n`);
  }
  return 0;
}

export const loadCommand: Command = {
  name: 'load',
  synopsis: 'peapod load -i FILE',
  summary: 'load images from a docker save archive, an OCI archive or an OCI layout',
  help: `${USAGE}

Loads every image of FILE into the store: a \`docker save\` archive
(gzip-compressed or not), an OCI archive (\`skopeo copy ... oci-archive:FILE\`)
or an OCI layout directory. Each blob is checked against its digest, each
layer against its diffID; layers already in the store are kept.`,
  run,
};
