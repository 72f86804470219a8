// `peapod run` as a user runs it: a separate process, real signals, real
// exit codes, and the host left as it was, including after a crash.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifest, shPod, spawnPeapod, type Running } from './cli-harness.js';
import { onTerm } from './fixtures.js';
import { freshRootPerTest, isAlive, isRoot, mountsUnder, type TestRoot, waitFor } from './helpers.js';

function pausePidOf(run: Running): number {
  const m = /pause pid (\d+)/.exec(run.err());
  if (!m) throw new Error(`no pause pid in: ${run.err()}`);
  return Number(m[1]);
}

/** `peapod run -f FILE ARGS...` in the foreground, as from a terminal. */
const runPod = (root: TestRoot, file: string, ...args: string[]): Running => spawnPeapod(root, ['run', '-f', file, ...args]);

describe.skipIf(!isRoot)('peapod run (CLI)', () => {
  let root: TestRoot;
  // A test that failed half-way still stops its pods the way a user would: spawnPeapod Ctrl-Cs them before the leak check.
  freshRootPerTest((r) => (root = r));

  it('runs the seed’s two-container example, streams [container] lines, and stops on Ctrl-C', async () => {
    const run = runPod(root, join(process.cwd(), 'examples', 'two-containers.yaml'));
    await waitFor('the page fetched over localhost', () => run.out().includes('[debian-container] Hello from the debian container'), 15_000);
    // busybox httpd -vv logs requests on stderr.
    expect(run.err()).toMatch(/^\[nginx-container\] .*response:200$/m);
    root.pids.add(pausePidOf(run));
    run.child.kill('SIGINT');
    const exit = await run.exited;
    // httpd ends on SIGTERM: 128+15, reported as a non-zero exit.
    expect(exit.code).toBe(143);
    expect(run.err()).toContain('stopping pod/two-containers (grace period 5s');
    expect(run.err()).toContain('pod/two-containers deleted');
  }, 30_000);

  it('exits 0 when every container exits 0', async () => {
    const file = manifest(root, 'ok', `apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  restartPolicy: OnFailure
  containers:
  - {name: a, image: busybox, command: [echo, hello]}
  - {name: b, image: busybox, command: ["true"]}
`);
    const run = runPod(root, file);
    expect((await run.exited).code).toBe(0);
    expect(run.out()).toBe('[a] hello\n');
  });

  it('kills a TERM-ignoring container at the end of --grace-period, not before', async () => {
    const file = manifest(root, 'stubborn', shPod('stubborn', onTerm('echo ignoring TERM', 'ready')));
    const run = runPod(root, file, '--grace-period', '2');
    await waitFor('ready', () => run.out().includes('[c] ready'), 10_000);
    root.pids.add(pausePidOf(run));
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const exit = await run.exited;
    const seconds = (Date.now() - t0) / 1000;
    expect(run.out()).toContain('[c] ignoring TERM');
    expect(exit.code).toBe(137);
    expect(seconds).toBeGreaterThanOrEqual(1.9);
    expect(seconds).toBeLessThan(5);
  }, 20_000);

  it('takes its pod with it when killed (PDEATHSIG), and the next run reclaims the stale state', async () => {
    const file = manifest(root, 'crash', shPod('crash', 'echo up; sleep 60'));
    const run = runPod(root, file);
    await waitFor('up', () => run.out().includes('[c] up'), 10_000);
    const pause = pausePidOf(run);
    root.pids.add(pause);
    run.child.kill('SIGKILL');
    await run.exited;
    await waitFor('pause to die with its supervisor', () => !isAlive(pause), 2000);
    // The crash left its state and the pod's /dev/shm mount behind...
    expect(readdirSync(join(root.dir, 'pods'))).toEqual(['crash']);
    expect(mountsUnder(root.dir)).toEqual([join(root.dir, 'pods', 'crash', 'shm')]);
    // ...which the next run of the same pod reclaims.
    const again = runPod(root, file);
    await waitFor('up again', () => again.out().includes('[c] up'), 10_000);
    root.pids.add(pausePidOf(again));
    again.child.kill('SIGINT');
    await again.exited;
  }, 30_000);

  it('when killed while terminating, the pod still ends at once, and the next peapod records it Failed (SupervisorLost)', async () => {
    const file = manifest(root, 'dying', shPod('dying', onTerm('echo ignoring TERM', 'up'), '\n  terminationGracePeriodSeconds: 30'));
    const run = runPod(root, file);
    await waitFor('up', () => run.out().includes('[c] up'), 10_000);
    const pause = pausePidOf(run);
    root.pids.add(pause);
    run.child.kill('SIGTERM');
    await waitFor('terminating', () => run.out().includes('[c] ignoring TERM'), 5000);
    const record = JSON.parse(readFileSync(join(root.dir, 'pods', 'dying', 'runtime.json'), 'utf8'));
    const container: number = record.containers.c.pid;
    root.pids.add(container);
    run.child.kill('SIGKILL');
    await run.exited;
    // Every process of the pod is killed at once; pause itself lingers until
    // the host's init has reaped them (slow on these machines), then goes.
    await waitFor('the container to die with its supervisor', () => !isAlive(container), 1000);
    await waitFor('pause to die with its supervisor', () => !isAlive(pause), 3000);
    // Another pod in the same root: its start reclaims the dead one.
    const other = manifest(root, 'other', shPod('other', 'true', '\n  restartPolicy: Never'));
    const next = runPod(root, other);
    expect((await next.exited).code).toBe(0);
    expect(mountsUnder(root.dir)).toEqual([]);
    const stone = JSON.parse(readFileSync(join(root.dir, 'pods', 'dying', 'pod.json'), 'utf8'));
    expect(stone.status).toMatchObject({ phase: 'Failed', reason: 'SupervisorLost' });
    expect(stone.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 137, signal: 9 });
    expect(readdirSync(join(root.dir, 'pods', 'dying'))).toEqual(['pod.json']);
    // The tombstone is the one thing kept, until the pod is deleted.
    rmSync(join(root.dir, 'pods', 'dying'), { recursive: true });
  }, 30_000);

  it('refuses a second pod of the same name while the first runs', async () => {
    const file = manifest(root, 'dup', shPod('dup', 'echo up; sleep 60'));
    const first = runPod(root, file);
    await waitFor('up', () => first.out().includes('[c] up'), 10_000);
    root.pids.add(pausePidOf(first));
    const second = runPod(root, file);
    expect((await second.exited).code).toBe(1);
    expect(second.err()).toMatch(/pod "dup" already exists .*supervised by pid \d+/);
    first.child.kill('SIGINT');
    await first.exited;
  }, 30_000);

  describe('bad input fails clearly and leaves nothing behind', () => {
    const cases: Array<{ name: string; yaml: string; message: RegExp; before?: (root: TestRoot) => void }> = [
      {
        name: 'a missing command',
        yaml: `apiVersion: v1
kind: Pod
metadata: {name: nocmd}
spec:
  containers:
  - {name: a, image: busybox, command: [no-such-command, x]}
`,
        message: /container "a": cannot run \["no-such-command","x"\]: "no-such-command" is not in \$PATH .* in image "busybox"/,
      },
      // A missing image no longer fails the run: the pod waits in ErrImagePull as in Kubernetes (image-pod.test.ts).
      {
        name: 'a bad volume reference',
        yaml: `apiVersion: v1
kind: Pod
metadata: {name: badvol}
spec:
  containers:
  - name: a
    image: busybox
    command: ["true"]
    volumeMounts:
    - {name: nowhere, mountPath: /data}
`,
        message: /:10:\d+: spec\.containers\[0\]\.volumeMounts\[0\]\.name: .*nowhere/,
      },
      {
        name: 'a hostPath that does not exist',
        yaml: `apiVersion: v1
kind: Pod
metadata: {name: nohost}
spec:
  volumes:
  - {name: h, hostPath: {path: /nonexistent/peapod-test-path, type: Directory}}
  containers:
  - name: a
    image: busybox
    command: ["true"]
    volumeMounts:
    - {name: h, mountPath: /h}
`,
        message: /spec\.volumes\[0\]\.hostPath\.path: \/nonexistent\/peapod-test-path does not exist/,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const run = runPod(root, manifest(root, 'bad', c.yaml));
        const exit = await run.exited;
        expect(exit.code).not.toBe(0);
        expect(run.err()).toMatch(c.message);
        // Nothing mounted for it (other tests on this host may mount elsewhere meanwhile).
        expect(mountsUnder(root.dir)).toEqual([]);
        expect(existsSync('/nonexistent')).toBe(false);
      });
    }
  });
});



