// pause in trouble: killed again and again (each restart waits for the old
// sandbox to be gone, so no container is started into a dying PID
// namespace), and stopped with SIGSTOP when the pod is deleted.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import { pidsInNamespace } from '../../src/runtime/proc.js';
import { freshRootPerTest, isAlive, isRoot, nsInode, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { start } from './pods.js';
import { waitForExit } from './waits.js';

const KILLS = 10;

describe.skipIf(!isRoot)('pause in trouble', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  const startPod = async (name: string): Promise<PodWorker> => (await start(root, pod(name, [sh('c', 'sleep 600')], [], { restartPolicy: 'Always' }))).runtime;

  it(`pause killed ${KILLS} times: ${KILLS} restarts in ${KILLS} new sandboxes, no failed start, no back-off`, async () => {
    const runtime = await startPod('killed');
    const c = runtime.containers.get('c')!;
    for (let i = 1; i <= KILLS; i++) {
      const pause = runtime.sandbox.pid;
      process.kill(pause, 'SIGKILL');
      await waitFor(`restart ${i} in a new sandbox`, () => {
        if (runtime.events.events.some((e) => e.type === 'Warning')) return true;
        return runtime.sandbox.pid !== pause && c.running && c.obs.restartCount >= i && isAlive(c.pid);
      });
      root.pids.add(runtime.sandbox.pid);
      root.pids.add(c.pid);
      expect(runtime.events.events.filter((e) => e.type === 'Warning')).toEqual([]);
    }
    expect(c.status().restartCount).toBe(KILLS);
    expect(nsInode(c.pid, 'pid')).toBe(nsInode(runtime.sandbox.pid, 'pid'));
    expect(runtime.events.events.find((e) => e.reason === 'SandboxChanged')?.count).toBe(KILLS);
  }, 60_000);

  it('a container is not restarted into a sandbox that is still dying', async () => {
    const runtime = await startPod('dying');
    const c = runtime.containers.get('c')!;
    const pause = runtime.sandbox.pid;
    const first = c.pid;
    // A process of the pod's PID namespace whose parent, outside the pod, is stopped: pause
    // cannot finish dying (the kernel waits for every process of its namespace to be reaped).
    const holder = spawn('nsenter', ['-t', String(pause), '-p', '--', 'sleep', '600'], { stdio: 'ignore' });
    const podPidNs = nsInode(pause, 'pid');
    await waitFor('the held process in the pod', () => pidsInNamespace('pid', podPidNs).length === 3);
    process.kill(holder.pid!, 'SIGSTOP');
    try {
      process.kill(pause, 'SIGKILL');
      await waitFor('a restart, or a failed one', () => runtime.events.events.some((e) => e.type === 'Warning') || (c.obs.restartCount === 1 && c.pid !== first && c.running));
      expect(runtime.events.events.filter((e) => e.type === 'Warning')).toEqual([]);
      expect(runtime.sandbox.pid).not.toBe(pause);
      root.pids.add(runtime.sandbox.pid);
      root.pids.add(c.pid);
      expect(nsInode(c.pid, 'pid')).toBe(nsInode(runtime.sandbox.pid, 'pid'));
    } finally {
      process.kill(holder.pid!, 'SIGCONT');
      await new Promise((resolve) => (holder.exitCode !== null || holder.signalCode !== null ? resolve(null) : holder.on('exit', resolve)));
    }
    await waitForExit(pause, 'the old pause gone');
  }, 30_000);

  for (const force of [false, true]) {
    it(`a SIGSTOPped pause does not hold up a delete${force ? ' --force' : ''}`, async () => {
      const runtime = await startPod(force ? 'stopped-force' : 'stopped');
      const pause = runtime.sandbox.pid;
      process.kill(pause, 'SIGSTOP');
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        runtime.stop(force ? { force: true } : { gracePeriodSeconds: 2 }).then(() => 'stopped'),
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve('hung'), 8000))),
      ]);
      clearTimeout(timer);
      // A hung delete is let go (SIGCONT) so that the test can end clean.
      if (outcome === 'hung') process.kill(pause, 'SIGCONT');
      expect(outcome).toBe('stopped');
      expect((Date.now() - t0) / 1000).toBeLessThan(force ? 2 : 5);
      expect(isAlive(pause)).toBe(false);
    }, 30_000);
  }
});
