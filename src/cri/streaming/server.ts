// The streaming server: what the URLs that Exec, Attach and PortForward
// return point to, as the kubelet's own streaming server does it. An HTTP
// server on loopback; each request is cached under a random single-use
// token for a minute; a client upgrades its connection at that URL to SPDY
// or to WebSocket, and the channels carry the command or the ports.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RuntimeService } from '../../runtime/runtime-service.js';
import {
  acceptSpdy,
  ChannelError,
  negotiate,
  PORT_FORWARD_PROTOCOL,
  SPDY_COMMAND_PROTOCOLS,
  spdyCommandChannels,
  spdyOffered,
  wsCommandChannels,
  type CommandChannels,
  type StreamOptions,
} from './channels.js';
import { servePortForwardSpdy, servePortForwardWebSocket } from './port-forward.js';
import { serveAttach, serveExec } from './remote-command.js';
import { isWebSocketUpgrade, offeredProtocols } from './websocket.js';

export type StreamRequest =
  | { kind: 'exec'; containerId: string; cmd: string[]; options: StreamOptions }
  | { kind: 'attach'; containerId: string; options: StreamOptions }
  | { kind: 'portforward'; podSandboxId: string; ports: number[] };

/** How long a URL stays valid (the kubelet's streaming cache TTL). */
const TOKEN_TTL_MS = 60_000;
const WS_PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io', PORT_FORWARD_PROTOCOL];

function refuse(socket: Socket, status: number, message: string): void {
  const reason = status === 404 ? 'Not Found' : status === 400 ? 'Bad Request' : status === 403 ? 'Forbidden' : 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message) + 1}\r\nConnection: close\r\n\r\n${message}\n`);
}

export class StreamingServer {
  private readonly server: Server;
  private readonly cache = new Map<string, { request: StreamRequest; expires: NodeJS.Timeout }>();
  private readonly sockets = new Set<Socket>();
  private base = '';

  constructor(private readonly runtime: RuntimeService) {
    this.server = createServer((req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('this URL needs a connection upgrade: SPDY/3.1 or websocket, as a Kubernetes streaming client makes\n');
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Listens on `address` (loopback unless told otherwise); port 0 picks a free one. */
  listen(address = '127.0.0.1', port = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, address, () => {
        const a = this.server.address() as AddressInfo;
        this.base = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
        resolve(this.base);
      });
    });
  }

  /** The URL a client upgrades at, valid once, for a minute. */
  register(request: StreamRequest): string {
    const token = randomBytes(18).toString('base64url');
    const expires = setTimeout(() => this.cache.delete(token), TOKEN_TTL_MS);
    expires.unref();
    this.cache.set(token, { request, expires });
    return `${this.base}/${request.kind}/${token}`;
  }

  close(): Promise<void> {
    for (const { expires } of this.cache.values()) clearTimeout(expires);
    this.cache.clear();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/.exec(path);
    const cached = m ? this.cache.get(m[2] as string) : undefined;
    if (!m || !cached || cached.request.kind !== m[1]) return refuse(socket, 404, 'unknown or expired streaming URL: ask the runtime again (Exec, Attach, PortForward)');
    this.cache.delete(m[2] as string);
    clearTimeout(cached.expires);
    const request = cached.request;
    const ws = isWebSocketUpgrade(req);
    if (!ws && (req.headers.upgrade ?? '').toLowerCase() !== 'spdy/3.1') return refuse(socket, 400, `unsupported upgrade ${JSON.stringify(req.headers.upgrade ?? '')}: use SPDY/3.1 or websocket`);
    if (request.kind === 'portforward') {
      const target = { netns: () => `/proc/${this.runtime.pauseOf(request.podSandboxId).pid}/ns/net` };
      try {
        target.netns();
      } catch (err) {
        return refuse(socket, 404, (err as Error).message);
      }
      if (ws) {
        const protocol = negotiate(offeredProtocols(req), WS_PORT_FORWARD_PROTOCOLS) ?? '';
        return servePortForwardWebSocket(req, socket, head, target, protocol);
      }
      const offered = spdyOffered(req);
      if (offered.length > 0 && !offered.includes(PORT_FORWARD_PROTOCOL)) return refuse(socket, 403, `unable to negotiate protocol: client supports ${offered.join(', ')}, server supports ${PORT_FORWARD_PROTOCOL}`);
      acceptSpdy(socket, offered.length > 0 ? PORT_FORWARD_PROTOCOL : '');
      return servePortForwardSpdy(socket, target);
    }
    void this.command(request, req, socket, head, ws);
  }

  private async command(request: Extract<StreamRequest, { kind: 'exec' | 'attach' }>, req: IncomingMessage, socket: Socket, head: Buffer, ws: boolean): Promise<void> {
    let channels: CommandChannels;
    if (ws) {
      channels = wsCommandChannels(req, socket, head);
    } else {
      const offered = spdyOffered(req);
      const protocol = offered.length === 0 ? '' : negotiate(offered, SPDY_COMMAND_PROTOCOLS);
      if (protocol === undefined) return refuse(socket, 403, `unable to negotiate protocol: client supports ${offered.join(', ')}, server supports ${SPDY_COMMAND_PROTOCOLS.join(', ')}`);
      acceptSpdy(socket, protocol);
      if (head.length > 0) socket.unshift(head);
      try {
        channels = await spdyCommandChannels(socket, protocol, request.options);
      } catch (err) {
        if (!(err instanceof ChannelError)) throw err;
        return;
      }
    }
    try {
      if (request.kind === 'exec') await serveExec(this.runtime, request.containerId, request.cmd, request.options, channels);
      else await serveAttach(this.runtime, request.containerId, request.options, channels);
    } catch (err) {
      process.stderr.write(`peapod cri: ${request.kind} in container ${request.containerId.slice(0, 12)}: ${(err as Error).message}\n`);
      channels.close();
    }
  }
}
