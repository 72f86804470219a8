// `peapod run` as a user runs it: a separate process, real signals, real
// exit codes, and the host left as it was, including after a crash.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freshRootPerTest, isAlive, isRoot, mountsUnder, type TestRoot, waitFor } from './helpers.js';

const bin = join(process.cwd(), 'bin', 'peapod.js');

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: Run[] = [];

function peapod(root: TestRoot, args: string[]): Run {
  const child = spawn(process.execPath, [bin, ...args, '--root', root.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  runs.push(run);
  child.stdout?.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

function manifest(root: TestRoot, name: string, yaml: string): string {
  const file = join(root.dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

function pausePidOf(run: Run): number {
  const m = /pause pid (\d+)/.exec(run.stderr);
  if (!m) throw new Error(`no pause pid in: ${run.stderr}`);
  return Number(m[1]);
}

describe.skipIf(!isRoot)('peapod run (CLI)', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));
  afterEach(async () => {
    // A test that failed half-way still stops its pods the way a user would
    // (before the check that nothing is left: after-hooks run last first).
    for (const run of runs.splice(0)) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGINT');
        await run.exited;
      }
    }
  });

  it('runs the seed’s two-container example, streams [container] lines, and stops on Ctrl-C', async () => {
    const run = peapod(root, ['run', '-f', join(process.cwd(), 'examples', 'two-containers.yaml')]);
    await waitFor('the page fetched over localhost', () => run.stdout.includes('[debian-container] Hello from the debian container'), 15_000);
    // busybox httpd -vv logs requests on stderr.
    expect(run.stderr).toMatch(/^\[nginx-container\] .*response:200$/m);
    root.pids.add(pausePidOf(run));
    run.child.kill('SIGINT');
    const exit = await run.exited;
    // httpd ends on SIGTERM: 128+15, reported as a non-zero exit.
    expect(exit.code).toBe(143);
    expect(run.stderr).toContain('stopping pod/two-containers (grace period 5s');
    expect(run.stderr).toContain('pod/two-containers deleted');
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
    const run = peapod(root, ['run', '-f', file]);
    expect((await run.exited).code).toBe(0);
    expect(run.stdout).toBe('[a] hello\n');
  });

  it('kills a TERM-ignoring container at the end of --grace-period, not before', async () => {
    const file = manifest(root, 'stubborn', `apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  containers:
  - name: s
    image: busybox
    command: [sh, -c, 'trap "echo ignoring TERM" TERM; echo ready; while true; do sleep 0.1; done']
`);
    const run = peapod(root, ['run', '-f', file, '--grace-period', '2']);
    await waitFor('ready', () => run.stdout.includes('[s] ready'), 10_000);
    root.pids.add(pausePidOf(run));
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const exit = await run.exited;
    const seconds = (Date.now() - t0) / 1000;
    expect(run.stdout).toContain('[s] ignoring TERM');
    expect(exit.code).toBe(137);
    expect(seconds).toBeGreaterThanOrEqual(1.9);
    expect(seconds).toBeLessThan(5);
  }, 20_000);

  it('takes its pod with it when killed (PDEATHSIG), and the next run reclaims the stale state', async () => {
    const file = manifest(root, 'crash', `apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers:
  - {name: a, image: busybox, command: [sh, -c, 'echo up; sleep 60']}
`);
    const run = peapod(root, ['run', '-f', file]);
    await waitFor('up', () => run.stdout.includes('[a] up'), 10_000);
    const pause = pausePidOf(run);
    root.pids.add(pause);
    run.child.kill('SIGKILL');
    await run.exited;
    await waitFor('pause to die with its supervisor', () => !isAlive(pause), 2000);
    // The crash left its state and the pod's /dev/shm mount behind...
    expect(readdirSync(join(root.dir, 'pods'))).toEqual(['crash']);
    expect(mountsUnder(root.dir).length).toBeGreaterThan(0);
    // ...which the next run of the same pod reclaims.
    const again = peapod(root, ['run', '-f', file]);
    await waitFor('up again', () => again.stdout.includes('[a] up'), 10_000);
    root.pids.add(pausePidOf(again));
    again.child.kill('SIGINT');
    await again.exited;
  }, 30_000);

  it('when killed while terminating, the pod still ends at once, and the next peapod records it Failed (SupervisorLost)', async () => {
    const file = manifest(root, 'dying', `apiVersion: v1
kind: Pod
metadata: {name: dying}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - {name: a, image: busybox, command: [sh, -c, 'trap "echo ignoring TERM" TERM; echo up; while true; do sleep 0.1; done']}
`);
    const run = peapod(root, ['run', '-f', file]);
    await waitFor('up', () => run.stdout.includes('[a] up'), 10_000);
    const pause = pausePidOf(run);
    root.pids.add(pause);
    run.child.kill('SIGTERM');
    await waitFor('terminating', () => run.stdout.includes('[a] ignoring TERM'), 5000);
    const record = JSON.parse(readFileSync(join(root.dir, 'pods', 'dying', 'runtime.json'), 'utf8'));
    const container: number = record.containers.a.pid;
    root.pids.add(container);
    run.child.kill('SIGKILL');
    await run.exited;
    // Every process of the pod is killed at once; pause itself lingers until
    // the host's init has reaped them (slow on these machines), then goes.
    await waitFor('the container to die with its supervisor', () => !isAlive(container), 1000);
    await waitFor('pause to die with its supervisor', () => !isAlive(pause), 3000);
    // Another pod in the same root: its start reclaims the dead one.
    const other = manifest(root, 'other', `apiVersion: v1
kind: Pod
metadata: {name: other}
spec:
  restartPolicy: Never
  containers:
  - {name: b, image: busybox, command: ["true"]}
`);
    const next = peapod(root, ['run', '-f', other]);
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
    const file = manifest(root, 'dup', `apiVersion: v1
kind: Pod
metadata: {name: dup}
spec:
  containers:
  - {name: a, image: busybox, command: [sh, -c, 'echo up; sleep 60']}
`);
    const first = peapod(root, ['run', '-f', file]);
    await waitFor('up', () => first.stdout.includes('[a] up'), 10_000);
    root.pids.add(pausePidOf(first));
    const second = peapod(root, ['run', '-f', file]);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr).toMatch(/pod "dup" already exists .*supervised by pid \d+/);
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
        const run = peapod(root, ['run', '-f', manifest(root, 'bad', c.yaml)]);
        const exit = await run.exited;
        expect(exit.code).not.toBe(0);
        expect(run.stderr).toMatch(c.message);
        // Nothing mounted for it (other tests on this host may mount elsewhere meanwhile).
        expect(mountsUnder(root.dir)).toEqual([]);
        expect(existsSync('/nonexistent')).toBe(false);
      });
    }
  });
});



