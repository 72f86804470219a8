// The files a pod shares across its containers, kept by the runtime like the
// kubelet keeps them: /etc/hosts, /etc/hostname, /etc/resolv.conf (their
// text is made in src/network), and the pod's /dev/shm (one tmpfs, mounted
// on the host under the pod's directory).
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mount, umount } from '../native/addon.js';
import { mountsUnder } from './proc.js';
import { makeDir, MODE, octal, writeFileWithMode } from './modes.js';
import type { PodPaths } from './paths.js';
import type { PodSpec } from '../spec/types.js';
import { renderHosts } from '../network/hosts-file.js';
import type { NetworkOptions } from '../network/options.js';
import { podDns, renderResolvConf, type DnsWarning } from '../network/resolv-conf.js';

export const SHM_SIZE = '64m';

/** What the pod's /etc files are made from. */
export interface PodFilesInput {
  hostname: string;
  namespace: string;
  spec: PodSpec;
  network: Pick<NetworkOptions, 'clusterDNS' | 'clusterDomain' | 'resolvConf'>;
}

function readHostFile(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** /etc/hosts with the pod's addresses (none yet: loopback only); rewritten in place, so containers see it. */
export function writeHostsFile(paths: PodPaths, input: PodFilesInput, podIPs: readonly string[]): void {
  const text = renderHosts({
    hostname: input.hostname,
    namespace: input.namespace,
    spec: input.spec,
    podIPs,
    clusterDomain: input.network.clusterDomain,
    nodeHosts: input.spec.hostNetwork ? readHostFile('/etc/hosts') : '',
  });
  writeFileWithMode(paths.etc.hosts, text, MODE.podEtcFile);
}

/** Writes /etc/hosts, /etc/hostname and /etc/resolv.conf; returns what the kubelet would warn about DNS. */
export function writePodFiles(paths: PodPaths, input: PodFilesInput): DnsWarning[] {
  makeDir(dirname(paths.etc.hosts), MODE.podDir);
  // Every uid of every container reads them: the host's own mode (here
  // /etc/resolv.conf's) and the umask do not matter.
  writeHostsFile(paths, input, []);
  writeFileWithMode(paths.etc.hostname, `${input.hostname}\n`, MODE.podEtcFile);
  const { settings, warnings } = podDns({
    spec: input.spec,
    namespace: input.namespace,
    hostResolvConf: readHostFile(input.network.resolvConf),
    clusterDNS: input.network.clusterDNS,
    clusterDomain: input.network.clusterDomain,
  });
  writeFileWithMode(paths.etc.resolvConf, renderResolvConf(settings), MODE.podEtcFile);
  return warnings;
}

export function mountPodShm(paths: PodPaths): void {
  makeDir(paths.shm, MODE.podDir);
  mount('shm', paths.shm, 'tmpfs', ['nosuid', 'nodev', 'noexec'], `mode=${octal(MODE.shm)},size=${SHM_SIZE}`);
}

/** Unmounts everything the runtime mounted under a pod's directory. */
export function unmountPodDir(dir: string): void {
  for (const point of mountsUnder(dir)) umount(point, true);
}
