// Probes on real pods: a liveness probe that starts failing restarts the
// container; readiness flips Ready both ways (httpGet against busybox httpd,
// tcpSocket against nc, grpc against a health server written here and run
// in the pod's network namespace); a startup probe that never passes kills;
// an exec probe past its timeout fails and leaves no process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readyColumn } from '../../src/cli/get.js';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import { manifest, peapod, trackRecord } from './cli-harness.js';
import { freshRootPerTest, isAlive, isRoot, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { start } from './pods.js';

const FAST = { baseSeconds: 0.2, capSeconds: 1, resetSeconds: 600 };

const cond = (w: PodWorker, type: string) => w.computeStatus().conditions.find((c) => c.type === type);
const status = (w: PodWorker, name: string) => w.computeStatus().containerStatuses.find((c) => c.name === name);
const events = (w: PodWorker): string[] => w.events.events.map((e) => `${e.reason}: ${e.message}`);

/** Processes in the container's cgroup, with their command lines, as the kernel lists them. */
function commandsIn(w: PodWorker, name: string): string[] {
  const cg = w.cgroupOf(name);
  if (!cg) throw new Error('this test needs cgroups');
  return cg.pids().map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      return '';
    }
  });
}

describe.skipIf(!isRoot)('probes (root, real pods)', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('a liveness probe that starts failing restarts the container: restartCount 1, the reason in lastState', async () => {
    const { runtime: w } = await start(
      root,
      pod('liveness', [sh('app', 'touch /tmp/alive; exec sleep 600', {
          livenessProbe: { exec: { command: ['test', '-f', '/tmp/alive'] }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 1 },
        }),], [], {
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 2,
      }),
      { backoff: FAST },
    );
    const first = w.containers.get('app')!.pid;
    root.pids.add(first);
    // Past the initial delay, probed and still alive.
    await new Promise((r) => setTimeout(r, 1300));
    expect(status(w, 'app')).toMatchObject({ restartCount: 0, ready: true });
    expect(events(w).some((e) => e.startsWith('Unhealthy'))).toBe(false);
    expect(await w.exec('app', ['rm', '/tmp/alive'])).toBe(0);
    await waitFor('the restart', () => status(w, 'app')?.restartCount === 1 && status(w, 'app')?.state.running !== undefined, 8000);
    root.pids.add(w.containers.get('app')!.pid);
    // The kernel: the first attempt's process is gone, a new one runs.
    expect(isAlive(first)).toBe(false);
    expect(isAlive(w.containers.get('app')!.pid)).toBe(true);
    // sleep took the stop signal (SIGTERM): 143, reason Error, as containerd reports a kubelet kill.
    expect(status(w, 'app')?.lastState.terminated).toMatchObject({ exitCode: 143, signal: 15, reason: 'Error' });
    const seen = events(w);
    const unhealthy = seen.indexOf('Unhealthy: Liveness probe failed:');
    expect(unhealthy).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf('Killing: Container app failed liveness probe, will be restarted')).toBeGreaterThan(unhealthy);
    await w.stop({ force: true });
  }, 20_000);

  it('readiness flips Ready both ways: httpGet against busybox httpd, tcpSocket against nc', async () => {
    const { runtime: w } = await start(
      root,
      pod('readiness', [
        sh('web', 'mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www', {
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
        }),
        sh('tcp', 'nc -ll -p 9000 -e true & echo $! > /tmp/nc.pid; exec sleep 600', { readinessProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1 } }),
      ]),
    );
    for (const c of w.containers.values()) root.pids.add(c.pid);
    await waitFor('both ready', () => cond(w, 'Ready')?.status === 'True', 5000);
    expect(readyColumn(w.podObject())).toBe('2/2');
    expect(cond(w, 'ContainersReady')?.status).toBe('True');
    // The page goes: 404, not ready; back: ready again.
    expect(await w.exec('web', ['rm', '/www/healthz'])).toBe(0);
    await waitFor('web not ready', () => status(w, 'web')?.ready === false, 5000);
    expect(cond(w, 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [web]' });
    expect(readyColumn(w.podObject())).toBe('1/2');
    expect(events(w)).toContain('Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404');
    expect(await w.exec('web', ['sh', '-c', 'echo ok > /www/healthz'])).toBe(0);
    await waitFor('web ready again', () => cond(w, 'Ready')?.status === 'True', 5000);
    // nc stops listening: tcp is not ready; nothing is restarted for readiness.
    expect(await w.exec('tcp', ['sh', '-c', 'kill $(cat /tmp/nc.pid)'])).toBe(0);
    await waitFor('tcp not ready', () => status(w, 'tcp')?.ready === false, 5000);
    expect(events(w).some((e) => /^Unhealthy: Readiness probe failed: dial tcp 127\.0\.0\.1:9000: connect: ECONNREFUSED$/.test(e))).toBe(true);
    expect(w.computeStatus().containerStatuses.map((c) => c.restartCount)).toEqual([0, 0]);
    await w.stop({ force: true });
  }, 20_000);

  it('a startup probe that never passes kills the container after failureThreshold; liveness never ran', async () => {
    const { runtime: w } = await start(
      root,
      pod('startup', [
        sh('app', 'exec sleep 600', {
          startupProbe: { exec: { command: ['test', '-f', '/never'] }, periodSeconds: 1, failureThreshold: 2 },
          livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 },
        }),
      ]),
    );
    root.pids.add(w.containers.get('app')!.pid);
    expect(status(w, 'app')).toMatchObject({ started: false, ready: false });
    const t0 = Date.now();
    const result = await w.done;
    // Two failures a second apart, then the stop signal: well within the grace period.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(result.status.phase).toBe('Failed');
    expect(result.status.containerStatuses[0]?.state.terminated).toMatchObject({ exitCode: 143, reason: 'Error' });
    const seen = events(w);
    expect(seen).toContain('Killing: Container app failed startup probe');
    expect(w.events.events.find((e) => e.reason === 'Unhealthy')).toMatchObject({ message: 'Startup probe failed:', count: 2 });
    expect(seen.some((e) => e.includes('Liveness'))).toBe(false);
  }, 20_000);

  it('peapod get pods shows READY from the readiness probe, describe shows the probe and Ready, from another process', async () => {
    const yaml = `apiVersion: v1
kind: Pod
metadata: {name: cliready}
spec:
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'exec sleep 600']
    readinessProbe:
      exec: {command: [test, -f, /tmp/ready]}
      periodSeconds: 1
`;
    expect(await peapod(root, ['run', '-d', '-f', manifest(root, 'cliready', yaml)])).toMatchObject({ code: 0 });
    try {
      trackRecord(root, 'cliready');
      const row = async (): Promise<string> => (await peapod(root, ['get', 'pods'])).stdout.split('\n')[1] ?? '';
      expect(await row()).toMatch(/^cliready\s+0\/1\s+Running\s+0\s/);
      const before = (await peapod(root, ['describe', 'pod', 'cliready'])).stdout;
      expect(before).toMatch(/^ {4}Ready:\s+False$/m);
      expect(before).toMatch(/^ {4}Readiness:\s+exec \[test -f \/tmp\/ready\] delay=0s timeout=1s period=1s #success=1 #failure=3$/m);
      expect(before).toMatch(/^ {2}Ready\s+False$/m);
      expect((await peapod(root, ['exec', 'cliready', '--', 'touch', '/tmp/ready'])).code).toBe(0);
      const deadline = Date.now() + 5000;
      while (!/^cliready\s+1\/1\s/.test(await row())) {
        if (Date.now() > deadline) throw new Error(`not READY 1/1 in 5 s: ${await row()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const after = (await peapod(root, ['describe', 'pod', 'cliready'])).stdout;
      expect(after).toMatch(/^ {4}Ready:\s+True$/m);
      expect(after).toMatch(/^ {2}ContainersReady\s+True$/m);
    } finally {
      expect((await peapod(root, ['delete', 'pod', 'cliready', '--force'])).code).toBe(0);
    }
  }, 20_000);

  describe('grpc', () => {
    let dir: string;
    let server: ChildProcess | undefined;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'peapod-grpc-'));
    });
    afterEach(async () => {
      if (server?.exitCode === null) {
        server.kill('SIGKILL');
        await new Promise((r) => server?.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('a grpc readiness probe asks grpc.health.v1.Health/Check of a health server in the pod', async () => {
      const { runtime: w } = await start(root, pod('grpc', [sh('app', 'exec sleep 600', { readinessProbe: { grpc: { port: 9090, service: 'app' }, periodSeconds: 1 } })]));
      root.pids.add(w.containers.get('app')!.pid);
      // A health server of a dozen lines: HealthCheckResponse{status} from a file the test writes (1 SERVING, 2 NOT_SERVING).
      const statusFile = join(dir, 'status');
      writeFileSync(statusFile, '1');
      const code = `
        const fs = require('fs');
        const srv = require('http2').createServer();
        srv.on('stream', (s, h) => {
          const chunks = [];
          s.on('data', (c) => chunks.push(c));
          s.on('end', () => {
            const req = Buffer.concat(chunks).subarray(5);
            const asked = req.length > 2 ? req.subarray(2).toString() : '';
            if (h[':path'] !== '/grpc.health.v1.Health/Check' || asked !== 'app') {
              s.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' }, { endStream: true });
              return;
            }
            s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
            s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
            s.end(Buffer.from([0, 0, 0, 0, 2, 8, Number(fs.readFileSync(${JSON.stringify(statusFile)}, 'utf8'))]));
          });
        });
        srv.listen(9090, '127.0.0.1', () => console.log('listening'));`;
      server = spawn('nsenter', [`--net=/proc/${w.sandbox.pid}/ns/net`, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((resolve) => server?.stdout?.once('data', resolve));
      await waitFor('ready (SERVING)', () => status(w, 'app')?.ready === true, 5000);
      writeFileSync(statusFile, '2');
      await waitFor('not ready (NOT_SERVING)', () => status(w, 'app')?.ready === false, 5000);
      expect(events(w)).toContain('Unhealthy: Readiness probe failed: service unhealthy (responded with "NOT_SERVING")');
      await w.stop({ force: true });
    }, 20_000);
  });

  it('nothing is spawned into a frozen container (a vfork child there would stop the supervisor with it): the probe’s exec is refused, the event loop runs on', async () => {
    const { runtime: w } = await start(root, pod('frozen', [sh('app', 'exec sleep 600', { readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } })]));
    root.pids.add(w.containers.get('app')!.pid);
    await waitFor('ready', () => status(w, 'app')?.ready === true, 3000);
    const freezer = `/sys/fs/cgroup/freezer/${w.cgroupOf('app')!.path}/freezer.state`;
    if (!existsSync(freezer)) return; // cgroup v2 kills without freezing
    // Frozen as a kill under way freezes it; thawed in 2 s by a process of its own whatever happens here.
    const thaw = spawn('sh', ['-c', `sleep 2; echo THAWED > ${freezer}`], { stdio: 'ignore' });
    const thawed = new Promise((r) => thaw.once('exit', r));
    writeFileSync(freezer, 'FROZEN');
    let last = Date.now();
    let longest = 0;
    const tick = setInterval(() => {
      longest = Math.max(longest, Date.now() - last);
      last = Date.now();
    }, 20);
    // What a probe's exec asks of the runtime, while the container is frozen.
    const t0 = Date.now();
    const answer = await w.runtime.execSync(w.containers.get('app')!.id!, ['true'], 1, undefined, 'probe').catch((err: Error) => err);
    const took = Date.now() - t0;
    await thawed;
    clearInterval(tick);
    expect(answer).toBeInstanceOf(Error);
    expect((answer as Error).message).toBe('cannot exec in container "app": it is being killed (its cgroup is frozen)');
    expect(took).toBeLessThan(500);
    expect(longest).toBeLessThan(500);
    // Thawed, probes run again and the container is still ready.
    expect(status(w, 'app')?.ready).toBe(true);
    await w.stop({ force: true });
  }, 20_000);

  it('an exec probe that outlives its timeout counts as a failure and leaves no process behind', async () => {
    const { runtime: w } = await start(
      root,
      pod('exectimeout', [sh('app', 'exec sleep 600', { readinessProbe: { exec: { command: ['sh', '-c', 'sleep 37; true'] }, timeoutSeconds: 1, periodSeconds: 30 } })]),
    );
    root.pids.add(w.containers.get('app')!.pid);
    await waitFor('the probe to run', () => commandsIn(w, 'app').includes('sleep 37'), 3000);
    const t0 = Date.now();
    await waitFor('the timeout', () => events(w).includes('Unhealthy: Readiness probe failed: command "sh -c sleep 37; true" timed out'), 3000).catch((e) => {
      console.log(events(w), commandsIn(w, 'app'));
      throw e;
    });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(status(w, 'app')?.ready).toBe(false);
    // Neither the probe's shell nor its sleep is left in the container: only the container's own process.
    await waitFor('the probe processes to be gone', () => commandsIn(w, 'app').every((c) => c === 'sleep 600'), 2000);
    expect(commandsIn(w, 'app')).toEqual(['sleep 600']);
    await w.stop({ force: true });
  }, 20_000);
});
