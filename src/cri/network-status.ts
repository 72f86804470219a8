// The runtime's NetworkReady condition, from the pod network as the runtime
// would set it up now (src/network): a usable configuration whose plugins
// are all installed, or none and the plugins of peapod's default network.
import { loadNetwork } from '../network/config.js';
import { DEFAULT_PLUGINS } from '../network/default-network.js';
import type { NetworkOptions } from '../network/options.js';
import { lookupPlugin } from '../network/plugins.js';

export interface Condition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export function networkCondition(options: NetworkOptions): Condition {
  const ready = (message: string): Condition => ({ type: 'NetworkReady', status: true, reason: '', message });
  const notReady = (reason: string, message: string): Condition => ({ type: 'NetworkReady', status: false, reason, message });
  if (options.mode === 'none') return notReady('NetworkDisabled', 'PEAPOD_NETWORK=none: pods get their own loopback only; only host-network pods have a network');
  let loaded;
  try {
    loaded = loadNetwork(options.confDir);
  } catch (err) {
    return notReady('NetworkPluginNotReady', (err as Error).message);
  }
  const { network, skipped } = loaded;
  const missing = (types: readonly string[]): string[] => types.filter((t) => lookupPlugin(t, options.pluginDirs) === null);
  if (network) {
    const gone = missing(network.list.plugins.map((p) => p.type));
    if (gone.length > 0) return notReady('NetworkPluginNotReady', `network "${network.list.name}" (${network.source}) needs the CNI plugins ${gone.join(', ')}, not found in ${options.pluginDirs.join(':')}`);
    return ready(`network "${network.list.name}" from ${network.source}`);
  }
  if (skipped.length > 0) return notReady('NetworkPluginNotReady', `no usable network configuration in ${options.confDir}: ${skipped.map((s) => s.reason).join('; ')}`);
  const gone = missing(DEFAULT_PLUGINS);
  if (gone.length > 0) return notReady('NetworkPluginNotReady', `no network configuration in ${options.confDir} and the CNI plugins ${gone.join(', ')} of peapod's default network are not in ${options.pluginDirs.join(':')}`);
  return ready(`peapod's default network (no configuration in ${options.confDir})`);
}
