// The files a sandbox shares with its containers: /etc/hostname,
// /etc/resolv.conf from the DNS config the kubelet gives, /dev/shm (one
// tmpfs, mounted on the host under the pod's directory). Their text is made
// in src/network; the kubelet's /etc/hosts is in src/kubelet/hosts-file.ts.
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mount, umount } from '../native/addon.js';
import { mountsUnder } from './mountinfo.js';
import { makeDir, MODE, octal, writeFileWithMode } from './modes.js';
import type { DNSConfig } from './api.js';
import type { PodPaths } from './paths.js';
import { renderResolvConf } from '../network/resolv-conf.js';

export const SHM_SIZE = '64m';

/** A file of the host, or nothing when it is missing. */
export function readHostFile(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
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

/** Unmounts everything the runtime mounted under a pod's directories (its state's and its data's: mountinfo read once). */
export function unmountPodDir(...dirs: string[]): void {
  for (const point of mountsUnder(...new Set(dirs))) umount(point, true);
}
