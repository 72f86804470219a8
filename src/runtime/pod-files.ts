// The files a pod shares across its containers, kept by the runtime like the
// kubelet keeps them: /etc/hosts, /etc/hostname, /etc/resolv.conf, and the
// pod's /dev/shm (one tmpfs, mounted on the host under the pod's directory).
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mount, umount } from '../native/addon.js';
import { mountsUnder } from './proc.js';
import { makeDir, MODE, octal, writeFileWithMode } from './modes.js';
import type { DNSConfig } from './api.js';
import type { PodPaths } from './paths.js';

export const SHM_SIZE = '64m';

export function hostsFile(hostname: string): string {
  return [
    '# Kubernetes-managed hosts file (peapod).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    // No pod IP yet (loopback only): the name resolves on lo, Debian-style.
    `127.0.1.1\t${hostname}`,
    '',
  ].join('\n');
}

/** resolv.conf of a DNS config, as containerd writes it; none: the node's own. */
export function resolvConf(dns: DNSConfig | undefined): string {
  if (!dns || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0)) {
    return existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
  }
  return [
    ...(dns.searches.length > 0 ? [`search ${dns.searches.join(' ')}`] : []),
    ...dns.servers.map((s) => `nameserver ${s}`),
    ...(dns.options.length > 0 ? [`options ${dns.options.join(' ')}`] : []),
    '',
  ].join('\n');
}

/** The runtime's files of a sandbox: /etc/hostname and /etc/resolv.conf. */
export function writeSandboxFiles(paths: PodPaths, hostname: string, dns?: DNSConfig): void {
  makeDir(dirname(paths.etc.hostname), MODE.podDir);
  // Every uid of every container reads them: the host's own mode (here
  // /etc/resolv.conf's) and the umask do not matter.
  writeFileWithMode(paths.etc.hostname, `${hostname}\n`, MODE.podEtcFile);
  writeFileWithMode(paths.etc.resolvConf, resolvConf(dns), MODE.podEtcFile);
}

/** The kubelet's file of a pod: /etc/hosts (its etc-hosts), mounted into each container. */
export function writeHostsFile(paths: PodPaths, hostname: string): void {
  makeDir(dirname(paths.etc.hosts), MODE.podDir);
  writeFileWithMode(paths.etc.hosts, hostsFile(hostname), MODE.podEtcFile);
}

export function mountPodShm(paths: PodPaths): void {
  makeDir(paths.shm, MODE.podDir);
  mount('shm', paths.shm, 'tmpfs', ['nosuid', 'nodev', 'noexec'], `mode=${octal(MODE.shm)},size=${SHM_SIZE}`);
}

/** Unmounts everything the runtime mounted under a pod's directory. */
export function unmountPodDir(dir: string): void {
  for (const point of mountsUnder(dir)) umount(point, true);
}
