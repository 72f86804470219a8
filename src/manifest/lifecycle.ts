// postStart and preStop hooks: one handler each, in the forms
// src/kubelet/hooks.ts can run (exec, httpGet over HTTP, sleep). The exec
// and httpGet checks are shared with probes (probes.ts).
import { exactlyOne, nameCheck, oneOf, required } from './checks.js';
import { type DocContext, field, index } from './context.js';
import type { Loose } from './decode.js';
import { checkPortName } from './names.js';
import type { Container, ExecAction, HTTPGetAction, LifecycleHandler } from './types.js';
import { NOT_IMPLEMENTED } from './unimplemented.js';

const HANDLERS = ['exec', 'httpGet', 'sleep', ...Object.keys(NOT_IMPLEMENTED.LifecycleHandler)];
const HEADER_NAME = /^[-A-Za-z0-9]+$/;

export function checkLifecycle(ctx: DocContext, path: string, c: Loose<Container>, graceSeconds: number): void {
  for (const hook of ['postStart', 'preStop'] as const) {
    const p = field(path, hook);
    const handler = c.lifecycle?.[hook];
    if (handler) checkHandler(ctx, p, handler, c, graceSeconds);
  }
}

function checkHandler(
  ctx: DocContext,
  path: string,
  h: Loose<LifecycleHandler>,
  c: Loose<Container>,
  graceSeconds: number,
): void {
  exactlyOne(ctx, path, HANDLERS, 'must specify a handler type: exec, httpGet or sleep');
  if (h.exec) checkExec(ctx, field(path, 'exec'), h.exec);
  if (h.httpGet) {
    checkHttpGet(ctx, field(path, 'httpGet'), h.httpGet, c);
    if (h.httpGet.scheme === 'HTTPS') ctx.error(field(field(path, 'httpGet'), 'scheme'), 'not supported by peapod: HTTPS hooks; use HTTP');
  }
  if (h.sleep) {
    const p = field(field(path, 'sleep'), 'seconds');
    const s = h.sleep.seconds;
    if (!required(ctx, p, s, 'how long to sleep, e.g. seconds: 5') && s !== undefined && (s < 0 || s > graceSeconds)) {
      ctx.error(p, `must be between 0 and the termination grace period (${graceSeconds} seconds), got ${s}`);
    }
  }
}

export function checkExec(ctx: DocContext, path: string, e: Loose<ExecAction>): void {
  const cmd = field(path, 'command');
  if (!required(ctx, cmd, e.command, 'the command to run, e.g. command: [sh, -c, "..."]') && e.command?.length === 0) {
    ctx.error(cmd, 'required value: the command to run, e.g. command: [sh, -c, "..."]');
  }
}

/** A port by number (1-65535) or by the name of one of the container's ports. */
export function checkPortRef(ctx: DocContext, port: string, value: Loose<number | string> | undefined, c: Loose<Container>): void {
  if (!required(ctx, port, value, 'a port number or the name of one of the container\'s ports')) {
    if (typeof value === 'number' && (value < 1 || value > 65535)) {
      ctx.error(port, `must be between 1 and 65535, inclusive, got ${value}`);
    } else if (typeof value === 'string') {
      const names = (c.ports ?? []).flatMap((p) => (p?.name ? [p.name] : []));
      const bad = checkPortName(value);
      if (bad) ctx.error(port, /^[0-9]+$/.test(value) ? `${bad}; write the number without quotes` : bad);
      else if (!names.includes(value)) {
        const known = names.length > 0 ? ` (its ports are named ${names.join(', ')})` : '';
        ctx.error(port, `${JSON.stringify(value)} is not the name of a port of this container${known}`);
      }
    }
  }
}

export function checkHttpGet(ctx: DocContext, path: string, g: Loose<HTTPGetAction>, c: Loose<Container>): void {
  checkPortRef(ctx, field(path, 'port'), g.port, c);
  oneOf(ctx, field(path, 'scheme'), g.scheme, ['HTTP', 'HTTPS']);
  g.httpHeaders?.forEach((header, i) => {
    if (!header) return;
    const name = field(index(field(path, 'httpHeaders'), i), 'name');
    if (!required(ctx, name, header.name, 'the header name')) {
      nameCheck(ctx, name, header.name, (s) =>
        HEADER_NAME.test(s) ? undefined : `invalid HTTP header name ${JSON.stringify(s)}: letters, digits and '-' only`,
      );
    }
  });
}
