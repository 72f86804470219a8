// emptyDir sizeLimit on disk: a pod whose emptyDir holds more than its
// limit is evicted as the kubelet evicts it (every container killed at
// once, Failed, Evicted, the kubelet's message, a Warning event); a pod
// under its limit is left alone.
import { describe, expect, it } from 'vitest';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import type { Pod } from '../../src/manifest/types.js';
import { onTerm } from './fixtures.js';
import { freshRootPerTest, isAlive, isRoot, pod, sh, waitFor, type TestRoot } from './helpers.js';
import { start } from './pods.js';
import { waitForFile } from './waits.js';

/** Measured every 0.1 s here (the default is the kubelet's 10 s). */
const INTERVAL = 0.1;

const startWatched = async (root: TestRoot, p: Pod): Promise<PodWorker> => (await start(root, p, { evictionInterval: INTERVAL })).runtime;


describe.skipIf(!isRoot)('emptyDir sizeLimit on disk', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('41 MB written under an 8Mi limit: the pod is Evicted, every container killed at once, no restart', async () => {
    const runtime = await startWatched(
      root,
      pod(
        'hog',
        [
          sh('writer', 'dd if=/dev/zero of=/data/big bs=1M count=41 2>/dev/null; sync; echo written; sleep 1000', { volumeMounts: [{ name: 'data', mountPath: '/data' }] }),
          // Ignores SIGTERM: only a kill at once ends it before its grace period.
          sh('bystander', onTerm('', 'up', 1)),
        ],
        [{ name: 'data', emptyDir: { sizeLimit: '8Mi' } }],
        { restartPolicy: 'Always', terminationGracePeriodSeconds: 30 },
      ),
    );
    const pids = [...runtime.containers.values()].map((c) => c.pid as number);
    // Far inside the 30 s grace period the bystander would have had.
    let ended = false;
    void runtime.done.then(() => (ended = true));
    await waitFor('the pod to be evicted', () => ended, 10_000);
    const result = await runtime.done;
    expect(pids.every((p) => !isAlive(p))).toBe(true);

    expect(result.status).toMatchObject({ phase: 'Failed', reason: 'Evicted', message: 'Usage of EmptyDir volume "data" exceeds the limit "8Mi".' });
    const evicted = runtime.events.events.filter((e) => e.reason === 'Evicted');
    expect(evicted).toEqual([expect.objectContaining({ type: 'Warning', message: 'Usage of EmptyDir volume "data" exceeds the limit "8Mi".', count: 1 })]);
    for (const s of result.status.containerStatuses) {
      expect(s.restartCount, s.name).toBe(0);
      expect(s.state.terminated, s.name).toMatchObject({ signal: 9, exitCode: 137 });
    }
  }, 30_000);

  it('a pod under its limit is left alone, however often it is measured', async () => {
    const runtime = await startWatched(
      root,
      pod(
        'modest',
        [sh('writer', 'dd if=/dev/zero of=/data/some bs=1M count=4 2>/dev/null; sync; echo written; sleep 1000', { volumeMounts: [{ name: 'data', mountPath: '/data' }] })],
        [{ name: 'data', emptyDir: { sizeLimit: '8Mi' } }],
        { restartPolicy: 'Always' },
      ),
    );
    await waitForFile(runtime.paths.log('writer', 0), 'written', 10_000);
    // The subject: a window of ten measures, in which nothing may happen.
    await new Promise((r) => setTimeout(r, INTERVAL * 10 * 1000));
    const status = runtime.computeStatus();
    expect(status.phase).toBe('Running');
    expect(status.reason).toBeUndefined();
    expect(runtime.events.events.some((e) => e.reason === 'Evicted')).toBe(false);
    expect(runtime.containers.get('writer')?.running).toBe(true);
    await runtime.stop({ force: true });
  }, 30_000);
});
