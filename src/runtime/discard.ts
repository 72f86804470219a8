// Directories that go without anyone waiting for them: renamed away at once
// (one rename; the name is free again and nothing half-removed is ever seen
// under it), then removed in the background on libuv's threads, after the
// caller has reported the thing gone. A holder's name says which process
// made it (`.reclaim-<pid>-<start time>-`): if this process dies first, the
// next peapod's reclaim removes what is left (src/node/stale.ts); if it
// exits, what is still pending is removed before it does.
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { processStartTime } from './proc.js';

/** Where a stale pod's (or a discarded) directory goes while it is being removed. */
export const RECLAIM_PREFIX = '.reclaim-';

/** The name prefix of a directory this process makes in passing: `.claim-<pid>-<start time>-`. */
export function madeByMe(prefix: string): string {
  return `${prefix}${process.pid}-${processStartTime(process.pid) ?? 0}-`;
}

/** Renames `dir` into a fresh `.reclaim-` directory of this process in `into` (beside it by default; the same filesystem); null if it is not there. */
export function takeAway(dir: string, into: string = dirname(dir)): string | null {
  if (!existsSync(dir)) return null;
  const holder = mkdtempSync(join(into, madeByMe(RECLAIM_PREFIX)));
  try {
    renameSync(dir, join(holder, 'pod'));
  } catch (err) {
    rmSync(holder, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return holder;
}

/**
 * Where this process's discards wait, one holder per directory they are put
 * in, shared by every discard until the holder empties: a pod's delete puts
 * its data, its state and each container's layers aside with one mkdir a
 * filesystem instead of one each (on an ext4 a new directory costs a block
 * and an inode).
 */
interface Holder {
  path: string;
  /** Entries in it not yet removed. */
  left: number;
  /** The next entry's name. */
  next: number;
}

const holders = new Map<string, Holder>();

/** What is being removed (entries, emptied holders), by path. */
const pending = new Map<string, Promise<void>>();

/** Set once this process has only to finish its pods and exit (see removeInPlace). */
let exiting = false;

/**
 * From now on discard() removes in place, synchronously: a process that
 * exits once its pods are gone (a CLI call) waits for their directories
 * anyway, so renaming them aside and handing them to other threads would only
 * add work on the way to its exit.
 */
export function removeInPlace(): void {
  exiting = true;
}

function finishOnExit(): void {
  // An exiting process cannot wait: what is left goes now, synchronously.
  for (const path of pending.keys()) rmSync(path, { recursive: true, force: true });
  for (const holder of holders.values()) rmSync(holder.path, { recursive: true, force: true });
}

function track(path: string, removal: Promise<unknown>, then: () => void = () => undefined): Promise<void> {
  if (pending.size === 0) process.once('exit', finishOnExit);
  const gone = removal
    .catch(() => undefined)
    .then(then)
    .finally(() => {
      pending.delete(path);
      if (pending.size === 0) process.removeListener('exit', finishOnExit);
    });
  pending.set(path, gone);
  return gone;
}

function holderIn(into: string): Holder {
  let holder = holders.get(into);
  if (!holder) {
    holder = { path: mkdtempSync(join(into, madeByMe(RECLAIM_PREFIX))), left: 0, next: 0 };
    holders.set(into, holder);
  }
  return holder;
}

/** One entry of `holder` is gone: the last one takes the holder with it (a later discard makes another). */
function release(into: string, holder: Holder): void {
  if (--holder.left > 0 || holders.get(into) !== holder) return;
  holders.delete(into);
  void track(holder.path, rmdir(holder.path));
}

/**
 * `dir` renamed into this process's holder in `into` (beside it by
 * default: the same filesystem) now, and removed in the background; where
 * it cannot be renamed (another filesystem, a mount point, no holder can be
 * made there), removed now. Resolves once it is gone (a failed removal is
 * left to the reclaim).
 */
export function discard(dir: string, into: string = dirname(dir)): Promise<void> {
  if (!existsSync(dir)) return Promise.resolve();
  const holder = exiting ? null : moveInto(dir, into);
  if (!holder) {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  }
  return track(holder.entry, rm(holder.entry, { recursive: true, force: true }), () => release(into, holder.holder));
}

/** `dir` renamed into this process's holder in `into`; null where it cannot be (the holder made for it goes again). */
function moveInto(dir: string, into: string): { holder: Holder; entry: string } | null {
  let holder: Holder | undefined;
  try {
    holder = holderIn(into);
    const entry = join(holder.path, String(holder.next++));
    renameSync(dir, entry);
    holder.left++;
    return { holder, entry };
  } catch {
    if (holder && holder.left === 0) {
      holders.delete(into);
      try {
        rmSync(holder.path, { recursive: true, force: true });
      } catch {
        // Made for this entry only; if it cannot go now, the reclaim takes it (its name says whose it is).
      }
    }
    return null;
  }
}

/** Resolves once every directory this process discarded is gone. */
export async function discarded(): Promise<void> {
  while (pending.size > 0) await Promise.all(pending.values());
}
