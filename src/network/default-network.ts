// peapod's own network, used when the configuration directory holds none:
// a bridge with host-local addresses, masquerade for traffic leaving the
// host, portmap for hostPorts and firewall for hosts whose FORWARD policy
// drops (as Docker's does). The range is private and apart from podman's
// (10.88.0.0/16), Docker's (172.17.0.0/16), Kubernetes' usual pod and
// service ranges (10.244.0.0/16, 10.96.0.0/12) and k3s' (10.42.0.0/16).
import type { NetworkConfigList } from './types.js';

export const DEFAULT_NETWORK = { name: 'peapod', bridge: 'peapod0', subnet: '10.77.0.0/16' } as const;

/** The plugins the default network runs: without them the pod has loopback only. */
export const DEFAULT_PLUGINS = ['bridge', 'host-local', 'portmap', 'firewall'] as const;

export interface DefaultNetworkShape {
  name: string;
  bridge: string;
  subnet: string;
  /** host-local's reservations (default: its own, /var/lib/cni/networks). */
  dataDir?: string;
}

export function defaultNetworkList(shape: DefaultNetworkShape = DEFAULT_NETWORK): NetworkConfigList {
  return {
    cniVersion: '1.0.0',
    name: shape.name,
    plugins: [
      {
        type: 'bridge',
        bridge: shape.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: shape.subnet }]],
          routes: [{ dst: '0.0.0.0/0' }],
          ...(shape.dataDir ? { dataDir: shape.dataDir } : {}),
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  };
}
