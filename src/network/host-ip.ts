// The node's address, for status.hostIP: the address of the interface the
// default route leaves by, as the kubelet picks it when --node-ip is not
// given; loopback when the host has no route out.
import { readFileSync } from 'node:fs';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

function defaultRouteInterface(): string | undefined {
  try {
    // Iface, Destination, Gateway, ...: the default route has destination 0 and mask 0.
    const rows = readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    return rows.find((r) => r[1] === '00000000' && r[7] === '00000000')?.[0];
  } catch {
    return undefined;
  }
}

let cached: string[] | undefined;

/** The node's addresses, IPv4 first (never empty). */
export function hostIPs(): string[] {
  if (cached) return cached;
  const all = networkInterfaces();
  const iface = defaultRouteInterface();
  const candidates = iface && all[iface] ? all[iface] : Object.values(all).flat();
  const usable = (candidates ?? []).filter((a): a is NetworkInterfaceInfo => a !== undefined && !a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80:')));
  const v4 = usable.filter((a) => a.family === 'IPv4').map((a) => a.address);
  const v6 = usable.filter((a) => a.family === 'IPv6').map((a) => a.address);
  cached = [...v4.slice(0, 1), ...v6.slice(0, 1)];
  if (cached.length === 0) cached = ['127.0.0.1'];
  return cached;
}
