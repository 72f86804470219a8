// Lifecycle hooks, run as the kubelet runs them: `exec` in the container
// (the runtime's ExecSync, with the container's identity and privileges),
// `httpGet` from inside the pod's network namespace, `sleep`. A hook gets a
// time limit; past it, it is killed and counts as failed.
import http from 'node:http';
import { Socket } from 'node:net';
import { socketInNetns } from '../native/addon.js';
import type { RuntimeApi } from '../runtime/runtime-service.js';
import type { Container, HTTPGetAction, LifecycleHandler } from '../manifest/types.js';

export interface HookResult {
  ok: boolean;
  /** What went wrong, or the hook's output, for events and messages. */
  message: string;
}

/** The container a hook runs for: its runtime container, its spec (named ports), and the pod's network namespace. */
export interface HookContext {
  runtime: RuntimeApi;
  containerId: string;
  container: Container;
  /** A path to the pod's network namespace (pause's). */
  netns: string;
}

const OUTPUT_LIMIT = 4096;

/** Runs a command in the container; its output is returned, not logged. It ends at the time limit or when `abort` fires. */
export async function execHook(ctx: HookContext, label: string, argv: string[], timeoutMs: number, abort?: AbortSignal): Promise<HookResult & { code?: number }> {
  const r = await ctx.runtime.execSync(ctx.containerId, argv, Math.max(timeoutMs, 1) / 1000, abort, label);
  if (r.startError !== undefined) return { ok: false, message: r.startError };
  const text = Buffer.concat([r.stdout, r.stderr]).toString('utf8').slice(0, OUTPUT_LIMIT);
  if (r.aborted) return { ok: false, message: `${label} stopped: the container is being killed` };
  if (r.timedOut) return { ok: false, message: `${label} timed out after ${Math.round(timeoutMs / 1000)}s: ${text}`.trim() };
  if (r.signal !== undefined) return { ok: false, message: `${label} killed by signal ${r.signal}: ${text}`.trim(), code: r.exitCode };
  return { ok: r.exitCode === 0, message: r.exitCode === 0 ? text : `${label} exited ${r.exitCode}: ${text}`.trim(), code: r.exitCode };
}

function resolvePort(container: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`port "${port}" is not a named port of container "${container.name}"`);
  return named.containerPort;
}

/** GET from inside the pod's network namespace; 200-399 is success, as in Kubernetes. */
export function httpGetInPod(ctx: HookContext, action: HTTPGetAction, timeoutMs: number, abort?: AbortSignal): Promise<HookResult> {
  return new Promise((resolve) => {
    let port: number;
    try {
      port = resolvePort(ctx.container, action.port);
    } catch (err) {
      resolve({ ok: false, message: (err as Error).message });
      return;
    }
    if (action.scheme === 'HTTPS') {
      resolve({ ok: false, message: 'httpGet with scheme HTTPS is not supported by peapod; use HTTP' });
      return;
    }
    const host = action.host ?? '127.0.0.1';
    const family = host.includes(':') ? 6 : 4;
    const headers = Object.fromEntries((action.httpHeaders ?? []).map((h) => [h.name, h.value]));
    const path = action.path ?? '/';
    const req = http.get(
      {
        host,
        port,
        path,
        headers: { 'User-Agent': 'peapod/hook', ...headers },
        timeout: timeoutMs,
        createConnection: () => {
          const socket = new Socket({ fd: socketInNetns(ctx.netns, family) });
          return socket.connect(port, host);
        },
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve({ ok: code >= 200 && code < 400, message: `GET http://${host}:${port}${path}: ${code}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${Math.round(timeoutMs / 1000)}s`)));
    abort?.addEventListener('abort', () => req.destroy(new Error('stopped: the container is being killed')), { once: true });
    req.on('error', (err) => resolve({ ok: false, message: `GET http://${host}:${port}${path}: ${err.message}` }));
  });
}

export async function runHook(
  ctx: HookContext,
  label: 'PostStart' | 'PreStop',
  handler: LifecycleHandler,
  timeoutMs: number,
  abort?: AbortSignal,
): Promise<HookResult> {
  if (handler.exec) return execHook(ctx, label, handler.exec.command ?? [], timeoutMs, abort);
  if (handler.httpGet) return httpGetInPod(ctx, handler.httpGet, timeoutMs, abort);
  if (handler.sleep) {
    const ms = Math.min(handler.sleep.seconds * 1000, timeoutMs);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    return { ok: true, message: '' };
  }
  return { ok: false, message: `${label} hook has no handler (exec, httpGet or sleep)` };
}
