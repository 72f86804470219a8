// An ADD result (spec 0.3.x/0.4.0 or 1.0.0) read for what the pod status
// needs: the addresses on the pod's interface. The two shapes differ only
// in details peapod does not need (0.x has ips[].version), so one reader
// takes both; the raw object is kept to chain as prevResult.
import { isIP } from 'node:net';
import { CniPluginError, type CniResult } from './types.js';

interface RawInterface {
  name?: unknown;
  sandbox?: unknown;
}

interface RawIP {
  address?: unknown;
  interface?: unknown;
}

export function parseResult(raw: Record<string, unknown>, ifName: string, plugin: string): CniResult {
  const bad = (what: string): never => {
    throw new CniPluginError(`returned a result peapod cannot read: ${what}`, plugin);
  };
  const version = typeof raw.cniVersion === 'string' ? raw.cniVersion : bad('no cniVersion');
  const interfaces = raw.interfaces === undefined ? [] : Array.isArray(raw.interfaces) ? (raw.interfaces as RawInterface[]) : bad('interfaces is not a list');
  const ips = raw.ips === undefined ? [] : Array.isArray(raw.ips) ? (raw.ips as RawIP[]) : bad('ips is not a list');
  const parsed = ips.map((ip) => {
    const address = typeof ip.address === 'string' ? ip.address : bad('an ips entry has no address');
    const host = address.split('/')[0] ?? '';
    if (isIP(host) === 0) bad(`${JSON.stringify(address)} is not an address in CIDR form`);
    const index = typeof ip.interface === 'number' ? ip.interface : undefined;
    return { host, iface: index === undefined ? undefined : interfaces[index] };
  });
  // The addresses of the pod's own interface (inside its namespace); a
  // result that names no interfaces gives them all, as containerd reads it.
  const own = parsed.filter((p) => p.iface !== undefined && p.iface.name === ifName && typeof p.iface.sandbox === 'string' && p.iface.sandbox !== '');
  const chosen = (own.length > 0 ? own : parsed.filter((p) => p.iface === undefined)).map((p) => p.host);
  // IPv4 first, as containerd orders podIPs: the first is status.podIP.
  const ordered = [...chosen.filter((a) => isIP(a) === 4), ...chosen.filter((a) => isIP(a) === 6)];
  return { cniVersion: version, ips: [...new Set(ordered)], raw };
}
