// /etc/hosts of a pod, as the kubelet writes it (managedHostsFileContent):
// the loopback names, the pod's addresses with its hostname (and its FQDN
// when spec.subdomain is set), then spec.hostAliases. On the host's network
// it is the node's own file with the aliases after it.
import type { PodSpec } from '../manifest/types.js';

export interface HostsInput {
  hostname: string;
  namespace: string;
  spec: PodSpec;
  podIPs: readonly string[];
  clusterDomain: string;
  /** The node's /etc/hosts, for hostNetwork pods. */
  nodeHosts: string;
}

function aliases(spec: PodSpec): string {
  const list = spec.hostAliases ?? [];
  if (list.length === 0) return '';
  return `\n# Entries added by HostAliases.\n${list.map((a) => `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`).join('')}`;
}

export function renderHosts(input: HostsInput): string {
  const { spec, hostname } = input;
  if (spec.hostNetwork) return `# Kubernetes-managed hosts file (host network).\n${input.nodeHosts}${aliases(spec)}`;
  const fqdn = spec.subdomain ? `${hostname}.${spec.subdomain}.${input.namespace}.svc.${input.clusterDomain}` : '';
  const own = input.podIPs.length > 0
    ? input.podIPs.map((ip) => (fqdn ? `${ip}\t${fqdn}\t${hostname}\n` : `${ip}\t${hostname}\n`)).join('')
    // Loopback only: the name resolves on lo, Debian-style.
    : `127.0.1.1\t${fqdn ? `${fqdn}\t` : ''}${hostname}\n`;
  return [
    '# Kubernetes-managed hosts file.\n',
    '127.0.0.1\tlocalhost\n',
    '::1\tlocalhost ip6-localhost ip6-loopback\n',
    'fe00::0\tip6-localnet\n',
    'fe00::0\tip6-mcastprefix\n',
    'fe00::1\tip6-allnodes\n',
    'fe00::2\tip6-allrouters\n',
    own,
    aliases(spec),
  ].join('');
}
