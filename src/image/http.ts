// The little HTTP a registry needs, over node:http and node:https: one
// request at a time with an idle timeout, TLS verification unless the
// registry is configured insecure, no automatic redirects (the caller
// follows them and decides what credentials go along), bounded bodies.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
}

export interface RequestOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Accept a certificate that does not verify (registries.conf insecure = true). */
  insecureTls?: boolean;
  /** No byte for this long: the request fails (default 30 s, or PEAPOD_PULL_TIMEOUT seconds). */
  idleMs?: number;
  signal?: AbortSignal;
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 8 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 8 }),
  insecure: new HttpsAgent({ keepAlive: true, maxSockets: 8, rejectUnauthorized: false }),
};

export function idleTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.PEAPOD_PULL_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 30_000;
}

export function request(url: URL, opts: RequestOptions = {}): Promise<HttpResponse> {
  const https = url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  const agent = https ? (opts.insecureTls ? agents.insecure : agents.https) : agents.http;
  const idle = opts.idleMs ?? idleTimeoutMs();
  return new Promise((resolve, reject) => {
    const req = send(url, { method: opts.method ?? 'GET', headers: { 'User-Agent': 'peapod', ...opts.headers }, agent, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    req.setTimeout(idle, () => req.destroy(new HttpError(`${url.host}: no answer for ${idle / 1000} s`, 'ETIMEDOUT')));
    req.on('error', (err: NodeJS.ErrnoException) => reject(err instanceof HttpError ? err : new HttpError(`${url.host}: ${describeNetError(err)}`, err.code)));
    req.end();
  });
}

function describeNetError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host (DNS lookup failed)';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return err.message;
  }
}

/** Reads a whole body, refusing one over `limit` bytes (before reading it when the length is announced). */
export async function readBody(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const announced = Number(res.headers['content-length']);
  if (Number.isFinite(announced) && announced > limit) {
    res.body.destroy();
    throw new HttpError(`${what} is ${announced} bytes, over the limit of ${limit}`, 'ETOOBIG');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      res.body.destroy();
      throw new HttpError(`${what} is over the limit of ${limit} bytes`, 'ETOOBIG');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Discards a body we do not need (so the connection can be reused). */
export function discard(res: HttpResponse): void {
  res.body.resume();
}
