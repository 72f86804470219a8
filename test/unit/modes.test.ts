// Modes are set, not left to the umask; roots are closed; the user's own
// directories are not chmodded; the layout's roots come from the right places.
import { chmodSync, chownSync, closeSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LayoutError, makeDir, makeOwnDir, openWithMode, withUmaskFor, writeFileWithMode } from '../../src/runtime/modes.js';
import { controlSocketPath, serveControl } from '../../src/node/control.js';
import { markTopDir } from '../../src/native/addon.js';
import { podPaths, prepareRoots, runtimePaths } from '../../src/runtime/paths.js';

const isRoot = process.getuid?.() === 0;
const mode = (p: string): number => lstatSync(p).mode & 0o7777;

describe('modes, whatever the umask', () => {
  let dir: string;
  const saved = process.umask();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-modes-'));
    process.umask(0);
  });
  afterEach(() => {
    process.umask(saved);
    rmSync(dir, { recursive: true, force: true });
  });

  it('makeDir gives every directory it makes exactly the mode, and leaves existing ones alone', () => {
    expect(makeDir(join(dir, 'a', 'b', 'c'), 0o750)).toBe(join(dir, 'a'));
    for (const p of ['a', 'a/b', 'a/b/c']) expect(mode(join(dir, p)), p).toBe(0o750);
    chmodSync(join(dir, 'a'), 0o755);
    expect(makeDir(join(dir, 'a'), 0o700)).toBeUndefined();
    expect(mode(join(dir, 'a'))).toBe(0o755);
  });

  it('files are created, or rewritten, with exactly their mode', () => {
    writeFileSync(join(dir, 'loose'), 'x', { mode: 0o666 });
    writeFileWithMode(join(dir, 'loose'), 'record', 0o600);
    expect(mode(join(dir, 'loose'))).toBe(0o600);
    process.umask(0o077);
    writeFileWithMode(join(dir, 'shared'), 'message', 0o666);
    expect(mode(join(dir, 'shared'))).toBe(0o666);
    closeSync(openWithMode(join(dir, 'log'), 'a', 0o640));
    expect(mode(join(dir, 'log'))).toBe(0o640);
  });

  it('a unix socket made under withUmaskFor has the mode; the umask is put back', async () => {
    const server = createServer();
    const path = join(dir, 's.sock');
    withUmaskFor(0o600, () => server.listen(path));
    expect(process.umask()).toBe(0);
    expect(mode(path)).toBe(0o600);
    await new Promise((r) => server.close(r));
  });

  it('makeOwnDir tightens a directory peapod owns that was left looser, never loosens one', () => {
    mkdirSync(join(dir, 'loose'), { mode: 0o755 });
    makeOwnDir(join(dir, 'loose'), 0o700);
    expect(mode(join(dir, 'loose'))).toBe(0o700);
    mkdirSync(join(dir, 'tight'), { mode: 0o500 });
    makeOwnDir(join(dir, 'tight'), 0o700);
    expect(mode(join(dir, 'tight'))).toBe(0o500);
    writeFileSync(join(dir, 'file'), '');
    expect(() => makeOwnDir(join(dir, 'file'), 0o700)).toThrow(/is not a directory/);
  });

  it.skipIf(!isRoot)('makeOwnDir refuses a directory another user made, and a link of theirs', () => {
    mkdirSync(join(dir, 'squatted'));
    chownSync(join(dir, 'squatted'), 65534, 65534);
    expect(() => makeOwnDir(join(dir, 'squatted'), 0o700)).toThrow(LayoutError);
    expect(() => makeOwnDir(join(dir, 'squatted'), 0o700)).toThrow(/belongs to uid 65534/);
    mkdirSync(join(dir, 'mine'));
    // A link another user planted, to a directory of root's.
    const link = join(dir, 'link');
    symlinkSync(join(dir, 'mine'), link);
    lchownSync(link, 65534, 65534);
    expect(() => makeOwnDir(link, 0o700)).toThrow(/the symbolic link to it belongs to uid 65534/);
  });
});

describe('the layout', () => {
  it('one root with --root or PEAPOD_ROOT; else state and data apart, each from its variable or the default', () => {
    expect(runtimePaths({ root: '/r' }, { PEAPOD_STATE_ROOT: '/s' })).toEqual({ state: '/r', data: '/r', images: '/r/images', given: ['/r'] });
    expect(runtimePaths({}, { PEAPOD_ROOT: '/r', PEAPOD_IMAGES: '/i' })).toEqual({ state: '/r', data: '/r', images: '/i', given: ['/r', '/i'] });
    expect(runtimePaths({}, {})).toEqual({ state: '/run/peapod', data: '/var/lib/peapod', images: '/var/lib/peapod/images', given: [] });
    expect(runtimePaths({}, { PEAPOD_STATE_ROOT: '/s', PEAPOD_DATA_ROOT: '/d' })).toEqual({ state: '/s', data: '/d', images: '/d/images', given: ['/s', '/d'] });
  });

  it('prepareRoots closes what peapod owns and makes the roots 0700, but never chmods a root the user named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peapod-roots-'));
    const saved = process.umask(0);
    try {
      // The user's root exists, open; the image store under it was left open by an older peapod.
      const given = join(dir, 'given');
      mkdirSync(join(given, 'images'), { recursive: true, mode: 0o755 });
      chmodSync(given, 0o755);
      chmodSync(join(given, 'images'), 0o755);
      prepareRoots(runtimePaths({ root: given }, {}));
      expect(mode(given)).toBe(0o755);
      expect(mode(join(given, 'pods'))).toBe(0o700);
      expect(mode(join(given, 'images'))).toBe(0o700);
      // Roots peapod makes itself (here: named, but missing) are 0700, parents included.
      const paths = runtimePaths({}, { PEAPOD_STATE_ROOT: join(dir, 'run', 'peapod'), PEAPOD_DATA_ROOT: join(dir, 'lib', 'peapod') });
      prepareRoots(paths);
      for (const p of [paths.state, paths.data, join(paths.state, 'pods'), join(paths.data, 'pods'), paths.images, join(dir, 'run')]) expect(mode(p), p).toBe(0o700);
      // The defaults' own roots (not named) are tightened.
      chmodSync(paths.state, 0o755);
      prepareRoots({ state: paths.state, data: paths.data, images: paths.images });
      expect(mode(paths.state)).toBe(0o700);
    } finally {
      process.umask(saved);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the control socket', () => {
  let dir: string;
  const saved = { tmp: process.env.TMPDIR, umask: process.umask() };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-sock-'));
    // The fallback for long roots lives in the temporary directory: this test's own.
    process.env.TMPDIR = dir;
    process.umask(0);
  });
  afterEach(() => {
    process.umask(saved.umask);
    if (saved.tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved.tmp;
    rmSync(dir, { recursive: true, force: true });
  });
  const target = { stop: () => Promise.resolve({ exitCode: 0, status: { phase: 'Succeeded' } }) };
  const longRoot = (): string => join(dir, 'r'.repeat(120));

  it('past 108 bytes it moves to a directory of root\'s alone in the temporary directory; the socket is 0600 under umask 0', async () => {
    const root = longRoot();
    const path = controlSocketPath(podPaths(runtimePaths({ root }, {}), 'p'), root);
    expect(path.startsWith(join(dir, `peapod-${process.getuid?.() ?? 0}`))).toBe(true);
    const server = serveControl(path, target);
    await new Promise((r) => server.once('listening', r));
    expect(mode(dirname(path))).toBe(0o700);
    expect(mode(path)).toBe(0o600);
    await new Promise((r) => server.close(r));
  });

  it.skipIf(!isRoot)('refuses a directory another user made there, and says so', () => {
    const root = longRoot();
    const path = controlSocketPath(podPaths(runtimePaths({ root }, {}), 'p'), root);
    mkdirSync(dirname(path), { mode: 0o777 });
    chownSync(dirname(path), 65534, 65534);
    const write = process.stderr.write;
    let said = '';
    process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
    try {
      serveControl(path, target).close();
    } finally {
      process.stderr.write = write;
    }
    expect(said).toMatch(/belongs to uid 65534/);
    expect(existsSync(path)).toBe(false);
  });

  const lsattr = spawnSync('lsattr', ['-v'], { encoding: 'utf8' }).error === undefined;

  it.skipIf(!lsattr)('prepareRoots marks each pods/ as the top of unrelated trees (+T) where the filesystem keeps the flag', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peapod-roots-'));
    // What the kernel says of the flags (lsattr's FS_IOC_GETFLAGS), not what peapod returned.
    const hasT = (p: string): boolean => {
      const r = spawnSync('lsattr', ['-d', p], { encoding: 'utf8' });
      return r.status === 0 && r.stdout.split(/\s+/)[0]!.includes('T');
    };
    try {
      const paths = runtimePaths({ root: join(dir, 'root') }, {});
      prepareRoots(paths);
      const pods = join(paths.data, 'pods');
      // ext4 (which stat -f calls ext2/ext3) keeps it; tmpfs and xfs do not, and that is no error.
      const ext4 = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim() === 'ext2/ext3';
      if (ext4) expect(hasT(pods)).toBe(true);
      expect(markTopDir(pods)).toBe(hasT(pods));
      expect(hasT(paths.data)).toBe(false);
      prepareRoots(paths);
      if (existsSync('/dev/shm')) {
        const shm = mkdtempSync('/dev/shm/peapod-roots-');
        try {
          expect(markTopDir(shm)).toBe(hasT(shm));
        } finally {
          rmSync(shm, { recursive: true, force: true });
        }
      }
      expect(() => markTopDir(join(dir, 'missing'))).toThrow(/open .*missing: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!isRoot)('markTopDir on a read-only mount says false rather than failing the start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peapod-roots-'));
    const ro = join(dir, 'ro');
    mkdirSync(join(ro, 'pods'), { recursive: true });
    const run = (...args: string[]): void => {
      const r = spawnSync('mount', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
    };
    try {
      run('--bind', ro, ro);
      run('-o', 'remount,bind,ro', ro);
      expect(markTopDir(join(ro, 'pods'))).toBe(false);
    } finally {
      spawnSync('umount', [ro]);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(ro);
  });

  it('a pods/ that is a link to a directory of ours is marked through the link, as makeOwnDir takes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peapod-roots-'));
    try {
      mkdirSync(join(dir, 'root'));
      mkdirSync(join(dir, 'elsewhere'), { mode: 0o700 });
      symlinkSync(join(dir, 'elsewhere'), join(dir, 'root', 'pods'));
      const paths = runtimePaths({ root: join(dir, 'root') }, {});
      expect(() => prepareRoots(paths)).not.toThrow();
      if (lsattr) expect(markTopDir(join(dir, 'root', 'pods'))).toBe(spawnSync('lsattr', ['-d', join(dir, 'elsewhere')], { encoding: 'utf8' }).stdout.split(/\s+/)[0]!.includes('T'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
