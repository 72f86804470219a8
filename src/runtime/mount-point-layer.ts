// The files of /etc a container's root needs as mount points (hostname,
// resolv.conf, hosts) and its image lacks. Made in the container's root at
// each start, each (and /etc with it) was copied up into the container's
// writable layer on disk: four entries a container, 0.1-0.6 ms each on this
// host's ext4. Instead a small read-only layer holding just those empty files
// sits on top of the image's layers; it is made once per shape of the
// image's /etc in the state root and shared by every container of it.
//
// Its etc/ takes the image's /etc mode, owner and mtime (overlayfs shows a
// merged directory with its top layer's), and it is used only where the
// image's /etc is a real directory and the name is missing altogether: a
// link (resolv.conf -> ../run/...) is left for the plan to follow, as before.
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, utimesSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { FsView } from '../plan/scoped-path.js';
import { madeByMe } from './discard.js';
import { MODE, makeOwnDir } from './modes.js';

export const ETC_MOUNT_POINTS = ['hostname', 'resolv.conf', 'hosts'] as const;
type EtcName = (typeof ETC_MOUNT_POINTS)[number];

/** The layer for an image (its root's view `fs`) whose container mounts the files `mounted` of /etc: its directory, or null when none is needed or it cannot stand in. */
export function mountPointLayerDir(stateRoot: string, rootfs: string, fs: FsView, mounted: readonly EtcName[]): string | null {
  const etc = posix.join(rootfs, 'etc');
  const attrs = fs.dirAttrs?.(etc) ?? null;
  if (!attrs) return null;
  const missing = ETC_MOUNT_POINTS.filter((n) => mounted.includes(n) && !fs.exists(posix.join(etc, n)));
  if (missing.length === 0) return null;
  const key = `${attrs.mode.toString(8)}-${attrs.uid}-${attrs.gid}-${Math.trunc(attrs.mtimeMs)}-${missing.join('+')}`;
  return join(stateRoot, 'mount-points', key);
}

/** The files of /etc a container's plan mounts: hostname and resolv.conf always (plan/container.ts), hosts when the config mounts it. */
export function etcMountPoints(config: { mounts: ReadonlyArray<{ containerPath: string }> }): EtcName[] {
  const hosts = config.mounts.some((m) => posix.resolve('/', m.containerPath) === '/etc/hosts');
  return hosts ? ['hostname', 'resolv.conf', 'hosts'] : ['hostname', 'resolv.conf'];
}

const made = new Set<string>();

/** Makes the layer `dir` (named by mountPointLayerDir) unless it exists: built aside, then renamed into place, so another process never sees it half made. */
export function ensureMountPointLayer(dir: string): void {
  if (made.has(dir) || existsSync(dir)) {
    made.add(dir);
    return;
  }
  const parent = join(dir, '..');
  makeOwnDir(parent, MODE.rootDir);
  const m = /^([0-7]+)-(\d+)-(\d+)-(\d+)-(.+)$/.exec(dir.slice(parent.length + 1));
  if (!m) throw new Error(`not a mount-point layer: ${dir}`);
  const [, mode, uid, gid, mtime, names] = m as unknown as [string, string, string, string, string, string];
  const staging = mkdtempSync(join(parent, madeByMe('.new-')));
  try {
    const etc = join(staging, 'etc');
    mkdirSync(etc, { mode: 0o700 });
    for (const name of names.split('+')) closeSync(openSync(join(etc, name), 'wx', MODE.podEtcFile));
    chownSync(etc, Number(uid), Number(gid));
    utimesSync(etc, new Date(Number(mtime)), new Date(Number(mtime)));
    // chmod after chown (which clears setgid); it keeps the mtime.
    chmodSync(etc, parseInt(mode, 8));
    renameSync(staging, dir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    // Another process made it first: theirs is the same.
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
  }
  made.add(dir);
}
