// `peapod pull IMAGE`: an image into the store, as `podman pull` does it:
// progress per layer on stderr (a bar on a terminal), the image ID on
// stdout at the end.
import { pullImage } from '../image/pull.js';
import { prepareRoots, runtimePaths } from '../runtime/paths.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { bytes, progressView } from './progress.js';

const USAGE = 'usage: peapod pull IMAGE [--quiet] [--root DIR]';

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { root: { value: true }, quiet: { value: false, alias: 'q' } });
  const [image, ...extra] = args.positionals;
  if (!image || extra.length > 0) throw new UsageError(`pull takes one image\n${USAGE}`);
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  prepareRoots(paths);
  const quiet = args.flags.has('quiet');
  const view = quiet ? undefined : progressView(process.stderr);
  const result = await pullImage(paths.images, image, {
    ...(view ? { onProgress: (p) => view.update(p) } : {}),
    ...(quiet ? {} : { onResolved: (r) => process.stderr.write(`Pulling ${r.ref} from ${r.host} (${r.layers} layer${r.layers === 1 ? '' : 's'})\n`) }),
  });
  view?.end();
  if (!quiet) {
    process.stderr.write(`Pulled ${result.ref}: ${result.fetched} layer${result.fetched === 1 ? '' : 's'} fetched (${bytes(result.bytes)}), ${result.present} already here, in ${result.seconds.toFixed(1)}s\n`);
  }
  process.stdout.write(`${result.id}\n`);
  return 0;
}

export const pullCommand: Command = {
  name: 'pull',
  synopsis: 'peapod pull IMAGE',
  summary: 'pull an image from its registry (registries.conf: mirrors, insecure, search)',
  help: `${USAGE}

Pulls IMAGE (nginx means docker.io/library/nginx:latest; a tag or @sha256:
digest may follow) over the registry API, as podman does: registries.conf
(/etc/containers/registries.conf, or $CONTAINERS_REGISTRIES_CONF) sends a
registry to a mirror or a local location; credentials come from
$REGISTRY_AUTH_FILE, containers' auth.json or ~/.docker/config.json.
Layers already in the store are not fetched again. Prints the image ID.

  -q, --quiet   no progress, only the image ID`,
  run,
};
