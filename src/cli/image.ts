// `peapod image prune`: what no image and no pod needs: untagged images
// (every unused one with --all), the layers only they held, and what killed
// pulls left in the staging area.
import { ImageStore } from '../image/store.js';
import { runtimePaths } from '../runtime/paths.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { imagesInUse } from '../node/images-in-use.js';
import { bytes } from './progress.js';

const USAGE = 'usage: peapod image prune [--all] [--root DIR]';

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { root: { value: true }, all: { value: false, alias: 'a' } });
  const [sub, ...rest] = args.positionals;
  if (sub !== 'prune' || rest.length > 0) throw new UsageError(USAGE);
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const store = new ImageStore(paths.images);
  if (!store.layout.exists()) {
    process.stdout.write('Total reclaimed space: 0B\n');
    return 0;
  }
  const inUse = imagesInUse(paths);
  let freed = 0;
  for (const image of store.list()) {
    if (inUse.has(image.id)) continue;
    if (image.repoTags.length > 0 && !args.flags.has('all')) continue;
    freed += store.removeImage(image.id).bytes;
    process.stdout.write(`Deleted: ${image.id}\n`);
  }
  freed += store.removeUnusedLayers().bytes;
  store.layout.removeDeadLeftovers();
  process.stdout.write(`Total reclaimed space: ${bytes(freed)}\n`);
  return 0;
}

export const imageCommand: Command = {
  name: 'image',
  synopsis: 'peapod image prune [--all]',
  summary: 'remove untagged images (--all: every image no pod uses) and unused layers',
  help: `${USAGE}

Removes images with no name left (with --all, every image no running pod
uses), then every layer no image needs, and what killed pulls left behind.`,
  run,
};
