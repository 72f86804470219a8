// Faults in what the supervisors leave on disk, and in the supervisors
// themselves: a corrupt or empty record beside a live pod, a supervisor
// that is a zombie, one killed before its pod started. Whether a pod lives
// is read from the kernel; what cannot be read is never a reason to delete.
// The supervisors are `run -f`'s (a pod of `run -d` is the node daemon's and
// outlives it: daemon-faults.test.ts), except where the daemon is named.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupDirs, cgroupPaths, manifest, peapod, procState, runForeground, shPod, trackRecord, type RecordPids } from './cli-harness.js';
import { onTerm } from './fixtures.js';
import { freshRootPerTest, isAlive, isRoot, mountsUnder, type TestRoot, waitFor } from './helpers.js';
import { deleteAtEnd } from './pods.js';
import { waitForFile } from './waits.js';

const KEEPER = `apiVersion: v1
kind: Pod
metadata: {name: keep}
spec:
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'echo precious > /data/f; sleep 600']
    volumeMounts: [{name: data, mountPath: /data}]
`;

const ONESHOT = shPod('other', 'true', '\n  restartPolicy: Never');

describe.skipIf(!isRoot)('faults in records and supervisors', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  async function startKeeper(): Promise<{ supervisor: number; podDir: string; record: RecordPids }> {
    await runForeground(root, manifest(root, 'keep', KEEPER), 'keep');
    const record = trackRecord(root, 'keep');
    const podDir = join(root.dir, 'pods', 'keep');
    await waitForFile(join(podDir, 'volumes', 'data', 'f'));
    return { supervisor: record.supervisor.pid, podDir, record };
  }

  /** SIGSTOP; SIGCONT before the pod is deleted at the end, if the test did not. */
  function stop(pid: number): void {
    process.kill(pid, 'SIGSTOP');
    root.stops.push(async () => isAlive(pid) && process.kill(pid, 'SIGCONT'));
  }

  it('a record that cannot be read deletes nothing: another run leaves the live pod, its data and mounts alone', async () => {
    const { supervisor, podDir, record } = await startKeeper();
    // Stopped, the supervisor cannot repair what is written under it.
    stop(supervisor);
    // An emptied status: get says Unknown, and why.
    writeFileSync(join(podDir, 'pod.json'), '');
    const unknown = await peapod(root, ['get', 'pod', 'keep', '-o', 'json']);
    expect(unknown).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(unknown.stdout).status).toMatchObject({ phase: 'Unknown', reason: 'StatusUnreadable', message: expect.stringContaining('pod.json: the file is empty') });
    expect((await peapod(root, ['get', 'pods'])).stdout).toMatch(/^keep\s+0\/1\s+StatusUnreadable\s+0\s+\d+s$/m);
    // A record that cannot be read stays so while another pod starts.
    writeFileSync(join(podDir, 'runtime.json'), 'garbage{');
    const other = await peapod(root, ['run', '-f', manifest(root, 'other', ONESHOT)]);
    expect(other).toMatchObject({ code: 0 });
    expect(readFileSync(join(podDir, 'runtime.json'), 'utf8')).toBe('garbage{');
    expect(readFileSync(join(podDir, 'volumes', 'data', 'f'), 'utf8')).toBe('precious\n');
    expect(mountsUnder(join(podDir, 'shm'))).toHaveLength(1);
    // Stopped (T), and sleeping in their waits (S).
    expect([supervisor, record.sandbox.pid, record.containers.c!.pid].map(procState)).toEqual(['T', 'S', 'S']);
    expect(cgroupDirs(record.cgroups?.pod)).toEqual(cgroupPaths(record.cgroups?.pod));
    // With both files unreadable, the pod is still listed, Unknown, with both reasons.
    const both = JSON.parse((await peapod(root, ['get', 'pods', '-o', 'json'])).stdout).items;
    expect(both).toHaveLength(1);
    expect(both[0].status).toMatchObject({ phase: 'Unknown', message: expect.stringContaining('runtime.json: Unexpected token') });
    // A run of the same name is refused: the pod is live, as the kernel shows.
    const dup = await peapod(root, ['run', '-f', manifest(root, 'keep', KEEPER)]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain(`pod "keep" already exists`);
    expect(dup.stderr).toContain(`pid ${supervisor}`);

    // Running again, the supervisor writes back what it holds in memory.
    process.kill(supervisor, 'SIGCONT');
    await waitFor('the record repaired', () => readFileSync(join(podDir, 'runtime.json'), 'utf8').includes(`"pid": ${supervisor}`));
    await waitFor('the status repaired', () => readFileSync(join(podDir, 'pod.json'), 'utf8').includes('"phase": "Running"'));
    expect((await peapod(root, ['get', 'pods'])).stdout).toMatch(/^keep\s+1\/1\s+Running\s+0\s+\d+s$/m);
    const exec = await peapod(root, ['exec', 'keep', '--', 'cat', '/data/f']);
    expect(exec).toMatchObject({ code: 0, stdout: 'precious\n' });
    const del = await peapod(root, ['delete', 'pod', 'keep']);
    expect(del).toMatchObject({ code: 0, stdout: 'pod "keep" deleted\n' });
    expect(cgroupDirs(record.cgroups?.pod)).toEqual([]);
  }, 40_000);

  it('an emptied record and status beside a live pod: get, exec and another run all work, and the supervisor repairs them', async () => {
    const { podDir, record } = await startKeeper();
    writeFileSync(join(podDir, 'runtime.json'), '');
    writeFileSync(join(podDir, 'pod.json'), '');
    const get = await peapod(root, ['get', 'pod', 'keep']);
    expect(get.stderr).toBe('');
    expect(get).toMatchObject({ code: 0 });
    expect(get.stdout).toMatch(/^keep\s+1\/1\s+Running\s+0\s+\d+s$/m);
    expect(await peapod(root, ['exec', 'keep', '--', 'cat', '/data/f'])).toMatchObject({ code: 0, stdout: 'precious\n' });
    expect(await peapod(root, ['run', '-f', manifest(root, 'other', ONESHOT)])).toMatchObject({ code: 0 });
    expect(readFileSync(join(podDir, 'volumes', 'data', 'f'), 'utf8')).toBe('precious\n');
    expect(JSON.parse(readFileSync(join(podDir, 'runtime.json'), 'utf8'))).toMatchObject({ name: 'keep', supervisor: { pid: record.supervisor.pid } });
    const describe = (await peapod(root, ['describe', 'pod', 'keep'])).stdout;
    expect(describe).toMatch(/Warning\s+RecordRepaired\s+.*runtime\.json/);
    expect(await peapod(root, ['delete', 'pod', 'keep'])).toMatchObject({ code: 0 });
  }, 40_000);

  it('a zombie supervisor is dead: get says Failed, delete reclaims, and the name can be used again', async () => {
    const file = manifest(root, 'z', shPod('z', 'sleep 600'));
    deleteAtEnd(root, 'z');
    // The supervisor's parent never reaps (as a host whose PID 1 is slow, or never does): it stays a zombie.
    const parent = spawn('sh', ['-c', `"${process.execPath}" "${join(process.cwd(), 'bin', 'peapod.js')}" run -f "${file}" --root "${root.dir}" >/dev/null 2>&1 & exec sleep 60`], {
      stdio: 'ignore',
    });
    try {
      await waitFor('the pod running', () => existsSync(join(root.dir, 'pods', 'z', 'pod.json')) && readFileSync(join(root.dir, 'pods', 'z', 'pod.json'), 'utf8').includes('"phase": "Running"'), 10_000);
      const record = trackRecord(root, 'z');
      process.kill(record.supervisor.pid, 'SIGKILL');
      await waitFor('the supervisor a zombie', () => procState(record.supervisor.pid) === 'Z');
      await waitFor('pause gone with it', () => !isAlive(record.sandbox.pid));
      const get = await peapod(root, ['get', 'pods']);
      expect(get.stdout).toMatch(/^z\s+0\/1\s+SupervisorLost\s+0\s+\d+s$/m);
      const json = JSON.parse((await peapod(root, ['get', 'pod', 'z', '-o', 'json'])).stdout);
      expect(json.status).toMatchObject({ phase: 'Failed', reason: 'SupervisorLost' });
      expect(await peapod(root, ['delete', 'pod', 'z'])).toMatchObject({ code: 0, stdout: 'pod "z" deleted\n' });
      expect(existsSync(join(root.dir, 'pods', 'z'))).toBe(false);
      expect(cgroupDirs(record.cgroups?.pod)).toEqual([]);
      expect(procState(record.supervisor.pid)).toBe('Z');
      // The name is free again while the zombie lingers.
      const again = await peapod(root, ['run', '-d', '-f', file]);
      expect(again).toMatchObject({ code: 0, stdout: 'pod/z\n' });
      trackRecord(root, 'z');
      expect(await peapod(root, ['delete', 'pod', 'z', '--force'])).toMatchObject({ code: 0 });
    } finally {
      parent.kill('SIGKILL');
    }
  }, 40_000);

  it('a supervisor killed during a graceful delete: delete says the grace period was cut short, exits 1, and reclaims', async () => {
    const file = manifest(root, 'cut', shPod('cut', onTerm('echo ignoring TERM'), '\n  terminationGracePeriodSeconds: 30'));
    await runForeground(root, file, 'cut');
    const record = trackRecord(root, 'cut');
    const deleting = peapod(root, ['delete', 'pod', 'cut']);
    await waitFor('the pod terminating', () => readFileSync(join(root.dir, 'pods', 'cut', 'pod.json'), 'utf8').includes('deletionTimestamp'));
    process.kill(record.supervisor.pid, 'SIGKILL');
    const result = await deleting;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('peapod: pod "cut": the pod\'s supervisor exited before the pod was gone: the pod was killed with it, without the rest of its grace period; what it left was reclaimed');
    expect(existsSync(join(root.dir, 'pods', 'cut'))).toBe(false);
    expect(mountsUnder(root.dir)).toEqual([]);
    expect(cgroupDirs(record.cgroups?.pod)).toEqual([]);
  }, 30_000);

  it('run -d names the signal that killed the daemon before the pod started; the next daemon removes the half-made pod', async () => {
    const file = manifest(root, 'hook', shPod('hook', 'sleep 600').replace('    command:', '    lifecycle: {postStart: {exec: {command: [sleep, "30"]}}}\n    command:'));
    deleteAtEnd(root, 'hook');
    const run = peapod(root, ['run', '-d', '-f', file]);
    const recordFile = join(root.dir, 'pods', 'hook', 'runtime.json');
    // The container has started; its postStart hook holds the start back.
    await waitFor('the container started', () => existsSync(recordFile) && readFileSync(recordFile, 'utf8').includes('"c": {'), 10_000);
    const record = trackRecord(root, 'hook');
    process.kill(record.supervisor.pid, 'SIGKILL');
    const result = await run;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the peapod daemon was killed by SIGKILL before pod "hook" started');
    const json = JSON.parse((await peapod(root, ['get', 'pod', 'hook', '-o', 'json'])).stdout);
    expect(json.status).toMatchObject({ phase: 'Failed', reason: 'StartInterrupted' });
    expect(await peapod(root, ['delete', 'pod', 'hook'])).toMatchObject({ code: 0 });
    expect(cgroupDirs(record.cgroups?.pod)).toEqual([]);
  }, 30_000);
});
