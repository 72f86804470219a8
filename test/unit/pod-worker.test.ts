// The kubelet's half run against a runtime layer without processes
// (fake-runtime.ts): the CRI calls the pod worker makes, in order, and the
// status it computes, for each thing a kernel can say. No root needed.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import type { RuntimePaths } from '../../src/runtime/paths.js';
import { readPods } from '../../src/manifest/read.js';
import type { FakeRuntime } from './fake-runtime.js';
import { fakeImages, startOnFake, tempRoot, until } from './worker-harness.js';
import { discarded } from '../../src/runtime/discard.js';

let root: string;
let paths: RuntimePaths;
let fake: FakeRuntime | undefined;

beforeEach(() => {
  ({ root, paths } = tempRoot());
  fake = undefined;
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function pod(yaml: string): ReturnType<typeof readPods>['pods'][number] {
  return readPods(yaml, 'test.yaml').pods[0] as ReturnType<typeof readPods>['pods'][number];
}

/** A pod with these containers (name: command), under a policy. */
function manifest(policy: string, containers: string[], init: string[] = [], extra = ''): string {
  const list = (names: string[]): string => names.map((n) => `  - name: ${n}\n    image: unit.test/app:1\n    command: [sh, -c, "true"]\n`).join('');
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: p',
    'spec:',
    `  restartPolicy: ${policy}`,
    '  terminationGracePeriodSeconds: 2',
    ...(init.length > 0 ? ['  initContainers:', list(init).trimEnd()] : []),
    '  containers:',
    list(containers).trimEnd(),
    extra,
  ].join('\n');
}

async function start(yaml: string, setUp?: (f: FakeRuntime) => void): Promise<{ worker: PodWorker; fake: FakeRuntime }> {
  try {
    const p = pod(yaml);
    fakeImages(paths, [p]);
    const started = await startOnFake(p, paths, {}, setUp);
    fake = started.fake;
    return started;
  } catch (err) {
    fake = (err as { fake?: FakeRuntime }).fake;
    throw err;
  }
}

const count = (f: FakeRuntime, call: string): number => f.calls.filter((c) => c === call).length;

async function expectNothingLeft(f: FakeRuntime): Promise<void> {
  expect(f.sandboxes.size).toBe(0);
  expect(f.containers.size).toBe(0);
  expect(f.calls.at(-1)).toBe('Close');
  // The pod's directories are renamed away at its end and removed in the background.
  await discarded();
  expect(readdirSync(join(paths.state, 'pods'))).toEqual([]);
  expect(readdirSync(join(paths.data, 'pods'))).toEqual([]);
}

describe('the pod worker against a fake runtime', () => {
  it('starts a sandbox, then every app container in order', async () => {
    const { worker, fake } = await start(manifest('Never', ['a', 'b']));
    expect(fake.calls.slice(0, 5)).toEqual(['RunPodSandbox 0', 'CreateContainer a 0', 'StartContainer a', 'CreateContainer b 0', 'StartContainer b']);
    expect(worker.computeStatus().phase).toBe('Running');
    fake.exit('a', 0);
    fake.exit('b', 0);
    const result = await worker.done;
    expect(result.status.phase).toBe('Succeeded');
    expect(result.exitCode).toBe(0);
    expect(fake.calls.slice(5)).toEqual(['StopPodSandbox', 'RemovePodSandbox', 'Close']);
    await expectNothingLeft(fake);
  });

  it.each([
    // policy, exit code, restarted?, the phase when it is not
    ['Always', 0, true, ''],
    ['Always', 3, true, ''],
    ['OnFailure', 0, false, 'Succeeded'],
    ['OnFailure', 3, true, ''],
    ['Never', 0, false, 'Succeeded'],
    ['Never', 3, false, 'Failed'],
  ] as const)('restartPolicy %s, exit %i: restarted %s', async (policy, code, restarted, phase) => {
    const { worker, fake } = await start(manifest(policy, ['a']));
    fake.exit('a', code);
    if (restarted) {
      // The first restart is at once; the attempt number says which one it is.
      await until(() => fake.calls.includes('CreateContainer a 1'), 'the restart');
      expect(worker.containers.get('a')?.obs.restartCount).toBe(1);
      expect(fake.calls).toContain('RemoveContainer a');
      void worker.stop({ force: true });
    } else {
      await until(() => worker.computeStatus().phase === phase, `phase ${phase}`);
    }
    const result = await worker.done;
    expect(count(fake, 'CreateContainer a 1')).toBe(restarted ? 1 : 0);
    if (!restarted) expect(result.exitCode).toBe(code);
    await expectNothingLeft(fake);
  });

  it('backs off a crash loop: CrashLoopBackOff between attempts, delays growing', async () => {
    const { worker, fake } = await start(manifest('Always', ['a']));
    const startedAt: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      fake.exit('a', 1);
      if (attempt > 1) await until(() => worker.containers.get('a')?.obs.waiting?.reason === 'CrashLoopBackOff', 'CrashLoopBackOff');
      await until(() => fake.calls.includes(`CreateContainer a ${attempt}`), `attempt ${attempt}`);
      startedAt.push(Date.now());
    }
    // Delays: 0, then 0.05 s, then 0.1 s: the third gap is the longer.
    const gaps = [(startedAt[1] as number) - (startedAt[0] as number), (startedAt[2] as number) - (startedAt[1] as number)];
    expect(gaps[0]).toBeGreaterThanOrEqual(40);
    expect(gaps[1]).toBeGreaterThanOrEqual(90);
    // One event, counted twice, as kubectl describe shows "x2".
    expect(worker.events.events.find((e) => e.reason === 'BackOff')?.count).toBe(2);
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('runs init containers one at a time, then the app containers', async () => {
    const { worker, fake } = await start(manifest('Always', ['app'], ['i1', 'i2']));
    expect(fake.calls).toEqual(['RunPodSandbox 0', 'CreateContainer i1 0', 'StartContainer i1']);
    expect(worker.computeStatus().containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'PodInitializing' } });
    fake.exit('i1', 0);
    await until(() => fake.calls.includes('StartContainer i2'), 'i2');
    expect(fake.calls).not.toContain('CreateContainer app 0');
    fake.exit('i2', 0);
    await until(() => fake.calls.includes('StartContainer app'), 'app');
    expect(worker.computeStatus().phase).toBe('Running');
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('a failed init container under Never fails the pod; the app container never exists', async () => {
    const { worker, fake } = await start(manifest('Never', ['app'], ['i1']));
    fake.exit('i1', 2);
    const result = await worker.done;
    expect(result.status.phase).toBe('Failed');
    expect(result.exitCode).toBe(2);
    expect(fake.calls.some((c) => c.startsWith('CreateContainer app'))).toBe(false);
    await expectNothingLeft(fake);
  });

  it('pause dies: a new sandbox (attempt 1), the init containers again, then the app', async () => {
    const { worker, fake } = await start(manifest('Always', ['app'], ['i1']));
    fake.exit('i1', 0);
    await until(() => fake.calls.includes('StartContainer app'), 'app');
    fake.calls.length = 0;
    fake.killPause();
    await until(() => fake.calls.includes('StartContainer i1'), 'i1 in the new sandbox');
    expect(fake.calls.slice(0, 4)).toEqual(['StopPodSandbox', 'RemovePodSandbox', 'RunPodSandbox 1', 'CreateContainer i1 1']);
    expect(worker.events.events.some((e) => e.reason === 'SandboxChanged')).toBe(true);
    fake.exit('i1', 0);
    await until(() => fake.calls.filter((c) => c === 'StartContainer app').length === 1, 'app in the new sandbox');
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('Never and pause dies: the pod ends, not a new sandbox', async () => {
    const { worker, fake } = await start(manifest('Never', ['a']));
    fake.killPause();
    const result = await worker.done;
    expect(result.status.phase).toBe('Failed');
    expect(count(fake, 'RunPodSandbox 1')).toBe(0);
    await expectNothingLeft(fake);
  });

  it('stop: preStop, then the stop signal; SIGKILL only for what ignores it, at the end of the grace period', async () => {
    const yaml = manifest('Always', ['polite', 'stubborn']).replace(
      '  - name: polite\n    image: unit.test/app:1\n    command: [sh, -c, "true"]',
      '  - name: polite\n    image: unit.test/app:1\n    command: [sh, -c, "true"]\n    lifecycle:\n      preStop:\n        exec:\n          command: [cleanup]',
    );
    const { worker, fake } = await start(yaml, (f) => f.ignoreTerm.add('stubborn'));
    const t0 = Date.now();
    const result = await worker.stop();
    const took = Date.now() - t0;
    const order = fake.calls.filter((c) => /^(ExecSync|Signal|Kill|StopPodSandbox)/.test(c));
    expect(order.indexOf('ExecSync polite PreStop cleanup')).toBeLessThan(order.indexOf('Signal polite SIGTERM'));
    expect(order).toContain('Signal stubborn SIGTERM');
    expect(order).toContain('Kill stubborn');
    expect(order).not.toContain('Kill polite');
    expect(order.at(-1)).toBe('StopPodSandbox');
    // terminationGracePeriodSeconds: 2, the kubelet's floor: the stubborn one is killed at about 2 s.
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(6000);
    expect(result.status.containerStatuses?.find((s) => s.name === 'stubborn')?.state?.terminated?.exitCode).toBe(137);
    await expectNothingLeft(fake);
  });

  it('a postStart hook holds back the containers after it', async () => {
    const yaml = manifest('Always', ['first', 'second']).replace(
      '  - name: first\n    image: unit.test/app:1\n    command: [sh, -c, "true"]',
      '  - name: first\n    image: unit.test/app:1\n    command: [sh, -c, "true"]\n    lifecycle:\n      postStart:\n        exec:\n          command: [warm-up]',
    );
    const { worker, fake } = await start(yaml, (f) => f.execAnswers.set('warm-up', { exitCode: 0, ms: 100 }));
    const hook = fake.calls.indexOf('ExecSync first PostStart warm-up');
    expect(hook).toBeGreaterThan(fake.calls.indexOf('StartContainer first'));
    expect(fake.calls.indexOf('StartContainer second')).toBeGreaterThan(hook);
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('a failed postStart kills the container; the restart policy brings it back', async () => {
    const yaml = manifest('Always', ['a']).replace(
      '    command: [sh, -c, "true"]',
      '    command: [sh, -c, "true"]\n    lifecycle:\n      postStart:\n        exec:\n          command: [fail-once]',
    );
    const { worker, fake } = await start(yaml, (f) => f.execAnswers.set('fail-once', { exitCode: 1 }));
    await until(() => fake.calls.includes('Kill a'), 'the kill');
    expect(worker.events.events.some((e) => e.reason === 'FailedPostStartHook')).toBe(true);
    fake.execAnswers.set('fail-once', { exitCode: 0 });
    await until(() => count(fake, 'StartContainer a') === 2, 'the restart');
    expect(worker.containers.get('a')?.obs.restartCount).toBe(1);
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('a restart that cannot start: CreateContainerError, retried with back-off', async () => {
    const { worker, fake } = await start(manifest('Always', ['a']));
    fake.failNextStart.set('a', 'mount /data on /x: ENOENT');
    fake.exit('a', 1);
    await until(() => worker.containers.get('a')?.obs.waiting?.reason === 'CreateContainerError', 'CreateContainerError');
    expect(worker.events.events.some((e) => e.reason === 'Failed' && e.message.includes('mount /data on /x: ENOENT'))).toBe(true);
    // The failed attempt is removed; the next one, after the back-off, runs.
    await until(() => count(fake, 'StartContainer a') === 3, 'the retry');
    expect(worker.containers.get('a')?.running).toBe(true);
    await worker.stop({ force: true });
    await expectNothingLeft(fake);
  });

  it('a first start that fails rolls everything back and throws', async () => {
    await expect(start(manifest('Always', ['a', 'b']), (f) => f.failNextStart.set('b', 'exec /bin/nope: ENOENT'))).rejects.toThrow('exec /bin/nope: ENOENT');
    const f = fake as FakeRuntime;
    expect(f.calls).toContain('Kill a');
    await expectNothingLeft(f);
  });

  it('activeDeadlineSeconds: the pod is stopped and Failed with DeadlineExceeded', async () => {
    const { worker, fake } = await start(manifest('Always', ['a'], [], '  activeDeadlineSeconds: 1'));
    const result = await worker.done;
    expect(result.status.phase).toBe('Failed');
    expect(result.status.reason).toBe('DeadlineExceeded');
    expect(fake.calls).toContain('Signal a SIGTERM');
    await expectNothingLeft(fake);
  });
});
