// One run of a probe's handler, with the kubelet's meaning of its answer:
// exec succeeds on exit 0 (a timeout fails); httpGet on 200-399 (a redirect
// to another host is not followed: success with a warning); tcpSocket when
// it connects; grpc when the health service says SERVING. What could not
// run at all (a named port that is not there, a command that cannot start)
// is `unknown`: the kubelet throws such a result away.
import { execInContainer, hostPort, httpGetInPod, podSocket, resolvePort, type InPodContext } from '../in-pod.js';
import type { Probe } from '../../manifest/types.js';
import type { Outcome } from './results.js';

export interface ProbeAnswer {
  outcome: Outcome;
  /** The probe's output or what went wrong, for the Unhealthy event. */
  output: string;
  /** Succeeded, with something to say (ProbeWarning). */
  warning?: boolean;
}

/** How much of a probe's output an event keeps (the kubelet reads up to 10 KiB; events here stay short). */
const OUTPUT_LIMIT = 1024;
/** The kubelet sends kube-probe/<its version>; servers that look for it find the prefix. */
export const PROBE_USER_AGENT = 'kube-probe/peapod';

function host(ctx: InPodContext, named: string | undefined): string {
  return named || ctx.podIP || '127.0.0.1';
}

export async function runProbe(ctx: InPodContext, probe: Probe, timeoutMs: number, abort?: AbortSignal): Promise<ProbeAnswer> {
  if (probe.exec) return execProbe(ctx, probe.exec.command ?? [], timeoutMs, abort);
  if (probe.httpGet) {
    const r = await httpGetInPod(ctx, probe.httpGet, timeoutMs, { userAgent: PROBE_USER_AGENT, defaultHost: host(ctx, undefined), redirects: 10, bodyLimit: OUTPUT_LIMIT }, abort);
    if (r.url === '') return { outcome: 'unknown', output: r.error ?? '' };
    if (r.status === undefined) return { outcome: 'failure', output: `Get "${r.url}": ${r.error ?? 'failed'}` };
    if (r.status >= 200 && r.status < 400) {
      if (r.status >= 300) return { outcome: 'success', warning: true, output: `Probe terminated redirects, Response body: ${r.body}` };
      return { outcome: 'success', output: r.body };
    }
    return { outcome: 'failure', output: `HTTP probe failed with statuscode: ${r.status}` };
  }
  if (probe.tcpSocket) {
    let port: number;
    try {
      port = resolvePort(ctx.container, probe.tcpSocket.port);
    } catch (err) {
      return { outcome: 'unknown', output: (err as Error).message };
    }
    return tcpProbe(ctx, host(ctx, probe.tcpSocket.host), port, timeoutMs, abort);
  }
  if (probe.grpc) {
    // HTTP/2 is loaded for a gRPC probe only: every CLI call that starts a pod loads this file.
    const { checkHealth, healthOutcome } = await import('./grpc-health.js');
    const h = host(ctx, undefined);
    const authority = hostPort(h, probe.grpc.port);
    const answer = await checkHealth(() => podSocket(ctx, h).connect(probe.grpc?.port ?? 0, h), authority, probe.grpc.service ?? '', timeoutMs, abort);
    const { ok, output } = healthOutcome(answer, authority, timeoutMs);
    return { outcome: ok ? 'success' : 'failure', output };
  }
  return { outcome: 'unknown', output: 'the probe has no handler (exec, httpGet, tcpSocket or grpc)' };
}

async function execProbe(ctx: InPodContext, argv: string[], timeoutMs: number, abort?: AbortSignal): Promise<ProbeAnswer> {
  const { response: r, output } = await execInContainer(ctx, 'probe', argv, timeoutMs, OUTPUT_LIMIT, abort);
  if (r.startError !== undefined) return { outcome: 'unknown', output: r.startError };
  if (r.aborted) return { outcome: 'unknown', output: 'stopped: the container is being killed' };
  if (r.timedOut) return { outcome: 'failure', output: `command ${JSON.stringify(argv.join(' '))} timed out` };
  return { outcome: r.exitCode === 0 ? 'success' : 'failure', output };
}

function tcpProbe(ctx: InPodContext, h: string, port: number, timeoutMs: number, abort?: AbortSignal): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const what = `dial tcp ${hostPort(h, port)}`;
    let socket: ReturnType<typeof podSocket>;
    try {
      socket = podSocket(ctx, h);
    } catch (err) {
      resolve({ outcome: 'unknown', output: (err as Error).message });
      return;
    }
    const done = (a: ProbeAnswer): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => done({ outcome: 'failure', output: `${what}: i/o timeout` }), timeoutMs);
    abort?.addEventListener('abort', () => done({ outcome: 'unknown', output: 'stopped: the container is being killed' }), { once: true });
    socket.once('connect', () => done({ outcome: 'success', output: '' }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ outcome: 'failure', output: `${what}: connect: ${err.code ?? err.message}` }));
    socket.connect(port, h);
  });
}
