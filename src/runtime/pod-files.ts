// The files a pod shares across its containers, kept by the runtime like the
// kubelet keeps them: /etc/hosts, /etc/hostname, /etc/resolv.conf, and the
// pod's /dev/shm (one tmpfs, mounted on the host under the pod's directory).
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mount, umount } from '../native/addon.js';
import { mountsUnder } from './proc.js';
import { makeDir, MODE, octal, writeFileWithMode } from './modes.js';
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

export function writePodFiles(paths: PodPaths, hostname: string): void {
  makeDir(dirname(paths.etc.hosts), MODE.podDir);
  // Every uid of every container reads them: the host's own mode (here
  // /etc/resolv.conf's) and the umask do not matter.
  writeFileWithMode(paths.etc.hosts, hostsFile(hostname), MODE.podEtcFile);
  writeFileWithMode(paths.etc.hostname, `${hostname}\n`, MODE.podEtcFile);
  // dnsPolicy Default: the node's resolver configuration.
  writeFileWithMode(paths.etc.resolvConf, existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf') : '', MODE.podEtcFile);
}

export function mountPodShm(paths: PodPaths): void {
  makeDir(paths.shm, MODE.podDir);
  mount('shm', paths.shm, 'tmpfs', ['nosuid', 'nodev', 'noexec'], `mode=${octal(MODE.shm)},size=${SHM_SIZE}`);
}

/** Unmounts everything the runtime mounted under a pod's directory. */
export function unmountPodDir(dir: string): void {
  for (const point of mountsUnder(dir)) umount(point, true);
}
