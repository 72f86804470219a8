// `peapod cri`: the Container Runtime Interface for one state root, in the
// foreground: Kubernetes' kubelet, crictl and critest drive peapod through
// <state root>/cri.sock. Until the node daemon hosts this server, the pods
// it makes live as long as this process: Ctrl-C (or SIGTERM) removes them
// all, and a start after a crash reclaims what a killed one left.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { reclaimNetworks } from '../network/pod-network.js';
import { packageRoot } from '../package.js';
import { prepareRoots, runtimePaths, type RuntimePaths } from '../runtime/paths.js';
import { unmountPodDir } from '../runtime/pod-files.js';
import { RuntimeService } from '../runtime/runtime-service.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';

const USAGE = 'usage: peapod cri [--socket PATH] [--sandbox-image IMAGE] [--streaming-port N] [--root DIR]';

/** What a killed `peapod cri` left of its pods: their network attachments, then their directories. */
async function reclaim(paths: RuntimePaths): Promise<void> {
  for (const failure of await reclaimNetworks(paths)) process.stderr.write(`peapod cri: ${failure}\n`);
  removeCriDirectories(paths);
}

/** The CRI's pod directories (/dev/shm mounts first): none of them is in use when this runs. */
function removeCriDirectories(paths: RuntimePaths): void {
  for (const root of new Set([join(paths.state, 'pods'), join(paths.data, 'pods')])) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).filter((n) => n.startsWith('.cri-'))) {
      const dir = join(root, name);
      unmountPodDir(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { socket: { value: true }, 'sandbox-image': { value: true }, 'streaming-port': { value: true }, root: { value: true } });
  if (args.positionals.length > 0) throw new UsageError(`cri takes no arguments besides flags: ${args.positionals.join(' ')}\n${USAGE}`);
  const portText = stringFlag(args, 'streaming-port') ?? '0';
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new UsageError(`--streaming-port ${portText}: a TCP port is a whole number from 0 to 65535 (0: any free one)`);
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  prepareRoots(paths);
  await reclaim(paths);
  // The kubelet rotates CRI logs itself (ReopenContainerLog): the runtime's own rotation would race it.
  const runtime = new RuntimeService({
    paths,
    logRotation: { maxBytes: Number.MAX_SAFE_INTEGER, maxFiles: 2 },
    // What goes wrong with a sandbox's network is said where an operator looks: this process's stderr.
    onSandboxEvent: (id, type, reason, message) => {
      if (type === 'Warning') process.stderr.write(`peapod cri: pod sandbox ${id.slice(0, 12)}: ${reason}: ${message}\n`);
    },
  });
  const { startCriServer } = await import('../cri/server.js');
  const sandboxImage = stringFlag(args, 'sandbox-image') ?? process.env.PEAPOD_SANDBOX_IMAGE;
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const server = await startCriServer({
    runtime,
    paths,
    ...(stringFlag(args, 'socket') ? { socket: stringFlag(args, 'socket') as string } : {}),
    ...(sandboxImage ? { sandboxImage } : {}),
    streaming: { port: Number(portText) },
    version,
  });
  process.stdout.write(`peapod cri: serving runtime.v1 on unix://${server.socket} (streaming on ${server.streamingUrl}); Ctrl-C stops it and removes its pods\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  for (const s of runtime.listPodSandbox()) {
    await runtime.removePodSandbox(s.id).catch((err: Error) => process.stderr.write(`peapod cri: removing pod sandbox ${s.id.slice(0, 12)}: ${err.message}\n`));
  }
  removeCriDirectories(paths);
  runtime.close();
  return 0;
}

export const criCommand: Command = {
  name: 'cri',
  synopsis: 'peapod cri [--socket PATH]',
  summary: "serve the CRI (runtime.v1) for the kubelet, crictl and critest",
  help: `${USAGE}

Serves Kubernetes' Container Runtime Interface, runtime.v1 RuntimeService
and ImageService, over gRPC on a unix socket only root can use:
<state root>/cri.sock (/run/peapod/cri.sock by default). A kubelet runs
pods through it with --container-runtime-endpoint=unix:///run/peapod/cri.sock,
and crictl talks to it with --runtime-endpoint the same. Exec, attach and
port-forward URLs point to a streaming server on 127.0.0.1 (SPDY/3.1 and
WebSocket). Runs in the foreground; Ctrl-C or SIGTERM removes its pods and
stops it.

  --socket PATH          the gRPC socket (default <state root>/cri.sock)
  --sandbox-image IMAGE  the sandbox's program: that image's entrypoint, a static
                         binary (default: peapod's own pause; $PEAPOD_SANDBOX_IMAGE)
  --streaming-port N     the streaming server's port on 127.0.0.1 (default: any free one)
  --root DIR             state root (default /run/peapod; $PEAPOD_ROOT)`,
  run,
};
