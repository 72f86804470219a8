// Container resources: names, quantities, requests <= limits.
import { type DocContext, field, mapKey } from './context.js';
import type { Loose } from './decode.js';
import { checkQualifiedName } from './names.js';
import { compareQuantities, parseQuantity, type Quantity, QuantityError } from './quantity.js';
import { didYouMean } from './suggest.js';
import type { ResourceRequirements } from './types.js';
import { unimplementedResource } from './unimplemented.js';

const SUPPORTED = ['cpu', 'memory'] as const;
const KNOWN_NAMES = [...SUPPORTED, 'ephemeral-storage', 'hugepages-2Mi', 'hugepages-1Gi'];

/** Parse, reporting at `path`; undefined when invalid. Negative values are refused. */
export function checkQuantity(ctx: DocContext, path: string, text: string): Quantity | undefined {
  let q: Quantity;
  try {
    q = parseQuantity(text);
  } catch (e) {
    if (e instanceof QuantityError) {
      ctx.error(path, e.message);
      return undefined;
    }
    throw e;
  }
  if (q.numerator < 0n) {
    ctx.error(path, `must be greater than or equal to 0, got ${JSON.stringify(text)}`);
    return undefined;
  }
  // cpuMillis()/bytes() return numbers: keep every accepted value exact in one.
  if (q.millis > BigInt(Number.MAX_SAFE_INTEGER)) {
    ctx.error(path, `quantity ${JSON.stringify(text)} is too large`);
    return undefined;
  }
  return q;
}

function checkList(
  ctx: DocContext,
  path: string,
  list: Loose<Record<string, string>> | undefined,
): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  for (const [name, text] of Object.entries(list ?? {})) {
    if (text === undefined) continue;
    const p = mapKey(path, name);
    if (!(SUPPORTED as readonly string[]).includes(name)) {
      const later = unimplementedResource(name);
      if (later !== undefined) {
        const bad = name.includes('/') ? checkQualifiedName(name) : undefined;
        if (bad) ctx.error(p, bad, 'key');
        else ctx.warn(p, `not implemented by peapod, ignored: ${later}`, 'key');
      } else {
        ctx.error(
          p,
          `unsupported resource name ${JSON.stringify(name)}${didYouMean(name, KNOWN_NAMES)} ` +
            '(peapod limits cpu and memory; other names must be fully qualified, like example.com/gpu)',
          'key',
        );
      }
      continue;
    }
    const q = checkQuantity(ctx, p, text);
    if (!q) continue;
    if (name === 'memory' && q.format === 'DecimalSI' && /m$/.test(text)) {
      // Kubernetes warns about this one too: "m" is milli, not mega.
      ctx.warn(p, `${JSON.stringify(text)} is ${text.slice(0, -1)} thousandths of a byte; did you mean "${text.slice(0, -1)}Mi" or "${text.slice(0, -1)}M"?`);
    }
    out.set(name, q);
  }
  return out;
}

export function checkResources(
  ctx: DocContext,
  path: string,
  res: Loose<ResourceRequirements> | undefined,
): void {
  if (!res) return;
  const limits = checkList(ctx, field(path, 'limits'), res.limits);
  const requests = checkList(ctx, field(path, 'requests'), res.requests);
  for (const [name, request] of requests) {
    const limit = limits.get(name);
    if (limit && compareQuantities(request, limit) > 0) {
      ctx.error(
        mapKey(field(path, 'requests'), name),
        `request ${JSON.stringify(request.text)} must be less than or equal to the ${name} limit of ${JSON.stringify(limit.text)}`,
      );
    }
  }
}
