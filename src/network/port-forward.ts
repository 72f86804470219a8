// Port forwarding as kubectl port-forward does it through the CRI: a
// listener on the host's loopback, and for each connection a socket made
// inside the pod's network namespace (the addon switches one thread there
// and back), connected to the port on the pod's localhost, and the bytes
// copied both ways. The runtime's own namespaces never change.
import { createServer, Socket, type Server } from 'node:net';
import { socketInNetns } from '../native/addon.js';

export interface PortPair {
  /** 0: any free port (kubectl's ":REMOTE"). */
  local: number;
  remote: number;
}

export class PortSpecError extends Error {
  override name = 'PortSpecError';
}

function port(text: string, what: string, spec: string, zeroOk: boolean): number {
  if (!/^\d+$/.test(text)) throw new PortSpecError(`"${spec}": the ${what} port must be a number, like 8080:80`);
  const n = Number(text);
  if ((n === 0 && !zeroOk) || n > 65535) throw new PortSpecError(`"${spec}": the ${what} port must be between ${zeroOk ? 0 : 1} and 65535`);
  return n;
}

/** `[LOCAL:]REMOTE`, as kubectl reads it: `80`, `8080:80`, `:80` (any local port). */
export function parsePortPair(spec: string): PortPair {
  const parts = spec.split(':');
  if (parts.length === 1) {
    const remote = port(parts[0] ?? '', 'remote', spec, false);
    return { local: remote, remote };
  }
  if (parts.length !== 2) throw new PortSpecError(`"${spec}": write [LOCAL:]REMOTE, like 8080:80 or :80`);
  const [local = '', remote = ''] = parts;
  return { local: local === '' ? 0 : port(local, 'local', spec, true), remote: port(remote, 'remote', spec, false) };
}

export interface ForwardListener {
  address: string;
  port: number;
  remote: number;
}

export interface ForwarderEvents {
  /** Where each connection goes: the path of the pod's network namespace now (pause may have been replaced). */
  netnsPath(): string;
  onConnection?(pair: ForwardListener): void;
  onError?(pair: ForwardListener, err: Error): void;
}

/** Connects to `port` on the pod's localhost, IPv4 first, then IPv6. */
export function connectInPod(netns: string, port: number): Promise<Socket> {
  const attempt = (family: 4 | 6): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = new Socket({ fd: socketInNetns(netns, family) });
      socket.once('error', (err) => {
        socket.destroy();
        reject(err);
      });
      socket.connect(port, family === 4 ? '127.0.0.1' : '::1', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
    });
  return attempt(4).catch((err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? attempt(6).catch(() => Promise.reject(err)) : Promise.reject(err)));
}

export class Forwarder {
  readonly listeners: ForwardListener[] = [];
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(private readonly events: ForwarderEvents) {}

  /** Listens on `address` for `pair`; resolves with the port it got. */
  listen(address: string, pair: PortPair): Promise<ForwardListener> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => this.forward(client, listener));
      const listener: ForwardListener = { address, port: pair.local, remote: pair.remote };
      server.once('error', reject);
      server.listen({ host: address, port: pair.local, exclusive: true }, () => {
        server.removeListener('error', reject);
        const bound = server.address();
        listener.port = typeof bound === 'object' && bound ? bound.port : pair.local;
        this.servers.push(server);
        this.listeners.push(listener);
        resolve(listener);
      });
    });
  }

  private forward(client: Socket, listener: ForwardListener): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    this.events.onConnection?.(listener);
    let netns: string;
    try {
      netns = this.events.netnsPath();
    } catch (err) {
      this.events.onError?.(listener, err as Error);
      client.destroy();
      return;
    }
    connectInPod(netns, listener.remote).then(
      (upstream) => {
        this.sockets.add(upstream);
        upstream.on('close', () => {
          this.sockets.delete(upstream);
          client.end();
        });
        upstream.on('error', () => upstream.destroy());
        client.on('close', () => upstream.end());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      },
      (err: Error) => {
        this.events.onError?.(listener, err);
        client.destroy();
      },
    );
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
