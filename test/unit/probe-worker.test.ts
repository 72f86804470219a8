// Probes in the pod worker, against the fake runtime (exec probes answer as
// the test says): what a failed liveness or startup probe makes the worker
// do, in CRI calls and events, and what readiness does to the status.
// Periods are the API's smallest (1 s), so each case takes a second or two.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import { readPods } from '../../src/manifest/read.js';
import type { FakeRuntime } from './fake-runtime.js';
import { fakeImages, startOnFake, tempRootPerTest, until } from './worker-harness.js';
import { discarded } from '../../src/runtime/discard.js';

const root = tempRootPerTest();

/** One container `a` (and a plain `b`) with the probes given as YAML under the container. */
function manifest(policy: string, probes: string, grace = 2): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: p}',
    'spec:',
    `  restartPolicy: ${policy}`,
    `  terminationGracePeriodSeconds: ${grace}`,
    '  containers:',
    '  - name: a',
    '    image: unit.test/app:1',
    '    command: [sh, -c, "true"]',
    probes.replace(/^/gm, '    '),
    '  - name: b',
    '    image: unit.test/app:1',
    '    command: [sh, -c, "true"]',
  ].join('\n');
}

async function start(yaml: string, setUp?: (f: FakeRuntime) => void): Promise<{ worker: PodWorker; fake: FakeRuntime }> {
  const p = readPods(yaml, 'test.yaml').pods[0];
  if (!p) throw new Error('no pod');
  fakeImages(root.paths, [p]);
  return startOnFake(p, root.paths, {}, setUp);
}

const probes = (f: FakeRuntime, word: string): number => f.calls.filter((c) => c.startsWith(`ExecSync a probe ${word}`)).length;
const events = (w: PodWorker): string[] => w.events.events.map((e) => `${e.reason}: ${e.message}`);
const status = (w: PodWorker, name = 'a') => w.computeStatus().containerStatuses.find((c) => c.name === name);

async function expectNothingLeft(f: FakeRuntime): Promise<void> {
  expect(f.sandboxes.size).toBe(0);
  expect(f.calls.at(-1)).toBe('Close');
  // The pod's directories are renamed away at its end and removed in the background.
  await discarded();
  expect(readdirSync(join(root.paths.state, 'pods'))).toEqual([]);
}

describe('probes in the pod worker', () => {
  it('a liveness probe failing past its threshold: Unhealthy, Killing, the stop signal, a restart', async () => {
    const yaml = manifest('Always', 'livenessProbe:\n  exec: {command: [alive]}\n  periodSeconds: 1\n  failureThreshold: 2');
    const { worker, fake } = await start(yaml);
    await until(() => probes(fake, 'alive') >= 1, 'the first liveness probe');
    expect(status(worker)).toMatchObject({ ready: true, started: true });
    fake.execAnswers.set('alive', { exitCode: 1 });
    await until(() => fake.calls.includes('CreateContainer a 1'), 'the restart', 5000);
    // Two failures in a row (one event, counted twice), then the kill, in the kubelet's words.
    const unhealthy = worker.events.events.find((e) => e.reason === 'Unhealthy');
    expect(unhealthy).toMatchObject({ type: 'Warning', message: 'Liveness probe failed:', fieldPath: 'spec.containers{a}' });
    expect(unhealthy?.count).toBeGreaterThanOrEqual(2);
    expect(events(worker)).toContain('Killing: Container a failed liveness probe, will be restarted');
    expect(fake.calls).toContain('Signal a SIGTERM');
    expect(worker.containers.get('a')?.obs.restartCount).toBe(1);
    expect(status(worker)?.lastState.terminated).toMatchObject({ exitCode: 143, reason: 'Error' });
    // b was never touched.
    expect(fake.calls.filter((c) => c.startsWith('CreateContainer b'))).toEqual(['CreateContainer b 0']);
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('under Never the container is killed and stays dead; the pod fails', async () => {
    const yaml = manifest('Never', 'livenessProbe:\n  exec: {command: [alive]}\n  periodSeconds: 1\n  failureThreshold: 1');
    const { worker, fake } = await start(yaml, (f) => f.execAnswers.set('alive', { exitCode: 1 }));
    await until(() => worker.containers.get('a')?.exited === true, 'the kill');
    expect(events(worker)).toContain('Killing: Container a failed liveness probe');
    fake.exit('b', 0);
    const result = await worker.done;
    expect(result.status.phase).toBe('Failed');
    expect(fake.calls.filter((c) => c.startsWith('CreateContainer a'))).toEqual(['CreateContainer a 0']);
    await expectNothingLeft(fake);
  });

  it('readiness: not ready until the probe passes, then ready, then not ready again; Ready follows', async () => {
    const yaml = manifest('Always', 'readinessProbe:\n  exec: {command: [ready]}\n  periodSeconds: 1');
    const { worker, fake } = await start(yaml, (f) => f.execAnswers.set('ready', { exitCode: 1 }));
    expect(status(worker)).toMatchObject({ ready: false, started: true });
    await until(() => probes(fake, 'ready') >= 1, 'the first readiness probe');
    const cond = () => worker.computeStatus().conditions.find((c) => c.type === 'Ready');
    expect(cond()).toMatchObject({ status: 'False', message: 'containers with unready status: [a]' });
    fake.execAnswers.set('ready', { exitCode: 0 });
    await until(() => status(worker)?.ready === true, 'ready', 3000);
    expect(cond()?.status).toBe('True');
    fake.execAnswers.set('ready', { exitCode: 1 });
    await until(() => status(worker)?.ready === false, 'not ready again', 5000);
    // Readiness never kills.
    expect(fake.calls).not.toContain('Signal a SIGTERM');
    expect(worker.containers.get('a')?.running).toBe(true);
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('a startup probe holds liveness and readiness back; never passing, it kills after failureThreshold', async () => {
    const yaml = manifest(
      'OnFailure',
      'startupProbe:\n  exec: {command: [booted]}\n  periodSeconds: 1\n  failureThreshold: 2\nlivenessProbe:\n  exec: {command: [alive]}\n  periodSeconds: 1\nreadinessProbe:\n  exec: {command: [ready]}\n  periodSeconds: 1',
    );
    const { worker, fake } = await start(yaml, (f) => f.execAnswers.set('booted', { exitCode: 1 }));
    expect(status(worker)).toMatchObject({ started: false, ready: false });
    await until(() => events(worker).includes('Killing: Container a failed startup probe, will be restarted'), 'the startup kill', 5000);
    // Killed after exactly two failures (the restarted attempt probes again at once).
    const killedAt = fake.calls.indexOf('Signal a SIGTERM');
    expect(fake.calls.slice(0, killedAt).filter((c) => c.startsWith('ExecSync a probe booted'))).toHaveLength(2);
    expect(probes(fake, 'alive') + probes(fake, 'ready')).toBe(0);
    // Restarted (OnFailure, killed by the kubelet), and this time it boots: readiness runs at once.
    fake.execAnswers.set('booted', { exitCode: 0 });
    await until(() => status(worker)?.ready === true, 'ready after startup', 5000);
    expect(status(worker)).toMatchObject({ started: true, restartCount: 1 });
    const calls = fake.calls.filter((c) => c.startsWith('ExecSync a probe'));
    expect(calls.indexOf('ExecSync a probe ready')).toBeGreaterThan(calls.lastIndexOf('ExecSync a probe booted'));
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('a container that ignores the stop signal is killed at the end of the probe’s terminationGracePeriodSeconds', async () => {
    const yaml = manifest('Always', 'livenessProbe:\n  exec: {command: [alive]}\n  periodSeconds: 1\n  failureThreshold: 1\n  terminationGracePeriodSeconds: 2', 30);
    const t0 = Date.now();
    const { worker, fake } = await start(yaml, (f) => {
      f.execAnswers.set('alive', { exitCode: 1 });
      f.ignoreTerm.add('a');
    });
    await until(() => fake.calls.includes('Kill a'), 'the SIGKILL', 6000);
    const took = Date.now() - t0;
    // 2 s (the probe's), not the pod's 30 s.
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(5000);
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('a pod being deleted stops liveness (no kill for it) and ends as usual', async () => {
    const yaml = manifest('Always', 'livenessProbe:\n  exec: {command: [alive]}\n  periodSeconds: 1\n  failureThreshold: 2');
    const { worker, fake } = await start(yaml, (f) => f.ignoreTerm.add('a'));
    await until(() => probes(fake, 'alive') >= 1, 'the first probe');
    fake.execAnswers.set('alive', { exitCode: 1 });
    const stopped = worker.stop({ gracePeriodSeconds: 2 });
    const before = probes(fake, 'alive');
    await stopped;
    expect(probes(fake, 'alive')).toBe(before);
    expect(events(worker).filter((e) => e.startsWith('Killing'))).toEqual(['Killing: Stopping container a', 'Killing: Stopping container b']);
    await expectNothingLeft(fake);
  });
});
