// The files a pod shares across its containers: the runtime's of a sandbox
// (/etc/hostname, /etc/resolv.conf from the DNS config the kubelet gives,
// /dev/shm: one tmpfs, mounted on the host under the pod's directory) and
// the kubelet's /etc/hosts (its etc-hosts, with the pod's IPs). Their text
// is made in src/network.
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mount, umount } from '../native/addon.js';
import { mountsUnder } from './proc.js';
import { makeDir, MODE, octal, writeFileWithMode } from './modes.js';
import type { DNSConfig } from './api.js';
import type { PodPaths } from './paths.js';
import type { PodSpec } from '../spec/types.js';
import { renderHosts } from '../network/hosts-file.js';
import { renderResolvConf } from '../network/resolv-conf.js';

export const SHM_SIZE = '64m';

/** What the pod's /etc/hosts is made from (the kubelet's file). */
export interface HostsFileInput {
  hostname: string;
  namespace: string;
  spec: PodSpec;
  clusterDomain: string;
}

function readHostFile(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** The kubelet's /etc/hosts of a pod, with its addresses (none yet: loopback only); rewritten in place, so containers see it. */
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

/** The runtime's files of a sandbox: /etc/hostname, and /etc/resolv.conf of its DNS config (the node's own without one). */
export function writeSandboxFiles(paths: PodPaths, hostname: string, dns?: DNSConfig): void {
  makeDir(dirname(paths.etc.hostname), MODE.podDir);
  writeFileWithMode(paths.etc.hostname, `${hostname}\n`, MODE.podEtcFile);
  writeFileWithMode(paths.etc.resolvConf, dns ? renderResolvConf(dns) : readHostFile('/etc/resolv.conf'), MODE.podEtcFile);
}

export function mountPodShm(paths: PodPaths): void {
  makeDir(paths.shm, MODE.podDir);
  mount('shm', paths.shm, 'tmpfs', ['nosuid', 'nodev', 'noexec'], `mode=${octal(MODE.shm)},size=${SHM_SIZE}`);
}

/** Unmounts everything the runtime mounted under a pod's directory. */
export function unmountPodDir(dir: string): void {
  for (const point of mountsUnder(dir)) umount(point, true);
}
