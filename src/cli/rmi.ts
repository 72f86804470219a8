// `peapod rmi IMAGE...`: untags a name; an image left with no tag, or named
// by its ID, is removed with the layers nothing else uses. An image a live
// pod uses stays unless --force (the pod keeps its mounted layers anyway).
import { loadRegistriesConf } from '../image/registries-conf.js';
import { ImageStore } from '../image/store.js';
import { runtimePaths } from '../runtime/paths.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { imagesInUse } from '../node/images-in-use.js';

const USAGE = 'usage: peapod rmi IMAGE... [--force] [--root DIR]';

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { root: { value: true }, force: { value: false, alias: 'f' } });
  if (args.positionals.length === 0) throw new UsageError(`rmi needs an image\n${USAGE}`);
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const store = new ImageStore(paths.images);
  const search = loadRegistriesConf().search;
  const inUse = imagesInUse(paths);
  let failed = 0;
  for (const text of args.positionals) {
    const ref = store.lookupRef(text, search);
    const record = ref ? store.layout.image(ref.id) : store.lookup(text, { prefix: true, search });
    if (!record) {
      process.stderr.write(`peapod: image "${text}" not found in ${paths.images}\n`);
      failed++;
      continue;
    }
    const tags = store.tagsOf(record.id).repoTags;
    // A name with other names left: only the name goes.
    if (ref && tags.length > 1 && tags.includes(ref.key)) {
      store.layout.removeRef(ref.key);
      process.stdout.write(`Untagged: ${ref.key}\n`);
      continue;
    }
    const pod = inUse.get(record.id);
    if (pod && !args.flags.has('force')) {
      process.stderr.write(`peapod: image "${text}" (${record.id}) is used by pod ${pod}; delete the pod first, or --force\n`);
      failed++;
      continue;
    }
    for (const t of tags) process.stdout.write(`Untagged: ${t}\n`);
    const freed = store.removeImage(record.id);
    process.stdout.write(`Deleted: ${record.id}${freed.layers > 0 ? ` (${freed.layers} layer${freed.layers === 1 ? '' : 's'})` : ''}\n`);
  }
  return failed > 0 ? 1 : 0;
}

export const rmiCommand: Command = {
  name: 'rmi',
  synopsis: 'peapod rmi IMAGE... [--force]',
  summary: 'remove images (by name, tag, digest or ID) and the layers only they used',
  help: `${USAGE}

Removes a name; an image left with no name, or named by its ID (or a unique
prefix of it), is removed from the store with every layer no other image
uses. An image a running pod uses is kept unless --force.`,
  run,
};
