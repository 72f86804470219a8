// The servers `peapod daemon` starts on its shared runtime once it holds its
// pods, beside its own socket: the CRI server (issue 15), on
// <state root>/cri.sock. Its sandboxes are the daemon's like its own pods:
// they outlive it and the next daemon adopts them (daemon.ts saves them
// under daemon/sandboxes/). Each server is closed when the daemon stops,
// never its pods.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package.js';
import type { DaemonServer } from './daemon.js';

/** The CRI server's settings, as `peapod daemon` (or `peapod cri`) is given them. */
export interface CriSettings {
  /** The gRPC socket (default `<state root>/cri.sock`). */
  socket?: string;
  /** The sandbox image (containerd's sandbox_image): unset, $PEAPOD_SANDBOX_IMAGE, else peapod's own pause. */
  sandboxImage?: string;
  /** The streaming server's port on 127.0.0.1 (default: any free one). */
  streamingPort?: number;
}

function criServer(settings: CriSettings): DaemonServer {
  // Loaded here: the CLI's other commands never load gRPC.
  const load = async (): Promise<typeof import('../cri/server.js')> => {
    const [server, { loadCri }] = await Promise.all([import('../cri/server.js'), import('../cri/grpc.js')]);
    loadCri();
    return server;
  };
  const start: DaemonServer = async ({ runtime, paths, say }) => {
    const { startCriServer } = await load();
    const sandboxImage = settings.sandboxImage ?? process.env.PEAPOD_SANDBOX_IMAGE;
    const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const server = await startCriServer({
      runtime,
      paths,
      ...(settings.socket ? { socket: settings.socket } : {}),
      ...(sandboxImage ? { sandboxImage } : {}),
      streaming: { port: settings.streamingPort ?? 0 },
      version,
    });
    say(`serving the CRI (runtime.v1) on unix://${server.socket}, streaming on ${server.streamingUrl}`);
    return server;
  };
  start.prepare = async () => void (await load());
  return start;
}

export function daemonServers(cri: CriSettings = {}): DaemonServer[] {
  return [criServer(cri)];
}
