// dnsConfig and hostAliases, checked as the API server checks them
// (ValidatePodDNSConfig, validateHostAliases): addresses are addresses,
// names are DNS subdomains, and resolv.conf's limits hold.
import { isIP } from 'node:net';
import { nameCheck, required } from './checks.js';
import { type DocContext, field, index } from './context.js';
import type { Loose } from './decode.js';
import { checkDns1123Subdomain } from './names.js';
import type { PodSpec } from './types.js';

/** The kubelet's and glibc's limits for resolv.conf. */
export const MAX_NAMESERVERS = 3;
export const MAX_SEARCHES = 32;
export const MAX_SEARCH_CHARS = 2048;

function address(ctx: DocContext, path: string, value: string | undefined): void {
  if (value !== undefined && isIP(value) === 0) ctx.error(path, `must be a valid IP address, got ${JSON.stringify(value)}`);
}

export function checkDnsConfig(ctx: DocContext, path: string, spec: Loose<PodSpec>): void {
  const dns = spec.dnsConfig;
  const p = field(path, 'dnsConfig');
  const servers = dns?.nameservers ?? [];
  if (spec.dnsPolicy === 'None' && ctx.has(p) && servers.length === 0) {
    ctx.error(field(p, 'nameservers'), 'must provide at least one DNS nameserver when dnsPolicy is None', 'key');
  }
  if (!dns) return;
  if (servers.length > MAX_NAMESERVERS) ctx.error(field(p, 'nameservers'), `must not have more than ${MAX_NAMESERVERS} nameservers (it has ${servers.length})`);
  servers.forEach((s, i) => address(ctx, index(field(p, 'nameservers'), i), s));
  const searches = dns.searches ?? [];
  if (searches.length > MAX_SEARCHES) ctx.error(field(p, 'searches'), `must not have more than ${MAX_SEARCHES} search paths (it has ${searches.length})`);
  const chars = searches.join(' ').length;
  if (chars > MAX_SEARCH_CHARS) ctx.error(field(p, 'searches'), `must not have more than ${MAX_SEARCH_CHARS} characters in all (it has ${chars})`);
  // A search domain may end with the root's dot.
  searches.forEach((s, i) => nameCheck(ctx, index(field(p, 'searches'), i), s?.replace(/\.$/, ''), checkDns1123Subdomain));
  dns.options?.forEach((o, i) => {
    if (o) required(ctx, field(index(field(p, 'options'), i), 'name'), o.name, 'every dnsConfig option needs a name, e.g. name: ndots');
  });
}

export function checkHostAliases(ctx: DocContext, path: string, aliases: Loose<PodSpec['hostAliases']>): void {
  aliases?.forEach((a, i) => {
    if (!a) return;
    const p = index(path, i);
    if (!required(ctx, field(p, 'ip'), a.ip, 'the address the hostnames resolve to, e.g. ip: 10.1.2.3')) address(ctx, field(p, 'ip'), a.ip);
    a.hostnames?.forEach((h, j) => nameCheck(ctx, index(field(p, 'hostnames'), j), h, checkDns1123Subdomain));
  });
}
