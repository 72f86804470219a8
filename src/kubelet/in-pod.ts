// What hooks and probes do inside a pod: a command in the container (the
// runtime's ExecSync) and connections from the pod's network namespace (a
// socket made there by the addon), with a named port resolved from the
// container's spec. hooks.ts and prober/handlers.ts say what the answers mean.
import http from 'node:http';
import { Socket } from 'node:net';
import { socketInNetns } from '../native/addon.js';
import type { ExecSyncResponse } from '../runtime/api.js';
import type { RuntimeApi } from '../runtime/runtime-service.js';
import type { Container, HTTPGetAction } from '../manifest/types.js';

/** The container something runs for: its runtime container, its spec (named ports), and the pod's network. */
export interface InPodContext {
  runtime: RuntimeApi;
  containerId: string;
  container: Container;
  /** A path to the pod's network namespace (pause's); null: this process's own (unit tests). */
  netns: string | null;
  /** Where a probe connects when it names no host: the pod's IP (the kubelet's default); else 127.0.0.1. */
  podIP?: string | undefined;
}

/** A port by number, or by the name of one of the container's ports. */
export function resolvePort(container: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`port "${port}" is not a named port of container "${container.name}"`);
  return named.containerPort;
}

/** A TCP socket, not yet connected, in the pod's network namespace. */
export function podSocket(ctx: InPodContext, host: string): Socket {
  if (ctx.netns === null) return new Socket();
  return new Socket({ fd: socketInNetns(ctx.netns, host.includes(':') ? 6 : 4) });
}

/** `host:port`, with an IPv6 address in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Runs a command in the container; its output (stdout then stderr) is returned, never logged. */
export async function execInContainer(
  ctx: InPodContext,
  label: string,
  argv: string[],
  timeoutMs: number,
  limit: number,
  abort?: AbortSignal,
): Promise<{ response: ExecSyncResponse; output: string }> {
  let response: ExecSyncResponse;
  try {
    response = await ctx.runtime.execSync(ctx.containerId, argv, Math.max(timeoutMs, 1) / 1000, abort, label);
  } catch (err) {
    // Not running any more, or being killed: it could not start.
    const none = Buffer.alloc(0);
    return { response: { stdout: none, stderr: none, exitCode: 126, startError: (err as Error).message }, output: '' };
  }
  return { response, output: Buffer.concat([response.stdout, response.stderr]).toString('utf8').slice(0, limit) };
}

export interface HttpGetOptions {
  userAgent: string;
  /** The host when the action names none. */
  defaultHost: string;
  /** Redirects to follow to the same host name (the kubelet's probes: 10; hooks: 0). */
  redirects: number;
  /** How much of the body to keep. */
  bodyLimit: number;
}

export interface HttpGetResult {
  /** The URL of the last request made. */
  url: string;
  /** Its status; unset when it failed (`error`). */
  status?: number;
  error?: string;
  /** A redirect to another host, not followed (the kubelet's probes say so with a warning). */
  redirectedAway?: boolean;
  body: string;
}

/** The action's headers as Node sends them; a name given twice is sent twice. */
function requestHeaders(action: HTTPGetAction, userAgent: string): http.OutgoingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (const { name, value } of action.httpHeaders ?? []) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
    const before = headers[key];
    headers[key] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  }
  const has = (name: string): boolean => Object.keys(headers).some((k) => k.toLowerCase() === name);
  if (!has('user-agent')) headers['User-Agent'] = userAgent;
  if (!has('accept')) headers.Accept = '*/*';
  return headers;
}

type Answer = HttpGetResult & { location?: string };

/** One GET, its connection made in the pod; HTTPS is not verified (as the kubelet's probes: the pod's own certificate). */
async function getOnce(ctx: InPodContext, url: URL, headers: http.OutgoingHttpHeaders, timeoutMs: number, bodyLimit: number, abort?: AbortSignal): Promise<Answer> {
  const secure = url.protocol === 'https:';
  // TLS only for an https URL: every CLI call that starts a pod loads this file, few probe over HTTPS.
  const [https, tls] = secure ? await Promise.all([import('node:https'), import('node:tls')]) : [undefined, undefined];
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port) || (secure ? 443 : 80);
    let done = false;
    const finish = (r: Omit<Answer, 'url' | 'body'> & { body?: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ url: url.href, body: '', ...r });
    };
    const connect = (): Socket => {
      const socket = podSocket(ctx, host).connect(port, host);
      return tls ? tls.connect({ socket, rejectUnauthorized: false, ...(host.includes(':') || /^[\d.]+$/.test(host) ? {} : { servername: host }) }) : socket;
    };
    const req = (https ?? http).get(
      { host, port, path: `${url.pathname}${url.search}`, headers, createConnection: connect },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < bodyLimit) chunks.push(c.subarray(0, bodyLimit - size));
          size += c.length;
        });
        const end = (): void => {
          const status = res.statusCode ?? 0;
          const location = res.headers.location;
          finish({ status, body: Buffer.concat(chunks).toString('utf8'), ...(location ? { location } : {}) });
        };
        res.on('end', end);
        res.on('error', end);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs / 1000}s`)), timeoutMs);
    abort?.addEventListener('abort', () => req.destroy(new Error('stopped: the container is being killed')), { once: true });
    req.on('error', (err) => finish({ error: err.message }));
  });
}

/**
 * A GET from inside the pod's network namespace, following redirects to
 * the same host name as the kubelet's prober does (a redirect elsewhere is
 * not followed and said so), within one time limit for all of it.
 */
export async function httpGetInPod(ctx: InPodContext, action: HTTPGetAction, timeoutMs: number, options: HttpGetOptions, abort?: AbortSignal): Promise<HttpGetResult> {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const host = action.host || options.defaultHost;
  let port: number;
  try {
    port = resolvePort(ctx.container, action.port);
  } catch (err) {
    return { url: '', error: (err as Error).message, body: '' };
  }
  const path = action.path ? (action.path.startsWith('/') ? action.path : `/${action.path}`) : '/';
  let url = new URL(`${scheme}://${hostPort(host, port)}${path}`);
  const first = url.hostname;
  const headers = requestHeaders(action, options.userAgent);
  const deadline = Date.now() + timeoutMs;
  for (let redirects = 0; ; redirects++) {
    const { location, ...r } = await getOnce(ctx, url, headers, Math.max(deadline - Date.now(), 1), options.bodyLimit, abort);
    if (r.status === undefined || r.status < 300 || r.status >= 400 || !location || options.redirects === 0) return r;
    const next = new URL(location, url);
    if (next.hostname !== first) return { ...r, redirectedAway: true };
    if (redirects >= options.redirects) return { url: url.href, error: `stopped after ${options.redirects} redirects`, body: '' };
    url = next;
  }
}
