// Resources on real cgroups: all-or-nothing admission (the seeds' gang
// scheduling), memory limits and OOMKilled, a fork bomb held by pids.max,
// a CPU quota, and teardown through the cgroup that nothing escapes.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { detectDriver, unifiedMount } from '../../src/runtime/cgroups/detect.js';
import { removePodCgroups } from '../../src/runtime/cgroups/pod.js';
import { cgroupParentFromEnv } from '../../src/kubelet/resources.js';
import { V2Driver } from '../../src/runtime/cgroups/v2.js';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import type { Pod } from '../../src/manifest/types.js';
import { freshRootPerTest, isAlive, isRoot, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { start as startPod, type StartOptions } from './pods.js';
import { waitForFile } from './waits.js';

const driver = isRoot ? detectDriver() : null;
const V1_ROOTS = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer'].map((c) => `/sys/fs/cgroup/${c}`);

// The run's own (test/global-setup.ts), as the runtime reads it.
const PARENT = cgroupParentFromEnv();
const cgroupRoots = (): string[] => (driver?.kind === 'v2' ? ['/sys/fs/cgroup'] : V1_ROOTS);

function cgroupDirsOf(uid: string): string[] {
  return cgroupRoots().map((r) => `${r}/${PARENT}/pod${uid}`).filter((d) => existsSync(d));
}

describe.skipIf(!isRoot || !driver)('resources on real cgroups', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));
  afterEach(async () => {
    // No cgroup of any pod of this test is left, in any hierarchy (once its pods are stopped).
    for (const r of root.runtimes) await r.stop({ force: true });
    for (const r of root.runtimes) expect(cgroupDirsOf(r.uid)).toEqual([]);
  });

  const start = async (p: Pod, options: StartOptions = {}): Promise<PodWorker> => (await startPod(root, p, options)).runtime;

  const gib = (name: string): Pod =>
    pod(name, [sh('a', 'sleep 30', { resources: { requests: { memory: '1Gi' } } }), sh('b', 'sleep 30', { resources: { requests: { memory: '1Gi' } } })]);

  it('a pod\'s cgroups go with a container cgroup its record never named (made just before a crash): its process killed, nothing left', async () => {
    const d = driver as NonNullable<typeof driver>;
    const uid = randomUUID();
    const podCg = d.create(`${PARENT}/pod${uid}`);
    const unnamed = d.create(`${PARENT}/pod${uid}/c`);
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      for (const f of unnamed.procsFiles) writeFileSync(f, String(child.pid));
      expect(unnamed.pids()).toEqual([child.pid]);
      const exited = new Promise((r) => child.on('exit', (_c, sig) => r(sig)));
      await removePodCgroups(podCg, [], undefined);
      expect(await exited).toBe('SIGKILL');
      expect(cgroupDirsOf(uid)).toEqual([]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('admits a pod of two 1 GiB containers on a 2 GiB node, refuses it on 1.5 GiB with nothing created', async () => {
    const fits = await start(gib('fits'), { nodeAllocatable: 'memory=2Gi' });
    expect(cgroupDirsOf(fits.uid)).toEqual(cgroupRoots().map((r) => `${r}/${PARENT}/pod${fits.uid}`));
    await fits.stop({ force: true });
    const err = await start(gib('too-big'), { nodeAllocatable: 'memory=1536Mi' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toBe(
      'OutOfmemory: pod "too-big" requests memory 2Gi in all, and this node has 1536Mi left (allocatable 1536Mi, 0 requested by 0 running pods); nothing was started',
    );
    expect(existsSync(`${root.dir}/pods/too-big`)).toBe(false);
  });

  it('refuses a second 2 GiB pod while the first runs, and admits it once the first is deleted', async () => {
    const first = await start(gib('first'), { nodeAllocatable: 'memory=2Gi' });
    await expect(start(gib('second'), { nodeAllocatable: 'memory=2Gi' })).rejects.toThrow(/^OutOfmemory: pod "second" requests memory 2Gi in all, and this node has 0 left .*1 running pod/);
    await first.stop({ force: true });
    const second = await start(gib('second'), { nodeAllocatable: 'memory=2Gi' });
    await second.stop({ force: true });
  });

  it('refuses a pod asking more cpu than the node has (OutOfcpu); init containers count as Kubernetes counts them', async () => {
    const p = pod('cpu-hungry', [sh('a', 'true', { resources: { requests: { cpu: '500m' } } })]);
    p.spec.initContainers = [sh('setup', 'true', { resources: { requests: { cpu: '3' } } })];
    await expect(start(p, { nodeAllocatable: 'cpu=2' })).rejects.toThrow(/^OutOfcpu: pod "cpu-hungry" requests cpu 3 in all, and this node has 2 left/);
  });

  it('OOM-kills a container past its 64 MiB limit (exit 137, reason from the cgroup); the other keeps running', async () => {
    const runtime = await start(
      pod('oom', [
        sh('hog', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived', { resources: { limits: { memory: '64Mi' } } }),
        sh('calm', 'sleep 30'),
      ]),
    );
    await waitFor('the hog to be killed', () => runtime.containers.get('hog')!.status().state.terminated !== undefined, 15_000);
    expect(runtime.containers.get('hog')!.status().state.terminated).toMatchObject({ exitCode: 137, signal: 9, reason: 'OOMKilled' });
    expect(runtime.containers.get('calm')!.running).toBe(true);
    await runtime.stop({ force: true });
  });

  // The pipeline: the kernel picks `tail` (its buffer grows without end; on a busy machine it
  // has picked the shell forking it, as a pipeline's processes are "sh" until they exec); the shell
  // would carry on and exit 0.
  const pipeline = (): Pod['spec']['containers'][number] =>
    sh('hog', 'head -c 200m /dev/zero | tail; echo the shell carried on', { resources: { limits: { memory: '32Mi' } } });
  const terminated = (w: PodWorker, name: string) => w.computeStatus().containerStatuses.find((c) => c.name === name)?.state.terminated;
  const oomEvent = (w: PodWorker) => w.events.events.find((e) => e.reason === 'OOMKilling')?.message ?? '';

  it('an OOM kill of one process ends the whole container: OOMKilled, 137, the kernel’s victim named; the bystander runs on', async () => {
    const started = await startPod(root, pod('oomgroup', [pipeline(), sh('calm', 'sleep 30')]));
    const runtime = started.runtime;
    const calm = runtime.containers.get('calm')!.pid;
    await waitFor('the hog to end', () => terminated(runtime, 'hog') !== undefined, 15_000);
    expect(terminated(runtime, 'hog')).toMatchObject({ exitCode: 137, signal: 9, reason: 'OOMKilled' });
    expect(started.lines('hog')).not.toContain('the shell carried on');
    expect(oomEvent(runtime)).toMatch(/^Memory cgroup out of memory: killed process \d+ \((tail|sh)\) of container hog, and with it the rest of the container$/);
    expect(runtime.containers.get('calm')!.running).toBe(true);
    expect(isAlive(calm)).toBe(true);
    await runtime.stop({ force: true });
  });

  it('restartPolicy OnFailure restarts a container the OOM killer ended', async () => {
    const runtime = await start(pod('oomrestart', [pipeline()], [], { restartPolicy: 'OnFailure' }), { backoff: { baseSeconds: 0.2, capSeconds: 1, resetSeconds: 600 } });
    const status = () => runtime.computeStatus().containerStatuses[0];
    await waitFor('a restart', () => (status()?.restartCount ?? 0) >= 1, 15_000);
    expect(status()?.lastState.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    await runtime.stop({ force: true });
  });

  it('singleProcessOOMKill: only the victim dies, the shell carries on and exits 0 (the kernel’s v1 default)', async () => {
    const started = await startPod(root, pod('oomsingle', [pipeline()]), { singleProcessOOMKill: true });
    const runtime = started.runtime;
    await waitFor('the hog to end', () => terminated(runtime, 'hog') !== undefined, 15_000);
    expect(terminated(runtime, 'hog')).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(started.lines('hog')).toContain('the shell carried on');
    expect(oomEvent(runtime)).toMatch(/^Memory cgroup out of memory: killed process \d+ \((tail|sh)\) of container hog$/);
    await runtime.stop({ force: true });
  });

  it('holds a fork bomb under a pod pids limit of 64; the host can still fork; the pod deletes cleanly', async () => {
    const runtime = await start(pod('bomb', [sh('b', 'bomb() { bomb | bomb & }; bomb; sleep 30')]), { podPidsLimit: 64 });
    const cg = runtime.cgroupOf('b')!;
    // Where the kernel counts a refused fork differs by version (the limit's
    // cgroup, or the forking one): look at both.
    const base = `${driver?.kind === 'v2' ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids'}/${PARENT}/pod${runtime.uid}`;
    const refused = (): number =>
      Math.max(
        ...[`${base}/pids.events`, `${base}/b/pids.events`, `${base}/b/pids.events.local`]
          .filter((f) => existsSync(f))
          .map((f) => Number(/max (\d+)/.exec(readFileSync(f, 'utf8'))?.[1] ?? 0)),
      );
    // The bomb grows to the limit and is held there: the kernel refuses the
    // forks past it (counted in pids.events) and the shells give up. Its
    // size is sampled until the kernel has refused a fork and it has grown.
    let peak = 0;
    await waitFor(
      'the kernel to refuse the bomb’s forks',
      () => {
        peak = Math.max(peak, cg.pids().length);
        return refused() > 0 && peak > 20;
      },
      10_000,
      5,
    );
    expect(peak).toBeGreaterThan(20);
    expect(peak).toBeLessThanOrEqual(63); // pause is in the pod's cgroup too
    // The host is unaffected: it forks as usual.
    expect(execFileSync('sh', ['-c', 'echo forked']).toString()).toBe('forked\n');
    const t0 = Date.now();
    await runtime.stop({ force: true });
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 20_000);

  it('gives a CPU-bound container with a 200m limit about a fifth of a core', async () => {
    const runtime = await start(pod('spin', [sh('s', 'while :; do :; done', { resources: { limits: { cpu: '200m' } } })]));
    const cg = runtime.cgroupOf('s')!;
    const a = cg.usage().cpuNanos;
    // The subject: CPU time used over a fixed 2 s of wall time.
    await new Promise((r) => setTimeout(r, 2000));
    const share = (cg.usage().cpuNanos - a) / 2e9;
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.3);
    await runtime.stop({ force: true });
  });

  it('peapod top reports each container’s CPU and memory from its cgroup', async () => {
    const runtime = await start(
      pod('busy', [sh('spin', 'while :; do :; done', { resources: { limits: { cpu: '300m' } } }), sh('mem', 'head -c 20000000 /dev/zero > /dev/shm/fill; echo filled; sleep 30')]),
    );
    // The 20 MB are in the pod's /dev/shm (charged to mem), and spin has started spinning; top samples for itself.
    await waitForFile(runtime.paths.log('mem', 0), 'filled');
    await waitFor('spin to use CPU', () => runtime.cgroupOf('spin')!.usage().cpuNanos > 0);
    const out = execFileSync(process.execPath, ['bin/peapod.js', 'top', 'pod', 'busy', '--containers', '--root', root.dir]).toString();
    const row = (name: string): string[] => (out.split('\n').find((l) => l.split(/\s+/)[1] === name) ?? '').split(/\s+/);
    const cpu = Number(row('spin')[2]?.replace('m', ''));
    expect(cpu).toBeGreaterThan(150);
    expect(cpu).toBeLessThan(400);
    expect(Number(row('mem')[3]?.replace('Mi', ''))).toBeGreaterThanOrEqual(15);
    await runtime.stop({ force: true });
  });

  it('leaves nothing of a process that double-forked and setsid-ed away from its container', async () => {
    const runtime = await start(pod('escape', [sh('e', '(setsid sh -c "sleep 1000" &); echo escaped; sleep 30')]));
    const cg = runtime.cgroupOf('e')!;
    let escaped: number | undefined;
    await waitFor('the escaped sleep', () => {
      escaped = cg.pids().find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\u00001000'));
      return escaped !== undefined;
    });
    root.pids.add(escaped!);
    // Its parent is pause now, not the container's shell: still in the container's cgroup.
    await runtime.stop({ gracePeriodSeconds: 2 });
    expect(isAlive(escaped!)).toBe(false);
  });
});

describe.skipIf(!isRoot || !unifiedMount())('cgroup v2 core on the unified mount (kill, freeze, events)', () => {
  it('sees a process populate a cgroup, freezes and thaws it, and kills it with cgroup.kill', async () => {
    const mount = unifiedMount() as string;
    const v2 = new V2Driver(mount);
    const path = `peapod-v2-test-${process.pid}/c`;
    const cg = v2.create(path);
    try {
      const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
      const pid = sleeper.pid as number;
      writeFileSync(cg.procsFiles[0] as string, String(pid));
      expect(cg.pids()).toEqual([pid]);
      expect(cg.populated()).toBe(true);
      cg.freeze(true);
      await waitFor('frozen', () => cg.frozen());
      cg.freeze(false);
      await waitFor('thawed', () => !cg.frozen());
      await cg.killAll();
      expect(cg.populated()).toBe(false);
      await waitFor('the process to be gone', () => !isAlive(pid));
    } finally {
      await cg.remove();
      await v2.open(`peapod-v2-test-${process.pid}`).remove();
    }
    expect(readdirSync(mount)).not.toContain(`peapod-v2-test-${process.pid}`);
  });
});
