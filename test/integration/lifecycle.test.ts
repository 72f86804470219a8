// The pod lifecycle as Kubernetes defines it, on real processes: restarts
// with back-off, init containers, hooks, graceful termination, termination
// messages, sandbox death, deadlines; every status checked for shape.
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/manifest/types.js';
import { onTerm } from './fixtures.js';
import { execIn, freshRootPerTest, isRoot, nsInode, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { expectV1PodShape } from './pod-shape.js';
import { start as startPod, type Started } from './pods.js';
import { readOr } from './proc.js';
import { waitForLine, waitForTrap } from './waits.js';

const FAST = { baseSeconds: 0.4, capSeconds: 1.6, resetSeconds: 600 };

describe.skipIf(!isRoot)('pod lifecycle (root, real processes)', () => {
  let root: TestRoot;
  let host: string;
  let watched: Started[];
  freshRootPerTest((r) => (root = r));
  beforeEach(() => {
    host = mkdtempSync(join(tmpdir(), 'peapod-host-'));
    watched = [];
  });
  afterEach(() => {
    rmSync(host, { recursive: true, force: true });
    for (const w of watched) for (const snap of w.snapshots) expectV1PodShape(snap);
  });
  const start = async (p: Pod): Promise<Started> => {
    const w = await startPod(root, p, { backoff: FAST });
    watched.push(w);
    return w;
  };

  it('Always: a crashing container restarts at once, then after the back-off, with CrashLoopBackOff between', async () => {
    const w = await start(pod('crashy', [sh('c', 'echo run; exit 1')], [], { restartPolicy: 'Always' }));
    await waitFor('restartCount 2', () => w.container('c').restartCount >= 2, 8000);
    const c = w.container('c');
    // Between the second and third run the container waited in CrashLoopBackOff.
    const backoff = w.snapshots.map((s) => s.status.containerStatuses[0]!).find((s) => s.state.waiting?.reason === 'CrashLoopBackOff');
    expect(backoff?.state.waiting?.message).toMatch(/^back-off 0\.4s restarting failed container=c pod=crashy_default\(.+\)$/);
    expect(backoff?.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(c.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(w.latest().status.phase).toBe('Running');
    // The intervals: first restart at once, the second after the 0.4 s base.
    const runs = w.snapshots
      .map((s) => s.status.containerStatuses[0]!)
      .filter((s) => s.state.running)
      .map((s) => [s.restartCount, Date.parse(s.state.running!.startedAt)] as const);
    const startedAt = new Map(runs);
    const ends = w.snapshots.map((s) => s.status.containerStatuses[0]!.lastState.terminated).filter((t) => t !== undefined);
    const end = (n: number): number => Date.parse(ends.find((t) => t.containerID && startedAt.get(n) !== undefined && Date.parse(t.startedAt) === startedAt.get(n))!.finishedAt);
    expect(startedAt.get(1)! - end(0)).toBeLessThan(300);
    expect(startedAt.get(2)! - end(1)).toBeGreaterThanOrEqual(350);
    expect(startedAt.get(2)! - end(1)).toBeLessThan(1500);
    expect(w.runtime.events.events.some((e) => e.reason === 'BackOff')).toBe(true);
    await w.runtime.stop({ force: true });
  });

  it('a restart that cannot create the container waits in CreateContainerError, with the failed step as message', async () => {
    const gone = join(host, 'gone');
    mkdirSync(gone);
    writeFileSync(join(gone, 'present'), '');
    // The first run lasts until the host directory is gone (its file with it).
    const script = 'while [ -e /h/present ]; do sleep 0.02; done; exit 1';
    const w = await start(pod('create-error', [sh('c', script, { volumeMounts: [{ name: 'h', mountPath: '/h' }] })], [{ name: 'h', hostPath: { path: gone } }], { restartPolicy: 'Always' }));
    // The host directory disappears: the next start cannot bind it.
    rmSync(gone, { recursive: true });
    await waitFor('CreateContainerError', () => w.container('c').state.waiting?.reason === 'CreateContainerError', 5000);
    expect(w.container('c').state.waiting?.message).toMatch(/^c: open_tree .*\/gone: ENOENT/);
    expect(w.latest().status.phase).toBe('Running');
    expect(w.runtime.events.events.some((e) => e.type === 'Warning' && e.reason === 'Failed')).toBe(true);
    await w.runtime.stop({ force: true });
  });

  it('OnFailure: exit 0 -> Succeeded with restartCount 0', async () => {
    const w = await start(pod('ok', [sh('c', 'exit 0')], [], { restartPolicy: 'OnFailure' }));
    const result = await w.runtime.done;
    expect(result.status.phase).toBe('Succeeded');
    expect(result.status.containerStatuses[0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
  });

  it('OnFailure: exit 1 then 0 -> Succeeded with restartCount 1, and the emptyDir survives the restart', async () => {
    const w = await start(
      pod('retry', [sh('c', 'if [ -f /data/seen ]; then echo second run saw $(cat /data/seen); exit 0; fi; echo first > /data/seen; exit 1', { volumeMounts: [{ name: 'd', mountPath: '/data' }] })], [{ name: 'd', emptyDir: {} }], {
        restartPolicy: 'OnFailure',
      }),
    );
    const result = await w.runtime.done;
    expect(result.status.phase).toBe('Succeeded');
    expect(result.status.containerStatuses[0]).toMatchObject({ restartCount: 1, state: { terminated: { exitCode: 0 } }, lastState: { terminated: { exitCode: 1 } } });
    expect(w.logs.get('c')).toContain('second run saw first');
  });

  it('a restarted container gets a fresh root filesystem, in the same namespaces', async () => {
    // The first run fails; the second stays (an emptyDir, which outlives a restart, tells them apart).
    const script = 'ls /marker 2>/dev/null && echo marker-survived; touch /marker; [ -e /data/ran ] && echo second run && exec sleep 30; touch /data/ran; exit 1';
    const w = await start(pod('fresh', [sh('c', script, { volumeMounts: [{ name: 'd', mountPath: '/data' }] })], [{ name: 'd', emptyDir: {} }], { restartPolicy: 'OnFailure' }));
    const pauseNet = nsInode(w.runtime.sandbox.pid, 'net');
    await waitForLine('the second run', () => w.logs.get('c'), 'second run');
    expect(w.container('c').restartCount).toBe(1);
    expect(nsInode(w.runtime.containers.get('c')!.pid, 'net')).toBe(pauseNet);
    expect(w.logs.get('c')).toEqual(['second run']);
    await w.runtime.stop({ force: true });
  });

  it('Never: exit 1 -> Failed with restartCount 0', async () => {
    const w = await start(pod('never', [sh('c', 'exit 1')], [], { restartPolicy: 'Never' }));
    const result = await w.runtime.done;
    expect(result.status.phase).toBe('Failed');
    expect(result.status.containerStatuses[0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } });
  });

  it('runs init containers one at a time, in order, before any app container (PodInitializing meanwhile)', async () => {
    const log = join(host, 'order');
    const vol = { name: 'h', hostPath: { path: host, type: 'Directory' as const } };
    const mount = { volumeMounts: [{ name: 'h', mountPath: '/h' }] };
    const w = await start({
      ...pod('inits', [sh('app', 'echo app >> /h/order; sleep 30', mount)], [vol], { restartPolicy: 'Always' }),
      spec: {
        ...pod('inits', [sh('app', 'echo app >> /h/order; sleep 30', mount)], [vol]).spec,
        // The subject's sleep: were two started beside one, it would write first.
        initContainers: [sh('one', 'sleep 0.3; echo one >> /h/order', mount), sh('two', 'echo two >> /h/order', mount)],
      },
    });
    expect(w.snapshots.some((s) => s.status.containerStatuses[0]?.state.waiting?.reason === 'PodInitializing')).toBe(true);
    expect(w.snapshots[0]?.status.phase).toBe('Pending');
    await waitFor('the app to run', () => readOr(log).includes('app'), 5000);
    expect(readOr(log)).toBe('one\ntwo\napp\n');
    expect(w.container('one').state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    await waitFor('Running', () => w.latest().status.phase === 'Running');
    expect(w.latest().status.conditions.find((c) => c.type === 'Initialized')?.status).toBe('True');
    await w.runtime.stop({ force: true });
  });

  it('fails the pod when an init container fails under Never; app containers never start', async () => {
    const w = await start({
      ...pod('init-fail', [sh('app', 'echo should-not-run')], [], { restartPolicy: 'Never' }),
      spec: { ...pod('x', [sh('app', 'echo should-not-run')]).spec, restartPolicy: 'Never', initContainers: [sh('setup', 'exit 3')] },
    });
    const result = await w.runtime.done;
    expect(result.status.phase).toBe('Failed');
    expect(result.status.initContainerStatuses?.[0]?.state.terminated?.exitCode).toBe(3);
    expect(w.logs.get('app')).toBeUndefined();
    expect(result.exitCode).toBe(3);
  });

  it('runs postStart (exec) inside the container before it counts as started; a failing postStart kills it', async () => {
    const w = await start(
      pod(
        'poststart',
        [
          sh('good', 'sleep 30', { lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo hooked-$(hostname) > /tmp/hook'] } } } }),
          sh('bad', 'sleep 30', { lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo nope; exit 7'] } } } }),
        ],
        [],
        { restartPolicy: 'Never' },
      ),
    );
    const good = w.runtime.containers.get('good')!.pid;
    expect((await execIn(good, ['cat', '/tmp/hook'])).stdout).toBe('hooked-poststart\n');
    await waitFor('bad to be killed', () => w.container('bad').state.terminated !== undefined, 5000);
    expect(w.container('bad').state.terminated).toMatchObject({ signal: 9, exitCode: 137 });
    const failed = w.runtime.events.events.find((e) => e.reason === 'FailedPostStartHook');
    expect(failed?.message).toMatch(/PostStart exited 7: nope/);
    expect(w.container('good')).toMatchObject({ ready: true, started: true });
    await w.runtime.stop({ force: true });
  });

  it('runs an httpGet postStart from inside the pod’s network namespace', async () => {
    const w = await start(
      pod('httphook', [
        sh('web', 'mkdir /www; echo ok > /www/ready; exec httpd -f -vv -p 127.0.0.1:8081 -h /www', {
          ports: [{ name: 'http', containerPort: 8081 }],
        }),
        sh('client', 'sleep 30', { lifecycle: { postStart: { httpGet: { path: '/ready', port: 8081 } } } }),
      ]),
    );
    await waitFor('the hook request in the server log', () => (w.logs.get('web') ?? []).some((l) => l.includes('url:/ready')), 5000);
    expect(w.runtime.events.events.find((e) => e.reason === 'FailedPostStartHook')).toBeUndefined();
    await w.runtime.stop({ force: true });
  });

  it('preStop runs before SIGTERM (proved by timestamps in a volume), and its time comes out of the grace period', async () => {
    const w = await start(
      pod(
        'prestop',
        [
          // busybox date has no %N: /proc/uptime gives hundredths of a second.
          sh('c', 'on_term() { echo term $(cut -d" " -f1 /proc/uptime) >> /h/log; exit 0; }; trap on_term TERM; while true; do sleep 0.05; done', {
            volumeMounts: [{ name: 'h', mountPath: '/h' }],
            lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop $(cut -d" " -f1 /proc/uptime) >> /h/log; sleep 0.5'] } } },
          }),
        ],
        [{ name: 'h', hostPath: { path: host, type: 'Directory' } }],
      ),
    );
    await waitForTrap(w.runtime.containers.get('c')!.pid);
    const t0 = Date.now();
    const stopping = w.runtime.stop({ gracePeriodSeconds: 10 });
    // Terminating at once: deletionTimestamp (when the grace period ends) and grace on the pod.
    const called = Date.now();
    const metadata = w.runtime.podObject().metadata;
    expect(metadata).toMatchObject({ deletionGracePeriodSeconds: 10 });
    expect(metadata.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(metadata.deletionTimestamp as string)).toBeGreaterThanOrEqual(t0 + 10_000);
    expect(Date.parse(metadata.deletionTimestamp as string)).toBeLessThanOrEqual(called + 10_000);
    const result = await stopping;
    const lines = readOr(join(host, 'log')).trim().split('\n').map((l) => l.split(' '));
    expect(lines.map((l) => l[0])).toEqual(['prestop', 'term']);
    const gapMs = (Number(lines[1]![1]) - Number(lines[0]![1])) * 1000;
    expect(gapMs).toBeGreaterThanOrEqual(450);
    expect(result.containers[0]?.exit).toEqual({ code: 0 });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('cuts off a preStop that outlasts the grace period, then gives SIGTERM the kubelet’s 2 s minimum', async () => {
    const w = await start(
      pod('slow-prestop', [
        sh('c', onTerm('exit 0', '', 0.05), { lifecycle: { preStop: { exec: { command: ['sleep', '100'] } } } }),
      ]),
    );
    await waitForTrap(w.runtime.containers.get('c')!.pid);
    const t0 = Date.now();
    const result = await w.runtime.stop({ gracePeriodSeconds: 2 });
    const seconds = (Date.now() - t0) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(1.9);
    expect(seconds).toBeLessThan(3.5);
    expect(result.containers[0]?.exit).toEqual({ code: 0 });
    expect(w.runtime.events.events.find((e) => e.reason === 'FailedPreStopHook')?.message).toMatch(/timed out/);
  });

  it('ends a graceful stop on time even when preStop leaves a background process holding its output', async () => {
    const w = await start(pod('prestop-bg', [sh('c', 'sleep 30', { lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 20 & echo left'] } } } })]));
    const t0 = Date.now();
    await w.runtime.stop({ gracePeriodSeconds: 2 });
    expect((Date.now() - t0) / 1000).toBeLessThan(4.5);
  });

  it('force ends a pod at once, even during a preStop sleep hook', async () => {
    const w = await start(pod('force-hook', [sh('c', 'trap "" TERM; sleep 30', { lifecycle: { preStop: { sleep: { seconds: 20 } } } })], [], { terminationGracePeriodSeconds: 25 }));
    void w.runtime.stop();
    await waitFor('the preStop hook to run', () => w.runtime.isTerminating && w.runtime.containers.get('c')!.busy);
    const t0 = Date.now();
    await w.runtime.stop({ force: true });
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('shared PID namespace: a TERM-ignoring container gets its whole grace period, the other goes at once, pause last', async () => {
    const w = await start(
      pod('shared-grace', [
        sh('polite', onTerm('exit 0', '', 0.05)),
        sh('stubborn', onTerm('', '', 0.05)),
      ]),
    );
    for (const c of ['polite', 'stubborn']) await waitForTrap(w.runtime.containers.get(c)!.pid);
    const t0 = Date.now();
    const result = await w.runtime.stop({ gracePeriodSeconds: 2 });
    const polite = result.containers.find((c) => c.name === 'polite')!;
    const stubborn = result.containers.find((c) => c.name === 'stubborn')!;
    expect(polite.exit).toEqual({ code: 0 });
    expect(polite.finishedAt.getTime() - t0).toBeLessThan(500);
    expect(stubborn.exit).toEqual({ signal: 9 });
    const stubbornSeconds = (stubborn.finishedAt.getTime() - t0) / 1000;
    expect(stubbornSeconds).toBeGreaterThanOrEqual(2.0);
    expect(stubbornSeconds).toBeLessThan(2.5);
    expect(w.runtime.sandbox.finishedAt!.getTime()).toBeGreaterThanOrEqual(stubborn.finishedAt.getTime());
  });

  it('fills terminated.message from terminationMessagePath, or from the log tail with FallbackToLogsOnError', async () => {
    const w = await start(
      pod(
        'messages',
        [
          sh('file', 'echo "all done: 42" > /dev/termination-log; exit 0'),
          sh('custom', 'echo custom > /tmp/msg; exit 0', { terminationMessagePath: '/tmp/msg' }),
          sh('fallback', 'echo line1; echo line2; exit 2', { terminationMessagePolicy: 'FallbackToLogsOnError' }),
        ],
        [],
        { restartPolicy: 'Never' },
      ),
    );
    const result = await w.runtime.done;
    const msg = (n: string): string | undefined => result.status.containerStatuses.find((c) => c.name === n)?.state.terminated?.message;
    expect(msg('file')).toBe('all done: 42\n');
    expect(msg('custom')).toBe('custom\n');
    expect(msg('fallback')).toBe('line1\nline2');
  });

  it('re-creates a killed sandbox under Always: new pause, new namespaces, containers restarted, volume data kept', async () => {
    const w = await start(
      pod('phoenix', [sh('c', 'cat /proc/uptime >> /data/runs; sleep 30', { volumeMounts: [{ name: 'd', mountPath: '/data' }] })], [{ name: 'd', emptyDir: {} }], {
        restartPolicy: 'Always',
      }),
    );
    const runs = (): string[] => readOr(join(w.runtime.paths.volume('d'), 'runs')).trim().split('\n').filter((l) => l !== '');
    // The first run has written its line: the kill below must not come before it.
    await waitFor('the first run recorded', () => runs().length === 1);
    const oldPause = w.runtime.sandbox.pid;
    const oldNet = nsInode(oldPause, 'net');
    const oldPid = nsInode(oldPause, 'pid');
    // Held open, the old namespaces cannot be freed, so their inode numbers
    // cannot be handed to the new ones (the kernel reuses the lowest free one).
    const held = ['net', 'pid'].map((ns) => openSync(`/proc/${oldPause}/ns/${ns}`, 'r'));
    try {
      process.kill(oldPause, 'SIGKILL');
      await waitFor('a new sandbox', () => w.runtime.sandbox.pid !== oldPause && w.runtime.sandbox.running, 5000);
      root.pids.add(w.runtime.sandbox.pid);
      await waitFor('the container restarted', () => w.container('c').restartCount === 1 && w.runtime.containers.get('c')!.running, 5000);
      const pid = w.runtime.containers.get('c')!.pid;
      root.pids.add(pid);
      expect(nsInode(w.runtime.sandbox.pid, 'net')).not.toBe(oldNet);
      expect(nsInode(pid, 'pid')).not.toBe(oldPid);
      expect(nsInode(pid, 'net')).toBe(nsInode(w.runtime.sandbox.pid, 'net'));
    } finally {
      for (const fd of held) closeSync(fd);
    }
    await waitFor('two runs recorded', () => runs().length >= 2);
    // Exactly one restart: one run before the sandbox died, one in the new one.
    expect(runs(), JSON.stringify(w.runtime.events.events.map((e) => `${e.reason} ${e.message}`))).toHaveLength(2);
    expect(w.container('c').lastState.terminated).toMatchObject({ signal: 9 });
    expect(w.runtime.events.events.some((e) => e.reason === 'SandboxChanged')).toBe(true);
    await w.runtime.stop({ force: true });
  });

  it('fails a Never pod whose sandbox is killed', async () => {
    const w = await start(pod('doomed', [sh('c', 'sleep 30')], [], { restartPolicy: 'Never' }));
    process.kill(w.runtime.sandbox.pid, 'SIGKILL');
    const result = await w.runtime.done;
    expect(result.status.phase).toBe('Failed');
  });

  it('ends a pod past activeDeadlineSeconds with reason DeadlineExceeded', async () => {
    const w = await start(pod('deadline', [sh('c', onTerm('exit 0', '', 0.05))], [], { restartPolicy: 'Always', activeDeadlineSeconds: 1 }));
    const t0 = Date.now();
    const result = await w.runtime.done;
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(result.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
  });

  it('expands $(VAR) and fills fieldRef env from the pod', async () => {
    const w = await start(
      pod(
        'downward',
        [
          sh('c', 'echo "$POD/$NS/$UID_LEN/$GREETING"', {
            env: [
              { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
              { name: 'UID_LEN', value: '$(UID)' },
              { name: 'GREETING', value: 'hi-$(POD)-$$(POD)' },
            ],
          }),
        ],
        [],
        { restartPolicy: 'Never' },
      ),
    );
    await w.runtime.done;
    expect(w.logs.get('c')?.[0]).toBe(`downward/default/${w.runtime.uid}/hi-downward-$(POD)`);
  });
});
