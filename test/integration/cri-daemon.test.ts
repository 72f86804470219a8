// The CRI as the node daemon serves it (issue 15's last item, issue 12's
// promise): `peapod daemon` answers on <root>/cri.sock, and the CRI's
// sandboxes and containers outlive it. Killed with SIGKILL while a sandbox
// runs containers (running, exited, made and never started, two attempts of
// one name) and another is stopped, the next daemon lists them with the same
// ids, states, exit codes (one exit happens while no daemon runs), image
// references, log paths, labels and annotations; exec and logs work on the
// adopted containers, the one never started starts, and RemovePodSandbox
// leaves nothing. Driven over gRPC with the client built from the same
// protos as cri.test.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/image/store.js';
import { daemonPaths } from '../../src/node/daemon-paths.js';
import { criDaemon, podCgroupsLeft, removeCgroupParent, spdyConnect, type CriClient } from './cri-harness.js';
import { daemonInfo, killDaemon } from './daemon-harness.js';
import { peapod } from './cli-harness.js';
import { freePort } from './registry-harness.js';
import { freshRootPerTest, isAlive, isRoot, runStops, waitFor, type TestRoot } from './helpers.js';

const IMAGE = 'localhost/busybox:latest';

describe.skipIf(!isRoot)('the CRI served by the node daemon', () => {
  let root: TestRoot;
  let cri: CriClient | undefined;
  let scratch: string;
  const cgroupParent = `peapod-cri-daemon-test-${process.pid}`;

  beforeAll(() => {
    resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox');
  });

  afterAll(() => removeCgroupParent(cgroupParent));

  freshRootPerTest((r) => {
    root = r;
    scratch = mkdtempSync(join(tmpdir(), 'peapod-cri-daemon-'));
  });

  // Before the leak check (hooks run last-registered first): the daemon's sandboxes removed, it stopped, then the scratch directory its containers used.
  afterEach(async () => {
    cri?.close();
    cri = undefined;
    await runStops(root);
    rmSync(scratch, { recursive: true, force: true });
  });

  const serve = async (): Promise<CriClient> => (await criDaemon(root)).cri;

  const podConfig = (name: string): Record<string, unknown> => ({
    metadata: { name, uid: `uid-${name}`, namespace: 'test', attempt: 0 },
    hostname: name,
    logDirectory: join(scratch, 'logs', name),
    labels: { app: name },
    annotations: { note: `made by ${name}` },
    linux: { cgroupParent },
  });

  const pauseOf = async (client: CriClient, id: string): Promise<number> => JSON.parse((await client.runtime('PodSandboxStatus', { podSandboxId: id, verbose: true })).info.info as string).pid as number;

  it('keeps every sandbox and container across a SIGKILL of the daemon: same ids, states, exit codes, refs, logs; exec works; removal leaves nothing', async () => {
    cri = await serve();
    const c = cri;
    const gate = join(scratch, 'gate');
    mkdirSync(gate);
    const keep = podConfig('keep');
    const { podSandboxId: pod } = await c.runtime('RunPodSandbox', { config: keep });
    const { image: { id: imageId } } = await c.image('ImageStatus', { image: { image: IMAGE } });
    const create = async (name: string, attempt: number, command: string[], extra: object = {}): Promise<string> => {
      const config = { metadata: { name, attempt }, image: { image: imageId }, command, logPath: `${name}_${attempt}.log`, labels: { name }, annotations: { attempt: String(attempt) }, linux: {}, ...extra };
      return (await c.runtime('CreateContainer', { podSandboxId: pod, config, sandboxConfig: keep })).containerId as string;
    };
    const started = async (id: string): Promise<string> => {
      await c.runtime('StartContainer', { containerId: id });
      return id;
    };
    const pidOf = async (id: string, client = c): Promise<number> => JSON.parse((await client.runtime('ContainerStatus', { containerId: id, verbose: true })).info.info as string).pid as number;

    const runner = await started(await create('runner', 0, ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done']));
    const gated = await started(await create('gated', 0, ['sh', '-c', 'while [ ! -e /gate/go ]; do sleep 0.05; done; echo leaving; exit 7'], { mounts: [{ containerPath: '/gate', hostPath: gate }] }));
    // Two attempts of one name, both exited 3: the CRI keeps both until RemoveContainer.
    const first = await started(await create('done', 0, ['sh', '-c', 'echo bye; exit 3']));
    await waitFor('attempt 0 to exit', async () => (await c.runtime('ContainerStatus', { containerId: first })).status.state === 'CONTAINER_EXITED');
    const second = await started(await create('done', 1, ['sh', '-c', 'echo bye again; exit 3']));
    const later = await create('later', 0, ['sh', '-c', 'echo started late; exec sleep 1000']);
    await waitFor('attempt 1 to exit', async () => (await c.runtime('ContainerStatus', { containerId: second })).status.state === 'CONTAINER_EXITED');
    // Resources updated after the start are what is reported, before and after.
    await c.runtime('UpdateContainerResources', { containerId: runner, linux: { memoryLimitInBytes: 64 << 20 } });
    // A stopped sandbox stays listed, not ready.
    const { podSandboxId: stopped } = await c.runtime('RunPodSandbox', { config: podConfig('stopped') });
    await c.runtime('StopPodSandbox', { podSandboxId: stopped });

    const pause = await pauseOf(c, pod);
    const runnerPid = await pidOf(runner);
    const gatedPid = await pidOf(gated);
    for (const pid of [pause, runnerPid, gatedPid]) root.pids.add(pid);
    /** What a kubelet lists after a restart: the sandboxes, the containers, each container's status, the sandbox's. */
    const snapshot = async (client: CriClient): Promise<{ sandboxes: unknown; containers: unknown; statuses: Record<string, Record<string, unknown>>; sandbox: unknown }> => ({
      sandboxes: (await client.runtime('ListPodSandbox')).items,
      containers: (await client.runtime('ListContainers')).containers,
      statuses: Object.fromEntries(await Promise.all([runner, gated, first, second, later].map(async (id) => [id, (await client.runtime('ContainerStatus', { containerId: id })).status]))),
      sandbox: (await client.runtime('PodSandboxStatus', { podSandboxId: pod })).status,
    });
    const before = await snapshot(c);
    expect((before.sandboxes as unknown[]).length).toBe(2);
    expect((before.containers as unknown[]).length).toBe(5);
    expect(before.statuses[runner]).toMatchObject({ state: 'CONTAINER_RUNNING', resources: { linux: { memoryLimitInBytes: 64 << 20 } } });
    expect(before.statuses[first]).toMatchObject({ state: 'CONTAINER_EXITED', exitCode: 3 });
    expect(before.statuses[later]).toMatchObject({ state: 'CONTAINER_CREATED' });
    expect(readdirSync(daemonPaths(root.paths).sandboxes).sort()).toEqual([`${pod}.json`, `${stopped}.json`].sort());

    c.close();
    await killDaemon(root);
    expect(isAlive(pause) && isAlive(runnerPid) && isAlive(gatedPid)).toBe(true);
    // While no daemon runs, a container exits 7: only the dead daemon's reaper is told.
    writeFileSync(join(gate, 'go'), '');
    await waitFor('the gated container to exit', () => !isAlive(gatedPid));
    const restarted = Date.now();

    cri = await serve();
    const d = cri;
    const again = await snapshot(d);
    // The same sandboxes, the stopped one not ready.
    expect(again.sandboxes).toEqual(before.sandboxes);
    expect(again.sandbox).toEqual(before.sandbox);
    expect((again.sandboxes as Array<{ id: string; state: string }>).find((s) => s.id === stopped)?.state).toBe('SANDBOX_NOTREADY');
    // The same containers, the gated one now exited with the code the kernel gave while no daemon ran.
    const gatedNow = again.statuses[gated] ?? {};
    expect(gatedNow).toMatchObject({ state: 'CONTAINER_EXITED', exitCode: 7, reason: 'Error' });
    const { state: _s, exitCode: _e, reason: _r, finishedAt: _f, ...gatedRest } = gatedNow;
    const { state: _s0, exitCode: _e0, reason: _r0, finishedAt: _f0, ...gatedBefore } = before.statuses[gated] ?? {};
    expect(gatedRest).toEqual(gatedBefore);
    for (const id of [runner, first, second, later]) expect(again.statuses[id], id).toEqual(before.statuses[id]);
    const listed = (list: unknown): unknown[] => (list as Array<{ id: string }>).filter((x) => x.id !== gated).sort((a, b) => a.id.localeCompare(b.id));
    expect(listed(again.containers)).toEqual(listed(before.containers));
    expect((again.containers as Array<{ id: string; state: string }>).find((x) => x.id === gated)?.state).toBe('CONTAINER_EXITED');

    // Exec into the adopted container, sync and streamed; its output still goes to its log.
    const sync = await d.runtime('ExecSync', { containerId: runner, cmd: ['hostname'], timeout: 10 });
    expect(Buffer.from(sync.stdout).toString()).toBe('keep\n');
    const { url } = await d.runtime('Exec', { containerId: runner, cmd: ['sh', '-c', 'echo streamed; exit 5'], stdout: true, stderr: true });
    const s = await spdyConnect(url, ['v4.channel.k8s.io']);
    const error = await s.open({ streamType: 'error' });
    const stdout = await s.open({ streamType: 'stdout' });
    await s.open({ streamType: 'stderr' });
    await Promise.all([s.ended(error), s.ended(stdout)]);
    s.destroy();
    expect(s.received(stdout).toString()).toBe('streamed\n');
    expect(JSON.parse(s.received(error).toString())).toMatchObject({ reason: 'NonZeroExitCode', details: { causes: [{ message: '5' }] } });
    const log = (again.statuses[runner] as { logPath: string }).logPath;
    const ticksSince = (file: string, t: number): number =>
      existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter((l) => / stdout F tick \d+$/.test(l) && Date.parse(l.split(' ')[0] as string) > t).length
        : 0;
    await waitFor('ticks logged by the new daemon', () => ticksSince(log, restarted) >= 3);
    // The kubelet's rotation of an adopted container's log.
    renameSync(log, `${log}.1`);
    await d.runtime('ReopenContainerLog', { containerId: runner });
    await waitFor('ticks in the reopened log', () => ticksSince(log, 0) >= 2);

    // The container made before the kill and never started starts now.
    await d.runtime('StartContainer', { containerId: later });
    root.pids.add(await pidOf(later, d));
    expect((await d.runtime('ContainerStatus', { containerId: later })).status.state).toBe('CONTAINER_RUNNING');
    await waitFor('its output', () => existsSync(join(scratch, 'logs', 'keep', 'later_0.log')) && readFileSync(join(scratch, 'logs', 'keep', 'later_0.log'), 'utf8').includes('started late'));

    // RemovePodSandbox cleans everything: processes, saved facts, directories, cgroups.
    await d.runtime('StopPodSandbox', { podSandboxId: pod });
    for (const id of [pod, stopped]) await d.runtime('RemovePodSandbox', { podSandboxId: id });
    expect((await d.runtime('ListPodSandbox')).items).toEqual([]);
    expect((await d.runtime('ListContainers')).containers).toEqual([]);
    await waitFor('every process of it gone', () => [...root.pids].every((p) => !isAlive(p)));
    expect(readdirSync(daemonPaths(root.paths).sandboxes)).toEqual([]);
    // The daemon renames a removed pod's directories aside and deletes them after it answered (issue 17): waited for.
    await waitFor('the pods directory empty', () => readdirSync(join(root.dir, 'pods')).length === 0);
    expect(podCgroupsLeft(cgroupParent)).toEqual([]);
    expect(execFileSync('ps', ['-eo', 'args=']).toString()).not.toContain('tick $i');
  }, 60_000);

  it('`peapod cri` is that daemon with the CRI flags: one per root, and stopped (SIGTERM) it leaves its sandbox to the next daemon', async () => {
    expect(await peapod(root, ['cri', '--streaming-port', 'x'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--streaming-port x: a TCP port is a whole number') });
    const socket = join(root.dir, 'kubelet.sock');
    const port = await freePort();
    const first = await criDaemon(root, {}, ['cri', '--socket', socket, '--streaming-port', String(port)], socket);
    cri = first.cri;
    expect(first.daemon.output()).toContain(`streaming on http://127.0.0.1:${port}`);
    const { podSandboxId: pod } = await cri.runtime('RunPodSandbox', { config: podConfig('stays') });
    const pause = await pauseOf(cri, pod);
    root.pids.add(pause);
    // One daemon per root: a second one says which serves, and exits 1.
    const refused = await peapod(root, ['cri']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`another peapod daemon (pid ${daemonInfo(root).pid}) already serves ${root.dir}`);

    cri.close();
    first.daemon.child.kill('SIGTERM');
    expect(await first.daemon.exited).toBe(0);
    expect(isAlive(pause)).toBe(true);
    // The next daemon, `peapod daemon` with the same socket, holds it: same id, still ready, the same pause.
    cri = (await criDaemon(root, {}, ['daemon', '--cri-socket', socket], socket)).cri;
    expect((await cri.runtime('ListPodSandbox')).items).toMatchObject([{ id: pod, state: 'SANDBOX_READY', labels: { app: 'stays' } }]);
    expect(await pauseOf(cri, pod)).toBe(pause);
    await cri.runtime('RemovePodSandbox', { podSandboxId: pod });
    await waitFor('its pause to be gone', () => !isAlive(pause));
    expect(readdirSync(daemonPaths(root.paths).sandboxes)).toEqual([]);
  }, 60_000);
});
