// Lifecycle hooks, run as the kubelet runs them: `exec` inside the
// container's namespaces, `httpGet` from inside the pod's network namespace.
// A hook gets a time limit; past it, it is killed and counts as failed.
import { closeSync, openSync } from 'node:fs';
import http from 'node:http';
import { Socket } from 'node:net';
import { pipe, socketInNetns } from '../native/addon.js';
import type { Container, HTTPGetAction, LifecycleHandler } from '../spec/types.js';
import { spawnInContainer, type ExecTarget } from './exec.js';
import type { PlanProcess } from './process.js';

export interface HookResult {
  ok: boolean;
  /** What went wrong, or the hook's output, for events and messages. */
  message: string;
}

/** The container a hook runs for: where it execs, and its spec (named ports). */
export interface HookContext extends ExecTarget {
  container: Container;
}

const OUTPUT_LIMIT = 4096;

/** Collects a pipe's output; `stop()` gives up on it (a background child may hold the pipe forever). */
function readAll(fd: number): { text: Promise<string>; stop(): void } {
  const socket = new Socket({ fd, readable: true, writable: false });
  let out = '';
  const text = new Promise<string>((resolve) => {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (out.length < OUTPUT_LIMIT) out += chunk;
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => resolve(out.slice(0, OUTPUT_LIMIT)));
  });
  return { text, stop: () => socket.destroy() };
}

/** How long output may still arrive after the hook's process has exited. */
const DRAIN_MS = 100;

/**
 * Runs a command in the container; its output is returned, not logged. It
 * ends at the time limit or when `abort` fires, whatever it left running.
 */
export async function execInContainer(ctx: HookContext, label: string, argv: string[], timeoutMs: number, abort?: AbortSignal): Promise<HookResult & { code?: number }> {
  const [r, w] = pipe();
  const nul = openSync('/dev/null', 'r');
  let proc: PlanProcess;
  try {
    proc = spawnInContainer(ctx, label, argv, [nul, w, w]);
  } catch (err) {
    closeSync(r);
    return { ok: false, message: (err as Error).message };
  } finally {
    closeSync(w);
    closeSync(nul);
  }
  const output = readAll(r);
  let timedOut = false;
  const kill = (): void => {
    proc.signal('SIGKILL');
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, Math.max(timeoutMs, 0));
  abort?.addEventListener('abort', kill, { once: true });
  const exit = await proc.exited;
  clearTimeout(timer);
  abort?.removeEventListener('abort', kill);
  // A child it started in the background may keep the pipe open: read what
  // is there, never wait for it.
  const drained = setTimeout(() => output.stop(), DRAIN_MS);
  const text = await output.text;
  clearTimeout(drained);
  if (abort?.aborted) return { ok: false, message: `${label} stopped: the container is being killed` };
  if (timedOut) return { ok: false, message: `${label} timed out after ${Math.round(timeoutMs / 1000)}s: ${text}`.trim() };
  if (exit.signal !== undefined) return { ok: false, message: `${label} killed by signal ${exit.signal}: ${text}`.trim(), code: 128 + exit.signal };
  return { ok: exit.code === 0, message: exit.code === 0 ? text : `${label} exited ${exit.code}: ${text}`.trim(), code: exit.code };
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
          const socket = new Socket({ fd: socketInNetns(`/proc/${ctx.containerPid}/ns/net`, family) });
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
  if (handler.exec) return execInContainer(ctx, label, handler.exec.command ?? [], timeoutMs, abort);
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
