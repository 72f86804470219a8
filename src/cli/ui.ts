// `peapod ui`: the pods in a browser, live. A small read-only web server on
// 127.0.0.1 with a random token in its URL; it runs until Ctrl-C.
import { join } from 'node:path';
import { packageRoot } from '../package.js';
import { runtimePaths } from '../runtime/paths.js';
import { listStoredPods } from '../node/store.js';
import { startUiServer } from '../ui/server.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';

const USAGE = 'usage: peapod ui [--port N] [--root DIR]';

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { port: { value: true }, root: { value: true } });
  if (args.positionals.length > 0) throw new UsageError(`ui takes no arguments besides flags: ${args.positionals.join(' ')}\n${USAGE}`);
  const portText = stringFlag(args, 'port') ?? '0';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--port ${portText}: a TCP port is a whole number from 0 to 65535 (0: any free one)`);
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  // Says now, not in the page, when this user may not read the pods (they are root's).
  listStoredPods(paths);
  const server = await startUiServer({ paths, port, staticDir: join(packageRoot, 'src', 'ui', 'static') });
  process.stdout.write(`peapod ui: open ${server.url}\n(loopback only, read-only; the token in the URL is the key: Ctrl-C stops it)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}

export const uiCommand: Command = {
  name: 'ui',
  synopsis: 'peapod ui [--port N]',
  summary: 'the pods in a browser: status, figures, kernel steps, logs',
  help: `${USAGE}

Serves a small web page on 127.0.0.1 (never another address) at a URL
that holds a random token, printed at start: open it in a browser on
this host. The page lists the pods with their status as it changes, and
draws the chosen pod's figure from /proc (the same as inspect -o svg);
a click on a process shows its namespace inodes, the kernel steps that
made it (as explain prints them) and its container's log, following.
Read-only: nothing on the page changes a pod. Runs until Ctrl-C.

  --port N     the port (default 0: any free one)
  --root DIR   state root (default /run/peapod; $PEAPOD_ROOT)`,
  run,
};
