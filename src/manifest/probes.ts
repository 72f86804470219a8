// livenessProbe, readinessProbe and startupProbe, checked as the API server
// checks them (validateProbe and validateContainers): one handler (exec,
// httpGet, tcpSocket or grpc), times and thresholds >= 0 (0 takes the
// default), successThreshold 1 for liveness and startup, a probe-level
// terminationGracePeriodSeconds > 0 and never on a readiness probe.
import { exactlyOne, required } from './checks.js';
import { type DocContext, field } from './context.js';
import type { Loose } from './decode.js';
import { checkExec, checkHttpGet, checkPortRef } from './lifecycle.js';
import type { Container, Probe } from './types.js';

export const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const COUNTS = ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const;

export function checkProbes(ctx: DocContext, path: string, c: Loose<Container>): void {
  for (const kind of PROBES) {
    const probe = c[kind];
    if (probe) checkProbe(ctx, field(path, kind), kind, probe, c);
  }
}

function checkProbe(ctx: DocContext, path: string, kind: (typeof PROBES)[number], p: Loose<Probe>, c: Loose<Container>): void {
  exactlyOne(ctx, path, HANDLERS, 'must specify a handler type: exec, httpGet, tcpSocket or grpc');
  if (p.exec) checkExec(ctx, field(path, 'exec'), p.exec);
  if (p.httpGet) checkHttpGet(ctx, field(path, 'httpGet'), p.httpGet, c);
  if (p.tcpSocket) checkPortRef(ctx, field(field(path, 'tcpSocket'), 'port'), p.tcpSocket.port, c);
  if (p.grpc) {
    const port = field(field(path, 'grpc'), 'port');
    const n = p.grpc.port;
    if (!required(ctx, port, n, 'the port of the gRPC health server, a number') && n !== undefined && (n < 1 || n > 65535)) {
      ctx.error(port, `must be between 1 and 65535, inclusive, got ${n}`);
    }
  }
  for (const key of COUNTS) {
    const n = p[key];
    if (n !== undefined && n < 0) ctx.error(field(path, key), `must be greater than or equal to 0, got ${n} (0 or unset takes the default)`);
  }
  // The API server defaults 0 to 1, so 0 passes here as it does there.
  if (kind !== 'readinessProbe' && p.successThreshold !== undefined && p.successThreshold > 1) {
    ctx.error(field(path, 'successThreshold'), `must be 1 for a ${kind} (one success is enough), got ${p.successThreshold}`);
  }
  const grace = p.terminationGracePeriodSeconds;
  if (grace !== undefined) {
    const at = field(path, 'terminationGracePeriodSeconds');
    if (kind === 'readinessProbe') ctx.error(at, 'must not be set for readinessProbes: a failing readiness probe never kills the container', 'key');
    else if (grace <= 0) ctx.error(at, `must be greater than 0, got ${grace}`);
  }
}
