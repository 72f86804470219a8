// /etc/resolv.conf of a pod, as the kubelet makes it (pkg/kubelet/network/dns):
// dnsPolicy picks the base (the node's resolver, the cluster's DNS, or
// nothing), dnsConfig is merged in, and the limits of resolv.conf are kept.
// Rendered as containerd writes it: search, nameserver lines, options.
import { MAX_NAMESERVERS, MAX_SEARCH_CHARS, MAX_SEARCHES } from '../manifest/dns.js';
import type { PodSpec } from '../manifest/types.js';

export interface DnsSettings {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface DnsInput {
  spec: PodSpec;
  namespace: string;
  /** The node's resolv.conf text (the kubelet's --resolv-conf). */
  hostResolvConf: string;
  clusterDNS: readonly string[];
  clusterDomain: string;
}

export interface DnsWarning {
  /** MissingClusterDNS is Normal here: with no cluster, every default pod would warn on every run. */
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** nameserver, search (or domain) and options lines of a resolv.conf. */
export function parseResolvConf(text: string): DnsSettings {
  const out: DnsSettings = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const [key, ...rest] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.servers.push(rest[0]);
    // The last search or domain line wins, as in the resolver.
    else if (key === 'search' || key === 'domain') out.searches = rest.filter(Boolean);
    else if (key === 'options') out.options.push(...rest.filter(Boolean));
  }
  return out;
}

const unique = (xs: readonly string[]): string[] => [...new Set(xs)];

/** dnsConfig's options override the base's by name; the order is the base's, then the new ones. */
function mergeOptions(base: readonly string[], extra: NonNullable<PodSpec['dnsConfig']>['options'] = []): string[] {
  const map = new Map<string, string>();
  for (const o of base) {
    const i = o.indexOf(':');
    map.set(i < 0 ? o : o.slice(0, i), i < 0 ? '' : o.slice(i + 1));
  }
  for (const o of extra) map.set(o.name, o.value ?? '');
  return [...map].map(([k, v]) => (v === '' ? k : `${k}:${v}`));
}

/** The kubelet's effective policy: ClusterFirst without a cluster DNS, or on the host's network, is Default. */
export function podDns(input: DnsInput): { settings: DnsSettings; warnings: DnsWarning[] } {
  const { spec } = input;
  const warnings: DnsWarning[] = [];
  let policy = spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  if (policy === 'ClusterFirst' && input.clusterDNS.length === 0) {
    warnings.push({
      type: 'Normal',
      reason: 'MissingClusterDNS',
      message: 'peapod does not have a cluster DNS configured (PEAPOD_CLUSTER_DNS) and cannot create the pod using "ClusterFirst" policy. Falling back to "Default" policy.',
    });
    policy = 'Default';
  }
  let settings: DnsSettings = { servers: [], searches: [], options: [] };
  if (policy === 'Default') settings = parseResolvConf(input.hostResolvConf);
  if (policy === 'ClusterFirst') {
    const host = parseResolvConf(input.hostResolvConf);
    const d = input.clusterDomain;
    settings = { servers: [...input.clusterDNS], searches: [`${input.namespace}.svc.${d}`, `svc.${d}`, d, ...host.searches], options: ['ndots:5'] };
  }
  const cfg = spec.dnsConfig;
  if (cfg) {
    settings = {
      servers: unique([...settings.servers, ...(cfg.nameservers ?? [])]),
      searches: unique([...settings.searches, ...(cfg.searches ?? [])]),
      options: mergeOptions(settings.options, cfg.options),
    };
  }
  return { settings: limit(settings, warnings), warnings };
}

/** The kubelet trims what resolv.conf cannot hold, and says so. */
function limit(s: DnsSettings, warnings: DnsWarning[]): DnsSettings {
  let { servers, searches } = s;
  if (servers.length > MAX_NAMESERVERS) {
    servers = servers.slice(0, MAX_NAMESERVERS);
    warnings.push({ type: 'Warning', reason: 'DNSConfigForming', message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${servers.join(' ')}` });
  }
  const kept: string[] = [];
  for (const d of searches) {
    if (kept.length >= MAX_SEARCHES || [...kept, d].join(' ').length > MAX_SEARCH_CHARS) break;
    kept.push(d);
  }
  if (kept.length < searches.length) {
    searches = kept;
    warnings.push({ type: 'Warning', reason: 'DNSConfigForming', message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${kept.join(' ')}` });
  }
  return { servers, searches, options: s.options };
}

export function renderResolvConf(s: DnsSettings): string {
  const lines = [
    ...(s.searches.length > 0 ? [`search ${s.searches.join(' ')}`] : []),
    ...s.servers.map((n) => `nameserver ${n}`),
    ...(s.options.length > 0 ? [`options ${s.options.join(' ')}`] : []),
  ];
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
