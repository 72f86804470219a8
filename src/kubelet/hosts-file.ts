// The kubelet's /etc/hosts of a pod (its etc-hosts file, bind-mounted into
// every container): the pod's hostname with the pod's IPs, rewritten in
// place when they change so that containers see the new one.
import { dirname } from 'node:path';
import { renderHosts } from '../network/hosts-file.js';
import { makeDir, MODE, writeFileWithMode } from '../runtime/modes.js';
import type { PodPaths } from '../runtime/paths.js';
import { readHostFile } from '../runtime/pod-files.js';
import type { PodSpec } from '../manifest/types.js';

/** What the pod's /etc/hosts is made from (the kubelet's file). */
export interface HostsFileInput {
  hostname: string;
  namespace: string;
  spec: PodSpec;
  clusterDomain: string;
}

/** The kubelet's /etc/hosts of a pod, written once its sandbox has addresses (none: loopback only); rewritten in place, so containers see it. */
export function writeHostsFile(paths: PodPaths, input: HostsFileInput, podIPs: readonly string[]): void {
  makeDir(dirname(paths.etc.hosts), MODE.podDir);
  const text = renderHosts({
    hostname: input.hostname,
    namespace: input.namespace,
    spec: input.spec,
    podIPs,
    clusterDomain: input.clusterDomain,
    nodeHosts: input.spec.hostNetwork ? readHostFile('/etc/hosts') : '',
  });
  // Every uid of every container reads it: the umask does not matter.
  writeFileWithMode(paths.etc.hosts, text, MODE.podEtcFile);
}
