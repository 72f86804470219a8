// Workloads more than one suite runs, written once: containers that meet
// SIGTERM in a known way, and an orphan that ends when told to (not after a
// guessed time), so that a test sees it adopted, then reaped.
import { execIn } from './helpers.js';
import { childrenOf, nsPid } from './proc.js';
import { waitUntil } from './waits.js';

/**
 * A shell that runs until killed and meets SIGTERM with `action`: '' ignores
 * it, 'exit 0' ends, 'echo ignoring TERM' says so and goes on. Until its
 * trap is set TERM kills it: wait for `ready` in its log, printed once the
 * trap is set, or for waitForTrap on its pid.
 */
export function onTerm(action: string, ready = '', period = 0.1): string {
  return `trap "${action}" TERM;${ready ? ` echo ${ready};` : ''} while true; do sleep ${period}; done`;
}

/**
 * For `sh -c '${ORPHAN}'` in a container's script: a process orphaned at
 * once (the shell that started it exits), that ends when /tmp/go appears in
 * its container. Its pid in the pod is written to /tmp/orphan.
 */
export const ORPHAN = '(until [ -e /tmp/go ]; do sleep 0.02; done) & echo $! > /tmp/orphan';

/** The host pid of the ORPHAN of the container whose process is `pid`, once `reaper` (pause, or pause --init) has adopted it. */
export async function adoptedOrphan(pid: number, reaper: number): Promise<number> {
  const inPod = await waitUntil('the orphan pid', async () => Number((await execIn(pid, ['cat', '/tmp/orphan'])).stdout.trim()) || null);
  return waitUntil(`the orphan (pid ${inPod} in the pod) to be adopted by pid ${reaper}`, () => childrenOf(reaper).find((p) => nsPid(p) === inPod));
}

/** Ends the ORPHAN of the container whose process is `pid`. */
export async function releaseOrphan(pid: number): Promise<void> {
  const touched = await execIn(pid, ['touch', '/tmp/go']);
  if (touched.code !== 0) throw new Error(`cannot touch /tmp/go in pid ${pid}: ${touched.stderr}`);
}
