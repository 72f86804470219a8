// Directories that go without anyone waiting for them: renamed away at once
// (one rename; the name is free again and nothing half-removed is ever seen
// under it), then removed in the background on libuv's threads, after the
// caller has reported the thing gone. A holder's name says which process
// made it (`.reclaim-<pid>-<start time>-`): if this process dies first, the
// next peapod's reclaim removes what is left (src/node/stale.ts); if it
// exits, what is still pending is removed before it does.
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
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
  for (const holder of pending.keys()) rmSync(holder, { recursive: true, force: true });
}

/**
 * `dir` renamed into a holder in `into` now and removed in the background;
 * where it cannot be renamed (another filesystem, a mount point), removed
 * now. Resolves once it is gone (a failed removal is left to the reclaim).
 */
export function discard(dir: string, into?: string): Promise<void> {
  if (exiting) {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  }
  let holder: string | null;
  try {
    holder = takeAway(dir, into);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  }
  if (holder === null) return Promise.resolve();
  if (pending.size === 0) process.once('exit', finishOnExit);
  const gone = rm(holder, { recursive: true, force: true })
    .catch(() => undefined)
    .finally(() => {
      pending.delete(holder);
      if (pending.size === 0) process.removeListener('exit', finishOnExit);
    });
  pending.set(holder, gone);
  return gone;
}

/** Resolves once every directory this process discarded is gone. */
export async function discarded(): Promise<void> {
  while (pending.size > 0) await Promise.all(pending.values());
}
