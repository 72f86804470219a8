// Volumes, complete and safe, proven on the real kernel: memory-backed
// emptyDir with its size limit, every hostPath type checked before anything
// starts, subPath and subPathExpr opened beneath their volume (the
// CVE-2017-1002101 / CVE-2021-25741 scenario refused), readOnly keeping the
// mount's other flags, and mount propagation None / HostToContainer /
// Bidirectional.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Volume } from '../../src/manifest/types.js';
import { expectNothingLeft, isRoot, makeRoot, mountsUnder, pod, sh, waitFor, type TestRoot } from './helpers.js';
import { expectHostUnchanged, snapshotHost, type HostSnapshot } from './containment-harness.js';
import { containerPid, start, runToEnd } from './pods.js';

/** Mount points (and their options) of a running process, by path. */
function mountsOf(pid: number): Map<string, { opts: string; fstype: string }> {
  const out = new Map<string, { opts: string; fstype: string }>();
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (f.length < 6 || dash < 0) continue;
    out.set(f[4] as string, { opts: f[5] as string, fstype: f[dash + 1] as string });
  }
  return out;
}

describe.skipIf(!isRoot)('volumes (root, real kernel)', () => {
  let root: TestRoot;
  let host: HostSnapshot;
  let scratch: string;
  beforeEach(() => {
    root = makeRoot();
    host = snapshotHost();
    scratch = mkdtempSync('/tmp/peapod-vol-');
    chmodSync(scratch, 0o755);
  });
  afterEach(async () => {
    try {
      await expectNothingLeft(root);
      expectHostUnchanged(host);
      expect(mountsUnder(scratch)).toEqual([]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      root.cleanup();
    }
  });

  describe('emptyDir', () => {
    it('medium: Memory is a tmpfs of sizeLimit: a write past it fails with ENOSPC; it is gone with the pod', async () => {
      const s = await start(
        root,
        pod(
          'mem',
          [
            sh('writer', 'dd if=/dev/zero of=/cache/big bs=1024 count=2048 2>&1 | head -1; echo written; sleep 30', { volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }),
            sh('reader', 'sleep 30', { volumeMounts: [{ name: 'cache', mountPath: '/c', readOnly: true }] }),
          ],
          [{ name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }],
        ),
      );
      await waitFor('the write', () => (s.logs.get('writer') ?? []).includes('written'));
      expect(s.logs.get('writer')?.[0]).toBe("dd: error writing '/cache/big': No space left on device");
      // On the host, a tmpfs of exactly 1 MiB under the pod's directory.
      const volume = s.runtime.paths.volume('cache');
      expect(mountsUnder(root.dir)).toContain(volume);
      expect(statSync(join(volume, 'big')).size).toBe(1024 * 1024);
      const df = execFileSync('df', ['-k', '--output=size,fstype', volume]).toString().trim().split('\n')[1]?.trim().split(/\s+/);
      expect(df).toEqual(['1024', 'tmpfs']);
      expect(statSync(volume).mode & 0o7777).toBe(0o777);
      // The read-only mount in the other container keeps the tmpfs's nosuid and nodev.
      expect(mountsOf(containerPid(s, 'reader')).get('/c')).toEqual({ opts: 'ro,nosuid,nodev,relatime', fstype: 'tmpfs' });
      await s.runtime.stop({ force: true });
    });

    it('refuses a bad sizeLimit before anything starts', async () => {
      const p = pod('badsize', [sh('c', 'true')], [{ name: 'v', emptyDir: { medium: 'Memory', sizeLimit: 'lots' } }]);
      await expect(start(root, p)).rejects.toThrow(/^spec\.volumes\[0\]\.emptyDir\.sizeLimit: /);
    });
  });

  describe('hostPath', () => {
    let server: Server | undefined;
    afterEach(async () => {
      if (server) await new Promise((r) => server?.close(r));
      server = undefined;
    });

    async function fixtures(): Promise<Record<string, string>> {
      const dir = join(scratch, 'dir');
      mkdirSync(dir);
      writeFileSync(join(dir, 'hello'), 'hi\n');
      const file = join(scratch, 'file');
      writeFileSync(file, 'a file\n');
      const socket = join(scratch, 'sock');
      server = createServer();
      await new Promise<void>((r) => server?.listen(socket, r));
      return { dir, file, socket };
    }

    it('mounts every type when the host path is what the type says, creating the *OrCreate ones', async () => {
      const f = await fixtures();
      const volumes: Volume[] = [
        { name: 'any', hostPath: { path: f.dir as string, type: '' } },
        { name: 'doc', hostPath: { path: join(scratch, 'made/deep'), type: 'DirectoryOrCreate' } },
        { name: 'dir', hostPath: { path: f.dir as string, type: 'Directory' } },
        { name: 'foc', hostPath: { path: join(scratch, 'made-file'), type: 'FileOrCreate' } },
        { name: 'file', hostPath: { path: f.file as string, type: 'File' } },
        { name: 'sock', hostPath: { path: f.socket as string, type: 'Socket' } },
        { name: 'chr', hostPath: { path: '/dev/null', type: 'CharDevice' } },
        { name: 'blk', hostPath: { path: '/dev/loop0', type: 'BlockDevice' } },
      ];
      const mounts = volumes.map((v) => ({ name: v.name, mountPath: `/v/${v.name}`, readOnly: v.name !== 'doc' }));
      const r = await runToEnd(
        root,
        pod('types', [sh('c', 'for v in any doc dir foc file sock chr blk; do echo "$v $(stat -c %F /v/$v)"; done; cat /v/any/hello; echo made > /v/doc/x', { volumeMounts: mounts })], volumes),
      );
      expect(r.lines('c')).toEqual([
        'any directory',
        'doc directory',
        'dir directory',
        'foc regular empty file',
        'file regular file',
        'sock socket',
        'chr character special file',
        'blk block special file',
        'hi',
      ]);
      expect(statSync(join(scratch, 'made/deep')).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(scratch, 'made/deep/x'), 'utf8')).toBe('made\n');
      expect(statSync(join(scratch, 'made-file')).isFile()).toBe(true);
    });

    it('refuses a type mismatch before anything starts, naming the field, the path and what it is', async () => {
      const f = await fixtures();
      const cases: Array<[NonNullable<Volume['hostPath']>, string]> = [
        [{ path: f.file as string, type: 'Directory' }, `${f.file} is a file, not a directory, as type Directory requires`],
        [{ path: f.dir as string, type: 'File' }, `${f.dir} is a directory, not a file, as type File requires`],
        [{ path: f.file as string, type: 'Socket' }, `${f.file} is a file, not a UNIX socket, as type Socket requires`],
        [{ path: f.socket as string, type: 'CharDevice' }, `${f.socket} is a UNIX socket, not a character device, as type CharDevice requires`],
        [{ path: '/dev/null', type: 'BlockDevice' }, '/dev/null is a character device, not a block device, as type BlockDevice requires'],
        [{ path: f.file as string, type: 'DirectoryOrCreate' }, `${f.file} is a file, not a directory, as type DirectoryOrCreate requires`],
        [{ path: f.dir as string, type: 'FileOrCreate' }, `${f.dir} is a directory, not a file, as type FileOrCreate requires`],
        [{ path: join(scratch, 'missing'), type: 'Directory' }, `${join(scratch, 'missing')} does not exist on the host; create it, or set spec.volumes[0].hostPath.type to DirectoryOrCreate or FileOrCreate`],
        [{ path: join(scratch, 'no/parent'), type: 'FileOrCreate' }, `${join(scratch, 'no')} does not exist; FileOrCreate does not create parent directories`],
      ];
      const before = readdirSync(scratch).sort();
      for (const [hostPath, message] of cases) {
        const p = pod('mismatch', [sh('c', 'echo ran; sleep 30', { volumeMounts: [{ name: 'v', mountPath: '/v' }] })], [{ name: 'v', hostPath }]);
        const err = await start(root, p).then(
          () => null,
          (e: Error) => e,
        );
        expect(err?.name).toBe('VolumeError');
        expect(err?.message).toBe(`spec.volumes[0].hostPath.path: ${message}`);
        // Nothing ran, nothing was made on the host, nothing of the pod is left.
        expect(root.runtimes).toEqual([]);
        expect(readdirSync(scratch).sort()).toEqual(before);
        expect(existsSync(join(root.dir, 'pods', 'mismatch'))).toBe(false);
      }
    });
  });

  describe('subPath', () => {
    function volumeTree(): string {
      const dir = join(scratch, 'vol');
      mkdirSync(join(dir, 'sub/dir'), { recursive: true, mode: 0o755 });
      writeFileSync(join(dir, 'sub/dir/file.txt'), 'in the volume\n');
      symlinkSync('sub/dir', join(dir, 'inner-link'));
      return dir;
    }

    it('mounts a directory, a file, a missing directory (made in the volume) and a subPathExpr', async () => {
      const vol = volumeTree();
      const r = await runToEnd(
        root,
        pod(
          'subpath',
          [
            sh('c', 'cat /d/file.txt /f.txt; ls /linked; touch /new/made-here; echo ok', {
              env: [{ name: 'WHERE', value: 'sub' }],
              volumeMounts: [
                { name: 'v', mountPath: '/d', subPathExpr: '$(WHERE)/dir' },
                { name: 'v', mountPath: '/f.txt', subPath: 'sub/dir/file.txt', readOnly: true },
                { name: 'v', mountPath: '/linked', subPath: 'inner-link' },
                { name: 'v', mountPath: '/new', subPath: 'fresh/deeper' },
              ],
            }),
          ],
          [{ name: 'v', hostPath: { path: vol, type: 'Directory' } }],
        ),
      );
      expect(r.lines('c')).toEqual(['in the volume', 'in the volume', 'file.txt', 'ok']);
      expect(existsSync(join(vol, 'fresh/deeper/made-here'))).toBe(true);
      expect(statSync(join(vol, 'fresh/deeper')).mode & 0o777).toBe(0o755);
    });

    it('refuses a subPath through a symlink to / or /etc planted by a previous container (CVE-2017-1002101): the pod fails, the host is never mounted', async () => {
      const vol = join(scratch, 'shared');
      mkdirSync(vol);
      const volumes: Volume[] = [{ name: 'v', hostPath: { path: vol, type: 'Directory' } }];
      // The earlier run of a container, root in its pod, plants the links.
      const planter = await runToEnd(
        root,
        pod('planter', [sh('c', 'ln -s / /v/escape; ln -s /etc /v/etc-link; ln -s ../../../../../../../.. /v/up; mkdir /v/d; ln -s /etc/passwd /v/d/pw; ln -s nowhere /v/dangling; echo planted', { volumeMounts: [{ name: 'v', mountPath: '/v' }] })], volumes),
      );
      expect(planter.lines('c')).toEqual(['planted']);
      const passwd = readFileSync('/etc/passwd', 'utf8');
      for (const subPath of ['escape', 'etc-link', 'etc-link/passwd', 'up/etc', 'd/pw', 'escape/tmp']) {
        const p = pod('victim', [sh('c', 'echo mounted; cat /x; echo pwned >> /x; sleep 30', { volumeMounts: [{ name: 'v', mountPath: '/x', subPath }] })], volumes);
        const err = await start(root, p).then(
          () => null,
          (e: Error & { code?: string }) => e,
        );
        expect(err?.message, subPath).toBe(
          `c: open beneath ${vol}: ${subPath}: EXDEV (Invalid cross-device link): subPath "${subPath}" of volume "v" leads out of the volume (through a symlink or ".."); refused`,
        );
        expect(err?.code).toBe('EXDEV');
      }
      // A missing subPath is made component by component, refusing every
      // symlink on the way, even one that points inside: ELOOP.
      const dangling = pod('victim', [sh('c', 'true', { volumeMounts: [{ name: 'v', mountPath: '/x', subPath: 'dangling/made' }] })], volumes);
      await expect(start(root, dangling)).rejects.toThrow(
        `c: open beneath ${vol}: dangling/made: ELOOP (Too many levels of symbolic links): subPath "dangling/made" of volume "v" leads out of the volume (through a symlink or ".."); refused`,
      );
      expect(existsSync(join(vol, 'nowhere'))).toBe(false);
      expect(readFileSync('/etc/passwd', 'utf8')).toBe(passwd);
    });

    it('refuses an absolute subPath or one with "..", whatever the spec reader let through', async () => {
      const vol = volumeTree();
      for (const [subPath, why] of [
        ['/etc', 'must be a relative path, got "/etc"'],
        ['sub/../../x', `must not contain '..', got "sub/../../x"`],
      ]) {
        const p = pod('dots', [sh('c', 'true', { volumeMounts: [{ name: 'v', mountPath: '/x', subPath }] })], [{ name: 'v', hostPath: { path: vol, type: 'Directory' } }]);
        await expect(start(root, p)).rejects.toThrow(`container "c": volumeMounts[0] (v).subPath: ${why}`);
      }
      const expr = pod('expr', [sh('c', 'true', { env: [{ name: 'UP', value: '..' }], volumeMounts: [{ name: 'v', mountPath: '/x', subPathExpr: '$(UP)/etc' }] })], [
        { name: 'v', hostPath: { path: vol, type: 'Directory' } },
      ]);
      await expect(start(root, expr)).rejects.toThrow(`container "c": volumeMounts[0] (v).subPathExpr ("$(UP)/etc" expanded to "../etc"): must not contain '..', got "../etc"`);
    });
  });

  describe('mountPropagation', () => {
    /** A shared mount on the host, as Kubernetes requires for propagation. */
    function sharedDir(): string {
      const dir = join(scratch, 'prop');
      mkdirSync(dir);
      execFileSync('mount', ['--bind', dir, dir]);
      execFileSync('mount', ['--make-shared', dir]);
      return dir;
    }
    function unmountAll(dir: string): void {
      // Deepest first; a lazy unmount of a parent takes its children along.
      for (const p of mountsUnder(dir).sort((a, b) => b.length - a.length)) execFileSync('umount', ['-l', p]);
    }

    it('None sees nothing the host mounts later; HostToContainer (rslave) does, and mounts nothing back', async () => {
      const dir = sharedDir();
      try {
        const volumes: Volume[] = [{ name: 'h', hostPath: { path: dir, type: 'Directory' } }];
        const s = await start(
          root,
          pod(
            'prop',
            [
              sh('none', 'sleep 30', { volumeMounts: [{ name: 'h', mountPath: '/h', mountPropagation: 'None' }] }),
              sh('slave', 'sleep 30', { volumeMounts: [{ name: 'h', mountPath: '/h', mountPropagation: 'HostToContainer' }] }),
            ],
            volumes,
          ),
        );
        mkdirSync(join(dir, 'later'));
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'late', join(dir, 'later')]);
        const slave = containerPid(s, 'slave');
        await waitFor('the host mount to reach the HostToContainer volume', () => mountsOf(slave).get('/h/later')?.fstype === 'tmpfs');
        expect(mountsOf(containerPid(s, 'none')).has('/h/later')).toBe(false);
        // rslave: the container's own mount table has the volume as a slave of the host's group.
        expect(readFileSync(`/proc/${slave}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/h')).toMatch(/ master:\d+ /);
        execFileSync('umount', [join(dir, 'later')]);
        await waitFor('the host unmount to reach it too', () => !mountsOf(slave).has('/h/later'));
        await s.runtime.stop({ force: true });
      } finally {
        unmountAll(dir);
      }
    });

    it('Bidirectional (rshared) in a privileged container: what it mounts appears on the host; refused when not privileged', async () => {
      const dir = sharedDir();
      try {
        const volumes: Volume[] = [{ name: 'h', hostPath: { path: dir, type: 'Directory' } }];
        const s = await start(
          root,
          pod(
            'bidi',
            [
              sh('priv', 'mkdir -p /h/inner && mount -t tmpfs -o size=64k from-pod /h/inner && echo mounted; sleep 30', {
                securityContext: { privileged: true },
                volumeMounts: [{ name: 'h', mountPath: '/h', mountPropagation: 'Bidirectional' }],
              }),
            ],
            volumes,
          ),
        );
        await waitFor('the mount in the pod', () => (s.logs.get('priv') ?? []).includes('mounted'));
        await waitFor('it to appear on the host', () => mountsUnder(dir).includes(join(dir, 'inner')));
        await s.runtime.stop({ force: true });
        const refused = pod('bidi-plain', [sh('c', 'true', { volumeMounts: [{ name: 'h', mountPath: '/h', mountPropagation: 'Bidirectional' }] })], volumes);
        await expect(start(root, refused)).rejects.toThrow(
          'container "c": volumeMounts[0] (h).mountPropagation: Bidirectional propagation needs a privileged container (securityContext.privileged: true); use HostToContainer or None',
        );
      } finally {
        unmountAll(dir);
      }
    });
  });
});
