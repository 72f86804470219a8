// Where the pod network comes from, overridable for tests and hosts that
// keep CNI elsewhere: the kubelet's --cni-conf-dir and --cni-bin-dir, and
// its --cluster-dns / --cluster-domain for ClusterFirst.
import type { DefaultNetworkShape } from './default-network.js';
import { DEFAULT_PLUGIN_DIRS } from './plugins.js';

export const DEFAULT_CONF_DIR = '/etc/cni/net.d';

export interface NetworkOptions {
  /** `none`: every pod has its own loopback only (PEAPOD_NETWORK=none). */
  mode: 'cni' | 'none';
  confDir: string;
  pluginDirs: string[];
  /** The default network's bridge, range and reservations (tests give their own). */
  defaultNetwork?: DefaultNetworkShape;
  /** The cluster's DNS servers; none: ClusterFirst falls back to Default. */
  clusterDNS: string[];
  clusterDomain: string;
  /** The node's resolver configuration, for dnsPolicy Default (the kubelet's --resolv-conf). */
  resolvConf: string;
  /** Milliseconds from ADD to the CHECK that follows it (default 2000). */
  checkDelayMs?: number;
}

export class NetworkOptionError extends Error {
  override name = 'NetworkOptionError';
}

const list = (s: string | undefined, sep: string): string[] | undefined => (s ? s.split(sep).filter(Boolean) : undefined);

export function networkOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): NetworkOptions {
  const mode = env.PEAPOD_NETWORK || 'cni';
  if (mode !== 'cni' && mode !== 'none') throw new NetworkOptionError(`PEAPOD_NETWORK=${mode}: use cni (the default) or none (loopback only)`);
  return {
    mode,
    confDir: env.PEAPOD_CNI_CONF_DIR || DEFAULT_CONF_DIR,
    pluginDirs: list(env.PEAPOD_CNI_PATH, ':') ?? [...DEFAULT_PLUGIN_DIRS],
    clusterDNS: list(env.PEAPOD_CLUSTER_DNS, ',') ?? [],
    clusterDomain: env.PEAPOD_CLUSTER_DOMAIN || 'cluster.local',
    resolvConf: env.PEAPOD_RESOLV_CONF || '/etc/resolv.conf',
  };
}
