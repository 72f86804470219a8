// A handle on the pod's network namespace that outlives pause: its
// /proc/PID/ns/net bind-mounted onto a file, as `ip netns` and containerd
// pin theirs. CNI_NETNS names it, so a DEL after pause died (or after its
// supervisor did) still finds the pod's interface to remove. Mounting is a
// system call of this process on its own mount namespace; no namespace of
// the runtime changes.
import { closeSync, rmSync } from 'node:fs';
import { mount, umount } from '../native/addon.js';
import { MODE, openWithMode } from '../runtime/modes.js';
import { mountsUnder } from '../runtime/mountinfo.js';
import { isSameProcess } from '../runtime/proc.js';

export class NetnsPinError extends Error {
  override name = 'NetnsPinError';
}

/** Pins the network namespace of `pid` (whose start time is `startTime`) at `path`. */
export function pinNetns(pid: number, startTime: number, path: string): void {
  closeSync(openWithMode(path, 'w', MODE.record));
  try {
    mount(`/proc/${pid}/ns/net`, path, '', ['bind']);
  } catch (err) {
    rmSync(path, { force: true });
    throw new NetnsPinError(`pinning the network namespace of pause (pid ${pid}) at ${path}: ${(err as Error).message}`);
  }
  // The pid named the pause we started only if it is still that process.
  if (!isSameProcess(pid, startTime)) {
    unpinNetns(path);
    throw new NetnsPinError(`pause (pid ${pid}) exited before its network namespace was pinned`);
  }
}

export function isPinned(path: string): boolean {
  return mountsUnder(path).includes(path);
}

/** Unmounts and removes the pin; the namespace goes once nothing else holds it. */
export function unpinNetns(path: string): void {
  // Stacked mounts (a pin made twice) come off one at a time.
  while (isPinned(path)) umount(path, true);
  rmSync(path, { force: true });
}
