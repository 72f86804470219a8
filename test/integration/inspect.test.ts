// `peapod inspect`: what it prints must be what the kernel shows. A pod is
// started in this process (its supervisor); `peapod inspect` runs as another
// process, as a user would run it, and every pid and inode it lists is
// checked against /proc.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PodInspection, ProcessView } from '../../src/node/inspect.js';
import { freshRootPerTest, isAlive, isRoot, nsInode, pidsWithMnt, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { peapod } from './cli-harness.js';
import { containerPid, start } from './pods.js';
import { nsPid } from './proc.js';

const KINDS = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup', 'user', 'time'] as const;

/** Every process listed agrees with /proc: alive, same pid in the pod, same namespaces. */
function expectMatchesKernel(p: ProcessView): void {
  expect(isAlive(p.hostPid), `pid ${p.hostPid} (${p.command}) is alive`).toBe(true);
  expect(p.podPid).toBe(nsPid(p.hostPid));
  for (const ns of KINDS) {
    if (p.namespaces[ns] === null) continue; // a kernel without that kind
    expect(p.namespaces[ns], `${ns} of pid ${p.hostPid}`).toBe(nsInode(p.hostPid, ns));
  }
}

describe.skipIf(!isRoot)('peapod inspect (root, real kernel)', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('shows, as JSON, pid/net/ipc/uts shared with pause and a mount namespace per container, as the kernel has them', async () => {
    const s = await start(
      root,
      pod(
        'inspected',
        [
          // Three processes in a: the shell and two sleeps.
          sh('a', 'sleep 300 & sleep 301; wait', { volumeMounts: [{ name: 'shared', mountPath: '/data' }] }),
          sh('b', 'exec sleep 302', { volumeMounts: [{ name: 'shared', mountPath: '/mnt/shared', readOnly: true }] }),
        ],
        [{ name: 'shared', emptyDir: {} }],
      ),
    );
    const pause = s.runtime.sandbox.pid;
    const a = containerPid(s, 'a');
    const b = containerPid(s, 'b');
    const aMnt = nsInode(a, 'mnt');
    await waitFor('both sleeps of a', () => pidsWithMnt(aMnt).length >= 3);

    const run = await peapod(root, ['inspect', 'inspected', '-o', 'json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const v = JSON.parse(run.stdout) as PodInspection;

    expect(v.kind).toBe('PodInspection');
    expect(v.metadata.name).toBe('inspected');
    expect(v.supervisorPid).toBe(process.pid);
    expect(v.pause.hostPid).toBe(pause);
    expect(v.pause.podPid).toBe(1);
    expect(v.containers.map((c) => c.name)).toEqual(['a', 'b']);
    expect(v.containers.map((c) => c.mainPid)).toEqual([a, b]);
    expect(v.containers.every((c) => c.state === 'running')).toBe(true);

    // pause holds the pod's four namespaces, not the host's.
    for (const ns of ['pid', 'net', 'ipc', 'uts'] as const) {
      expect(v.pause.namespaces[ns], ns).not.toBe(v.host.namespaces[ns]);
      expect(v.pause.sharedWith[ns]).toBeNull();
    }
    expect(v.host.namespaces.pid).toBe(nsInode(process.pid, 'pid'));
    const [ca, cb] = v.containers;
    for (const c of [ca!, cb!]) {
      const main = c.processes[0]!;
      expect(main.hostPid).toBe(c.mainPid);
      for (const ns of ['pid', 'net', 'ipc', 'uts'] as const) {
        expect(main.namespaces[ns], `${c.name} ${ns}`).toBe(v.pause.namespaces[ns]);
        expect(main.sharedWith[ns], `${c.name} ${ns}`).toBe('pause');
      }
      // Its own mount namespace: neither pause's nor the host's.
      expect(main.namespaces.mnt).not.toBe(v.pause.namespaces.mnt);
      expect(main.namespaces.mnt).not.toBe(v.host.namespaces.mnt);
      expect(main.sharedWith.mnt).toBeNull();
    }
    expect(ca!.processes[0]!.namespaces.mnt).not.toBe(cb!.processes[0]!.namespaces.mnt);
    expect(v.sharing.pod).toEqual(expect.arrayContaining(['pid', 'net', 'ipc', 'uts']));
    expect(v.sharing.own).toContain('mnt');

    // Every process of a is listed (the kernel's count), marked as a's.
    expect(ca!.processes.map((p) => p.hostPid).sort()).toEqual(pidsWithMnt(aMnt).sort());
    expect(ca!.processes.map((p) => p.command)).toEqual(expect.arrayContaining(['sleep 300', 'sleep 301']));
    for (const p of ca!.processes.slice(1)) expect(p.sharedWith.mnt).toBe('main');
    expect(cb!.processes).toHaveLength(1);

    // Alive, and exactly as /proc says; pids inside the pod are distinct.
    const all = [v.pause, ...v.containers.flatMap((c) => c.processes)];
    all.forEach(expectMatchesKernel);
    expect(new Set(all.map((p) => p.podPid)).size).toBe(all.length);

    // Mounts: the overlay root, the pod's /dev/shm and the volume, traced to the host.
    const mount = (c: typeof ca, point: string) => c!.mounts.find((m) => m.mountPoint === point);
    expect(mount(ca, '/')).toMatchObject({ kind: 'rootfs', fsType: 'overlay' });
    expect(mount(ca, '/')!.superOptions.join(',')).toContain(`upperdir=${s.runtime.paths.container('a').upper}`);
    expect(mount(ca, '/dev/shm')).toMatchObject({ kind: 'shm', hostPath: s.runtime.paths.shm });
    expect(mount(cb, '/dev/shm')).toMatchObject({ kind: 'shm', hostPath: s.runtime.paths.shm });
    expect(mount(ca, '/data')).toMatchObject({ kind: 'volume', volume: { name: 'shared', source: 'emptyDir' }, readOnly: false, hostPath: s.runtime.paths.volume('shared') });
    expect(mount(cb, '/mnt/shared')).toMatchObject({ kind: 'volume', readOnly: true, hostPath: s.runtime.paths.volume('shared') });
    expect(mount(ca, '/proc')).toMatchObject({ kind: 'proc', fsType: 'proc' });
    expect(mount(ca, '/etc/hostname')).toMatchObject({ kind: 'pod-file', hostPath: s.runtime.paths.etc.hostname });

    await s.runtime.stop({ force: true });
  });

  it('prints a table that names every container, marks what is shared with pause, and lists mounts', async () => {
    const s = await start(root, pod('texty', [sh('first', 'exec sleep 303'), sh('second', 'exec sleep 304')]));
    const run = await peapod(root, ['inspect', 'texty']);
    expect(run.code).toBe(0);
    const out = run.stdout;
    // The teaching header, and the column of every namespace kind.
    expect(out).toMatch(/SHARE a namespace when the inode is the same/);
    expect(out).toMatch(/=pause\s+the same namespace as pause/);
    expect(out).toMatch(/Shared by the whole pod .*: pid net ipc uts\./);
    expect(out).toMatch(/PROCESS\s+HOST PID\s+POD PID\s+UID\s+PID\s+NET\s+IPC\s+UTS\s+MNT\s+CGROUP\s+USER\s+TIME\s+SECCOMP\s+COMMAND/);
    const row = (name: string): string => out.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    expect(row('pause')).toContain(String(s.runtime.sandbox.pid));
    for (const [name, cmd] of [['first', 'sleep 303'], ['second', 'sleep 304']] as const) {
      const line = row(name);
      expect(line, `a row for ${name}`).toContain(String(containerPid(s, name)));
      expect(line).toContain(cmd);
      // pid net ipc uts: =pause; mnt: a number of its own.
      expect(line.match(/=pause/g)).toHaveLength(4);
      expect(line).toContain(String(nsInode(containerPid(s, name), 'mnt')));
      expect(out).toContain(`Mounts of ${name}, as it sees them (/proc/${containerPid(s, name)}/mountinfo)`);
    }
    expect(out).toMatch(/^\s+\/dev\/shm\s+the pod's shared \/dev\/shm\s+tmpfs/m);
    expect(out).toMatch(/^\s+\/\s+root filesystem\s+overlay\s+rw\s+lower /m);
    await s.runtime.stop({ force: true });
  });

  it('says NotFound for an unknown pod, and that an ended pod has nothing to inspect', async () => {
    const missing = await peapod(root, ['inspect', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('Error from server (NotFound): pods "nope" not found\n');
    expect(missing.stdout).toBe('');

    // A tombstone: the last status of a pod whose supervisor died.
    const dir = join(root.dir, 'pods', 'gone');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'pod.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gone' }, spec: { containers: [] }, status: { phase: 'Failed', reason: 'SupervisorLost', conditions: [], containerStatuses: [] } }),
    );
    const gone = await peapod(root, ['inspect', 'gone', '-o', 'json']);
    rmSync(dir, { recursive: true });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/pod "gone" is not running \(Failed, SupervisorLost\)/);
    expect(gone.stdout).toBe('');

    const usage = await peapod(root, ['inspect']);
    expect(usage.code).toBe(2);
  });
});
