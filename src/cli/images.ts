// `peapod images`: the store's images, as `podman images` lists them.
import { ImageStore, type ImageSummary } from '../image/store.js';
import { runtimePaths } from '../runtime/paths.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { age, serialize, table } from './format.js';
import { bytes } from './progress.js';

const USAGE = 'usage: peapod images [-q] [--digests] [-o json|yaml] [--root DIR]';

/** One row per tag (an untagged image is <none> <none>). */
function rows(images: ImageSummary[], digests: boolean): string[][] {
  const out: string[][] = [];
  for (const i of images.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''))) {
    const tags = i.repoTags.length > 0 ? i.repoTags : ['<none>:<none>'];
    for (const t of tags) {
      const colon = t.lastIndexOf(':');
      const repo = t.slice(0, colon);
      const digest = i.repoDigests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>';
      out.push([repo, t.slice(colon + 1), ...(digests ? [digest] : []), i.id.slice(7, 19), i.created ? `${age(i.created)} ago` : '<unknown>', bytes(i.size)]);
    }
  }
  return out;
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { root: { value: true }, quiet: { value: false, alias: 'q' }, digests: { value: false }, output: { value: true, alias: 'o' } });
  if (args.positionals.length > 0) throw new UsageError(USAGE);
  const store = new ImageStore(runtimePaths({ root: stringFlag(args, 'root') }).images);
  const images = store.list();
  const output = stringFlag(args, 'output');
  if (output === 'json' || output === 'yaml') {
    process.stdout.write(serialize(images, output));
    return 0;
  }
  if (output !== undefined) throw new UsageError(`-o ${output}: json or yaml\n${USAGE}`);
  if (args.flags.has('quiet')) {
    for (const i of images) process.stdout.write(`${i.id.slice(7, 19)}\n`);
    return 0;
  }
  const digests = args.flags.has('digests');
  process.stdout.write(`${table(['REPOSITORY', 'TAG', ...(digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'], rows(images, digests))}\n`);
  return 0;
}

export const imagesCommand: Command = {
  name: 'images',
  synopsis: 'peapod images [-q] [--digests] [-o json]',
  summary: 'list the images in the store',
  help: `${USAGE}

Lists the images of the store: repository, tag, image ID (its config's
digest), when it was built, its size on disk. An image with no tag left is
<none>.

  -q, --quiet    image IDs only
  --digests      the digest each name was pulled by
  -o json|yaml   every image with its RepoTags, RepoDigests, size, layers`,
  run,
};
