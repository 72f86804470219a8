// `peapod ui`'s web server: loopback only, read-only, and every URL holds a
// random token (as Jupyter's does), so another user of this host, or a web
// page in the browser, cannot read the pods through it. The token is the
// first path segment (http://127.0.0.1:PORT/TOKEN/), so the page's relative
// URLs carry it without a cookie. A Host header other than the loopback
// address is refused (a DNS rebinding page would send its own name).
// Plain files from static/, the figure from the same renderer as
// `inspect -o svg`, live updates as server-sent events.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspectPod, PodNotRunningError } from '../node/inspect.js';
import type { RuntimePaths } from '../runtime/paths.js';
import { PodNotFoundError, StateAccessError } from '../node/store.js';
import { explainSteps, followLog, podSummaries, UnknownContainerError, type LogEvent } from './api.js';
import { StateRootPoller, type PodChangeSource } from './changes.js';
import { podSvg } from './svg.js';

export const LOOPBACK = '127.0.0.1';

export interface UiServerOptions {
  paths: RuntimePaths;
  /** 0 (the default): any free port. */
  port?: number;
  /** Where index.html, app.js and app.css are. */
  staticDir: string;
  /** Defaults to watching the state root. */
  changes?: PodChangeSource;
  /** Given by tests; a fresh random one otherwise. */
  token?: string;
}

export interface UiServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const STATIC: Record<string, string> = {
  '': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

const SECURITY_HEADERS = {
  // Only this server's own script and style; no inline script, no frames, no other origin.
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  // The token is in the URL: never sent on to anyone.
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
} as const;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);
}

/** A server-sent events stream: `event` and one line of JSON `data` each. */
function openStream(req: IncomingMessage, res: ServerResponse, onClose: () => void): (event: string, data: unknown) => void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
  res.write(': peapod\n\n');
  // A comment now and then keeps proxies and the browser from giving up on a quiet stream.
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(ping);
    onClose();
  });
  return (event, data) => {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The errors a user can act on become answers; anything else is a 500 with its message. */
function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof PodNotFoundError || err instanceof UnknownContainerError) return 404;
  if (err instanceof PodNotRunningError) return 409;
  if (err instanceof StateAccessError) return 403;
  return 500;
}

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const changes = options.changes ?? new StateRootPoller(options.paths);
  const files = new Map(Object.keys(STATIC).map((f) => [f, readFileSync(join(options.staticDir, f || 'index.html'), 'utf8')]));
  const streams = new Set<ServerResponse>();
  let port = 0;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.headers.host !== `${LOOPBACK}:${port}` && req.headers.host !== `localhost:${port}`) {
      throw new HttpError(403, `peapod ui answers only at http://${LOOPBACK}:${port}/`);
    }
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${port}`);
    const [first, ...rest] = url.pathname.split('/').slice(1);
    // Without the token, nothing here exists.
    if (first === undefined || !sameToken(decodeURIComponent(first), token)) throw new HttpError(404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'peapod ui is read-only');
    if (rest.length === 0) {
      // /TOKEN -> /TOKEN/, so the page's relative URLs resolve under the token.
      res.writeHead(308, { ...SECURITY_HEADERS, Location: `/${token}/` }).end();
      return;
    }
    const path = rest.map(decodeURIComponent);
    const page = path.join('/');
    const type = STATIC[page];
    if (type !== undefined) return send(res, 200, type, files.get(page) ?? '');
    if (page === 'api/pods') return sendJson(res, podSummaries(options.paths));
    if (page === 'events') {
      streams.add(res);
      let last = '';
      let unsubscribe = (): void => {};
      const emit = openStream(req, res, () => {
        unsubscribe();
        streams.delete(res);
      });
      const push = (): void => {
        try {
          const now = JSON.stringify(podSummaries(options.paths));
          if (now !== last) emit('pods', JSON.parse(now));
          last = now;
        } catch (err) {
          emit('failure', { message: (err as Error).message });
        }
      };
      unsubscribe = changes.subscribe(push);
      push();
      return;
    }
    if (path[0] === 'api' && path[1] === 'pods' && path[2] && path.length === 4) {
      const name = path[2];
      switch (path[3]) {
        case 'figure.svg':
          return send(res, 200, 'image/svg+xml; charset=utf-8', podSvg(inspectPod(options.paths, name)));
        case 'inspect':
          return sendJson(res, inspectPod(options.paths, name));
        case 'explain':
          return sendJson(res, explainSteps(options.paths, name));
        case 'logs': {
          const container = url.searchParams.get('container') ?? '';
          // The first lines come before the stream is open (an unknown container throws first: a 404).
          const pending: LogEvent[] = [];
          let emit: ((event: string, data: unknown) => void) | null = null;
          const deliver = (e: LogEvent): void => {
            if (!emit) return void pending.push(e);
            emit(e.type, e);
            if (e.type === 'end') res.end();
          };
          const stop = followLog(options.paths, name, container, deliver);
          streams.add(res);
          emit = openStream(req, res, () => {
            stop();
            streams.delete(res);
          });
          for (const e of pending.splice(0)) deliver(e);
          return;
        }
      }
    }
    throw new HttpError(404, 'not found');
  };

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (res.headersSent) return void res.end();
      send(res, statusOf(err), 'text/plain; charset=utf-8', `${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${LOOPBACK}:${port}/${token}/`,
    port,
    token,
    close: async () => {
      changes.close();
      for (const res of streams) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
