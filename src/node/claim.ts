// Claiming a pod's name under a state root, atomically: the pod's directory
// appears by rename already holding its record, so another peapod never
// sees it half-made (and never mistakes it for stale). Under the root's
// lock, so that a stale pod of that name (or its tombstone) is taken away
// and the name claimed in one step that no other claim or reclaim can cut.
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { prepareRoots, type PodPaths, type RuntimePaths } from '../runtime/paths.js';
import { withRootLock } from './root-lock.js';
import { CLAIM_PREFIX, cleanUp, madeByMe, moveAway, moveAwayData, podState, reclaimPodNetwork, type Moved } from './stale.js';
import { writeRecord, type PodRecord } from './state.js';

export class PodExistsError extends Error {
  override name = 'PodExistsError';
}

export async function claimName(paths: RuntimePaths, pp: PodPaths, name: string, record: PodRecord): Promise<void> {
  const pods = join(paths.state, 'pods');
  prepareRoots(paths);
  // Named after this process: until it is renamed into place, no reclaim takes it while this process runs.
  const staging = mkdtempSync(join(pods, madeByMe(CLAIM_PREFIX)));
  let moved: Moved[];
  try {
    try {
      writeRecord(join(staging, 'runtime.json'), record);
    } catch (err) {
      throw new Error(`cannot write the pod's record ${pp.recordFile}: ${(err as Error).message}`);
    }
    moved = await withRootLock(paths.state, () => claimLocked(paths, pp, name, staging));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  for (const m of moved) await cleanUp(m);
  if (moved.length > 0) await reclaimPodNetwork(paths, name);
}

/** Renames the claim into place, taking away a stale pod or tombstone of the name first; returns what it took. */
function claimLocked(paths: RuntimePaths, pp: PodPaths, name: string, staging: string): Moved[] {
  const moved: Moved[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      renameSync(staging, pp.state);
      // Data of the name with no pod to own it (its state was removed, not its data) is not this pod's.
      const data = pp.data !== pp.state && existsSync(pp.data) ? moveAwayData(pp.data) : null;
      return data ? [...moved, data] : moved;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
    }
    const found = podState(paths, name);
    if (found.kind === 'live') {
      const by = found.pid === null ? 'a running peapod' : `pid ${found.pid}`;
      throw new PodExistsError(`pod "${name}" already exists under ${paths.state} (supervised by ${by}); delete it first or choose another metadata.name`);
    }
    if (found.kind === 'adoptable') {
      throw new PodExistsError(`pod "${name}" already exists under ${paths.state} (a pod of the peapod daemon, which is not running now: any peapod command on this root starts it again); delete it first or choose another metadata.name`);
    }
    if (found.kind === 'unreadable') {
      throw new PodExistsError(
        `pod "${name}" exists under ${paths.state}, but its record cannot be read (${found.reason}) and no peapod supervises it; \`peapod delete pod ${name}\` removes what is left of it`,
      );
    }
    if (found.kind === 'stale') moved.push(moveAway(paths, name, found.record, false));
  }
  throw new PodExistsError(`pod "${name}": could not claim ${pp.state}`);
}
