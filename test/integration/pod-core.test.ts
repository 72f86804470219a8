// The pod core, proven by what the kernel shows: namespace inodes, ps inside
// the pod, hostnames, loopback, volumes, IPC, reaping, fate-sharing.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/image/store.js';
import { execIn, freshRootPerTest, isRoot, nsInode, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { adoptedOrphan, onTerm, ORPHAN, releaseOrphan } from './fixtures.js';
import { containerPid, exitOf, start } from './pods.js';
import { readOr } from './proc.js';
import { waitForTrap } from './waits.js';

describe.skipIf(!isRoot)('pod core (root, real kernel)', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('puts every container in pause’s pid/net/ipc/uts namespaces, each with its own mount namespace', async () => {
    const s = await start(root, pod('ns-share', [sh('a', 'sleep 30'), sh('b', 'sleep 30')]));
    const pause = s.runtime.sandbox.pid;
    const a = containerPid(s, 'a');
    const b = containerPid(s, 'b');
    for (const ns of ['pid', 'net', 'ipc', 'uts']) {
      // A process's own pid ns is pid_for_children's parent; compare the ns it lives in.
      expect(nsInode(a, ns), ns).toBe(nsInode(pause, ns));
      expect(nsInode(b, ns), ns).toBe(nsInode(pause, ns));
      expect(nsInode(pause, ns), `${ns} differs from the host`).not.toBe(nsInode(process.pid, ns));
    }
    expect(nsInode(a, 'mnt')).not.toBe(nsInode(pause, 'mnt'));
    expect(nsInode(b, 'mnt')).not.toBe(nsInode(pause, 'mnt'));
    expect(nsInode(a, 'mnt')).not.toBe(nsInode(b, 'mnt'));
    await s.runtime.stop({ force: true });
  });

  it('shows pause as PID 1 and the other container’s processes in ps, and the pod name as hostname', async () => {
    const s = await start(root, pod('ps-view', [sh('a', 'sleep 31'), sh('b', 'sleep 32')]));
    const a = containerPid(s, 'a');
    const cmdline = await execIn(a, ['cat', '/proc/1/cmdline']);
    expect(cmdline.stdout.split('\0')[0]).toBe('/pause');
    const ps = await execIn(a, ['ps', '-o', 'pid,args']);
    expect(ps.stdout).toContain('sleep 31');
    expect(ps.stdout).toContain('sleep 32');
    expect(ps.stdout).toMatch(/^\s*1\s+\/pause/m);
    for (const c of ['a', 'b']) {
      const h = await execIn(containerPid(s, c), ['hostname']);
      expect(h.stdout.trim()).toBe('ps-view');
      const etc = await execIn(containerPid(s, c), ['cat', '/etc/hostname']);
      expect(etc.stdout.trim()).toBe('ps-view');
    }
    await s.runtime.stop({ force: true });
  });

  it('execs into a running container through the library (exit code back), and refuses a stopped one', async () => {
    const s = await start(root, pod('lib-exec', [sh('a', 'sleep 30'), sh('done', 'true')]));
    expect(await s.runtime.exec('a', ['sh', '-c', '[ "$(hostname)" = lib-exec ] && exit 7'])).toBe(7);
    await waitFor('done to exit', () => !s.runtime.containers.get('done')!.running);
    await expect(s.runtime.exec('done', ['true'])).rejects.toThrow(/cannot exec in a stopped container: container "done"/);
    await s.runtime.stop({ force: true });
  });

  it('execs while this process holds descriptors in the plan’s numbers (98 and up, as a daemon with many pods does)', async () => {
    const s = await start(root, pod('many-fds', [sh('a', 'sleep 30')]));
    const held: number[] = [];
    try {
      // The exec status pipe now lands among the numbers plans give; the addon moves it out of their way.
      while (held.length === 0 || held[held.length - 1]! < 120) held.push(openSync('/dev/null', 'r'));
      expect(await s.runtime.exec('a', ['sh', '-c', 'exit 5'])).toBe(5);
    } finally {
      for (const fd of held) closeSync(fd);
    }
    await s.runtime.stop({ force: true });
  });

  it('uses spec.hostname when it is set', async () => {
    const s = await start(root, pod('named', [sh('a', 'hostname; sleep 30')], [], { hostname: 'custom-host' }));
    const h = await execIn(containerPid(s, 'a'), ['hostname']);
    expect(h.stdout.trim()).toBe('custom-host');
    await s.runtime.stop({ force: true });
  });

  it('lets container A reach a server in container B on 127.0.0.1', async () => {
    const s = await start(
      root,
      pod('loopback', [
        sh('server', 'mkdir -p /www && echo served-by-b > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www'),
        sh('client', 'for i in $(seq 1 50); do wget -qO- http://127.0.0.1:8080/index.html && exit 0; sleep 0.1; done; exit 1'),
      ]),
    );
    const client = await exitOf(s.runtime, 'client');
    expect(client).toEqual({ code: 0 });
    await waitFor('the client log', () => (s.logs.get('client') ?? []).includes('served-by-b'));
    // The host's own loopback has no such server.
    await expect(fetch('http://127.0.0.1:8080/index.html', { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    await s.runtime.stop({ force: true });
  });

  it('shares volumes: a file written by one container is read by the other; readOnly refuses writes', async () => {
    const s = await start(
      root,
      pod(
        'volumes',
        [
          sh('writer', 'echo from-writer > /data/note && sleep 30', { volumeMounts: [{ name: 'shared', mountPath: '/data' }] }),
          sh('reader', 'sleep 30', { volumeMounts: [{ name: 'shared', mountPath: '/mnt/shared', readOnly: true }] }),
        ],
        [{ name: 'shared', emptyDir: {} }],
      ),
    );
    const reader = containerPid(s, 'reader');
    await waitFor('the note', () => readdirSync(s.runtime.paths.volume('shared')).includes('note'));
    expect((await execIn(reader, ['cat', '/mnt/shared/note'])).stdout).toBe('from-writer\n');
    const write = await execIn(reader, ['sh', '-c', 'echo x > /mnt/shared/other']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    await s.runtime.stop({ force: true });
  });

  it('shares SysV and POSIX shared memory across containers, not with the host', async () => {
    const s = await start(root, pod('ipc', [sh('a', 'sleep 30'), sh('b', 'sleep 30')]));
    const a = containerPid(s, 'a');
    const b = containerPid(s, 'b');
    // util-linux ipcmk, run in A's IPC namespace only, makes a SysV segment;
    // B sees it in /proc/sysvipc/shm (busybox has no ipcs), the host does not.
    execFileSync('nsenter', ['-t', String(a), '-i', 'ipcmk', '-M', '4096']);
    const keyOf = (table: string): string[] => table.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
    const inA = keyOf(execFileSync('nsenter', ['-t', String(a), '-i', 'cat', '/proc/sysvipc/shm']).toString());
    expect(inA).toHaveLength(1);
    const key = inA[0]!;
    expect(keyOf((await execIn(b, ['cat', '/proc/sysvipc/shm'])).stdout)).toEqual([key]);
    expect(keyOf(readFileSync('/proc/sysvipc/shm', 'utf8'))).not.toContain(key);
    // POSIX shm lives in /dev/shm, one tmpfs for the whole pod.
    await execIn(a, ['sh', '-c', 'echo posix > /dev/shm/peapod-seg']);
    expect((await execIn(b, ['cat', '/dev/shm/peapod-seg'])).stdout).toBe('posix\n');
    await s.runtime.stop({ force: true });
  }, 20_000);

  it('reaps an orphaned zombie inside the pod within a second', async () => {
    const s = await start(root, pod('zombie', [sh('maker', `sh -c '${ORPHAN}'; sleep 30`)]));
    const maker = containerPid(s, 'maker');
    const orphan = await adoptedOrphan(maker, s.runtime.sandbox.pid);
    // Told to end, it is a zombie of pause's for as long as pause takes to reap it.
    await releaseOrphan(maker);
    await waitFor('the orphan to be reaped', () => readOr(`/proc/${orphan}/stat`) === '', 1300);
    await s.runtime.stop({ force: true });
  });

  it('kills every container when pause is killed, and tears the pod down', async () => {
    const s = await start(root, pod('fate', [sh('a', 'sleep 30'), sh('b', 'trap "" TERM; sleep 30')]));
    process.kill(s.runtime.sandbox.pid, 'SIGKILL');
    const result = await s.runtime.done;
    expect(result.containers.map((c) => [c.name, c.exit])).toEqual([
      ['a', { signal: 9 }],
      ['b', { signal: 9 }],
    ]);
    expect(result.exitCode).not.toBe(0);
  });

  it('leaves the image byte-for-byte unchanged when a container writes all over its root', async () => {
    // Every layer of the image, as the store holds them.
    const layers = resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox').layers;
    const before = layers.map(treeDigest);
    const s = await start(
      root,
      pod('vandal', [sh('v', 'echo evil > /etc/passwd; rm -f /bin/ls /usr/bin/wget; mkdir /new; echo x > /new/file; chmod 777 /etc; touch /bin/busybox; echo done')]),
    );
    const result = await s.runtime.done;
    expect(result.exitCode).toBe(0);
    expect(s.logs.get('v')).toEqual(['done']);
    expect(layers.map(treeDigest)).toEqual(before);
  });

  it('ends with exit code 0 when every container exits 0, non-zero otherwise', async () => {
    const ok = await start(root, pod('all-ok', [sh('a', 'exit 0'), sh('b', 'exit 0')]));
    expect((await ok.runtime.done).exitCode).toBe(0);
    const bad = await start(root, pod('one-bad', [sh('a', 'exit 0'), sh('b', 'exit 3')]));
    const result = await bad.runtime.done;
    expect(result.exitCode).toBe(3);
    expect(result.containers.find((c) => c.name === 'b')?.exit).toEqual({ code: 3 });
  });

  it('stops gracefully: SIGTERM first, SIGKILL at the end of the grace period, pause last', async () => {
    const s = await start(
      root,
      pod('graceful', [sh('polite', onTerm('echo got TERM; exit 0')), sh('stubborn', onTerm(''))]),
    );
    for (const c of ['polite', 'stubborn']) await waitForTrap(containerPid(s, c));
    const t0 = Date.now();
    const result = await s.runtime.stop({ gracePeriodSeconds: 2 });
    const elapsed = (Date.now() - t0) / 1000;
    expect(result.containers.find((c) => c.name === 'polite')?.exit).toEqual({ code: 0 });
    expect(result.containers.find((c) => c.name === 'stubborn')?.exit).toEqual({ signal: 9 });
    expect(s.logs.get('polite')).toContain('got TERM');
    // The stubborn one dies at the end of its grace period: not before, not much after.
    expect(elapsed).toBeGreaterThanOrEqual(1.9);
    expect(elapsed).toBeLessThan(5);
  });

  it('names the failed step, its path and errno when a container cannot start, and rolls the pod back whole', async () => {
    // The executable would come from a volume, so only exec can find it missing.
    const p = pod('bad-exec', [sh('ok', 'sleep 30'), { name: 'broken', image: 'busybox', command: ['/data/missing'], volumeMounts: [{ name: 'd', mountPath: '/data' }] }], [{ name: 'd', emptyDir: {} }]);
    await expect(start(root, p)).rejects.toThrow(/^broken: exec \/data\/missing: ENOENT \(No such file or directory\)$/);
  });

  it('reports a failed mount with the source and target it was given', async () => {
    const file = join(root.dir, 'a-file');
    writeFileSync(file, 'x');
    const p = pod('bad-mount', [{ name: 'm', image: 'busybox', command: ['true'], volumeMounts: [{ name: 'f', mountPath: '/etc' }] }], [{ name: 'f', hostPath: { path: file, type: 'File' } }]);
    const err = await start(root, p).then(() => null, (e: Error & { code?: string }) => e);
    expect(err?.message).toMatch(new RegExp(`^m: open beneath /: etc: ENOTDIR .*: volume "f" \\(${file}\\) on /etc: a file cannot be mounted onto a directory$`));
    expect(err?.code).toBe('ENOTDIR');
  });

  it('writes each container’s output to a CRI-format log file', async () => {
    const s = await start(root, pod('logs', [sh('talker', 'echo out-line; echo err-line >&2; sleep 30')]));
    const file = s.runtime.paths.log('talker', 0);
    await waitFor('two log lines', () => (readOr(file).match(/\n/g) ?? []).length >= 2);
    const lines = readOr(file).trim().split('\n').sort((x, y) => x.split(' ')[1]!.localeCompare(y.split(' ')[1]!));
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stderr F err-line$/);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out-line$/);
    await s.runtime.stop({ force: true });
  });
});

/** Paths, types, modes, owners, sizes, link targets and content hashes of a tree. */
function treeDigest(dir: string): string {
  return execFileSync('sh', ['-c', `cd "${dir}" && find . -printf '%p %y %m %U %G %s %l %T@\\n' | sort && find . -type f -exec sha256sum {} + | sort`], {
    maxBuffer: 64 * 1024 * 1024,
  }).toString();
}
