// Lifecycle hooks, run as the kubelet runs them: `exec` in the container
// (the runtime's ExecSync, with the container's identity and privileges),
// `httpGet` from inside the pod's network namespace, `sleep`. A hook gets a
// time limit; past it, it is killed and counts as failed.
import type { LifecycleHandler } from '../manifest/types.js';
import { execInContainer, httpGetInPod, type InPodContext } from './in-pod.js';

export interface HookResult {
  ok: boolean;
  /** What went wrong, or the hook's output, for events and messages. */
  message: string;
}

/** The container a hook runs for (see in-pod.ts). */
export type HookContext = InPodContext;

const OUTPUT_LIMIT = 4096;

/** Runs a command in the container; its output is returned, not logged. It ends at the time limit or when `abort` fires. */
export async function execHook(ctx: HookContext, label: string, argv: string[], timeoutMs: number, abort?: AbortSignal): Promise<HookResult & { code?: number }> {
  const { response: r, output: text } = await execInContainer(ctx, label, argv, timeoutMs, OUTPUT_LIMIT, abort);
  if (r.startError !== undefined) return { ok: false, message: r.startError };
  if (r.aborted) return { ok: false, message: `${label} stopped: the container is being killed` };
  if (r.timedOut) return { ok: false, message: `${label} timed out after ${Math.round(timeoutMs / 1000)}s: ${text}`.trim() };
  if (r.signal !== undefined) return { ok: false, message: `${label} killed by signal ${r.signal}: ${text}`.trim(), code: r.exitCode };
  return { ok: r.exitCode === 0, message: r.exitCode === 0 ? text : `${label} exited ${r.exitCode}: ${text}`.trim(), code: r.exitCode };
}

export async function runHook(
  ctx: HookContext,
  label: 'PostStart' | 'PreStop',
  handler: LifecycleHandler,
  timeoutMs: number,
  abort?: AbortSignal,
): Promise<HookResult> {
  if (handler.exec) return execHook(ctx, label, handler.exec.command ?? [], timeoutMs, abort);
  if (handler.httpGet) {
    // 200-399 is success, as in Kubernetes; a redirect is not followed.
    const r = await httpGetInPod(ctx, handler.httpGet, timeoutMs, { userAgent: 'peapod/hook', defaultHost: '127.0.0.1', redirects: 0, bodyLimit: 0 }, abort);
    const ok = r.status !== undefined && r.status >= 200 && r.status < 400;
    return { ok, message: `GET ${r.url}: ${r.error ?? r.status}` };
  }
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
