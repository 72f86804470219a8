// Layer tars applied to a directory as overlayfs will read it, with what
// they hold kept exactly, and hostile ones refused: whatever the tar says,
// nothing is written outside the layer's directory.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/image/digest.js';
import { applyLayer } from '../../src/image/extract.js';
import { StoreLayout } from '../../src/image/layout.js';
import { unpackLayer } from '../../src/image/unpack.js';
import { isRoot } from './helpers.js';
import { tarBuffer, type TarSpec } from './tar-builder.js';

const hasAttr = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v setfattr && command -v getfattr'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const xattr = (path: string, name: string): string => execFileSync('getfattr', ['-h', '-e', 'hex', '-n', name, '--only-values', path]).toString('hex');

describe.skipIf(!isRoot || !hasAttr)('layer tars (root: ownership, device nodes, trusted xattrs)', () => {
  let work: string;
  let layer: string;
  let outside: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'peapod-layer-'));
    layer = join(work, 'layer');
    outside = join(work, 'outside');
    mkdirSync(layer);
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim'), 'untouched\n');
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const apply = (entries: TarSpec[]): Promise<{ diffId: string; opaque: string[] }> => applyLayer(layer, Readable.from([tarBuffer(entries)]), 'layer test');

  it('keeps ownership, modes (setuid), hard links, symlinks, device nodes, FIFOs and binary xattrs; returns the diffID', async () => {
    const cap = Buffer.from('0100000200000080000000000000000000000000', 'hex'); // v2, effective, cap_setfcap (bit 31: a byte over 0x7f)
    const entries: TarSpec[] = [
      { path: './', type: '5', mode: 0o755 },
      { path: 'd/', type: '5', mode: 0o750, uid: 1000, gid: 1001 },
      { path: 'd/f', type: '0', mode: 0o4755, uid: 0, gid: 0, body: 'suid\n', xattrs: { 'security.capability': cap, 'user.bytes': Buffer.from([0, 0xff, 0x0a, 0x3d]) } },
      { path: 'd/h', type: '1', linkpath: 'd/f' },
      { path: 'abs-link', type: '2', linkpath: '/etc/passwd' },
      { path: 'dev/null2', type: '3', mode: 0o666, devmajor: 1, devminor: 3 },
      { path: 'pipe', type: '6', mode: 0o600, uid: 7, gid: 8 },
      { path: 'a/very/' + 'long/'.repeat(30) + 'name', type: '0', body: 'deep\n' },
    ];
    const bytes = tarBuffer(entries);
    const result = await applyLayer(layer, Readable.from([bytes]), 'layer test');
    expect(result.diffId).toBe(sha256(bytes));
    const d = statSync(join(layer, 'd'));
    expect([d.mode & 0o7777, d.uid, d.gid]).toEqual([0o750, 1000, 1001]);
    const f = statSync(join(layer, 'd/f'));
    expect(f.mode & 0o7777).toBe(0o4755);
    expect(f.nlink).toBe(2);
    expect(statSync(join(layer, 'd/h')).ino).toBe(f.ino);
    expect(readlinkSync(join(layer, 'abs-link'))).toBe('/etc/passwd');
    const dev = lstatSync(join(layer, 'dev/null2'));
    expect(dev.isCharacterDevice() && dev.rdev === 0x103).toBe(true);
    const fifo = lstatSync(join(layer, 'pipe'));
    expect([fifo.isFIFO(), fifo.uid, fifo.gid, fifo.mode & 0o777]).toEqual([true, 7, 8, 0o600]);
    expect(readFileSync(join(layer, 'a/very/' + 'long/'.repeat(30) + 'name'), 'utf8')).toBe('deep\n');
    expect(xattr(join(layer, 'd/f'), 'security.capability')).toBe(cap.toString('hex'));
    expect(xattr(join(layer, 'd/f'), 'user.bytes')).toBe('00ff0a3d');
  });

  it('turns OCI whiteouts into overlayfs whiteouts and opaque directories; refuses trusted.* xattrs from the tar', async () => {
    const r = await apply([
      { path: 'etc/.wh.motd', type: '0' },
      { path: 'data/.wh..wh..opq', type: '0' },
      { path: 'data/kept', type: '0', body: 'k' },
      { path: 'same/.wh.name', type: '0' },
      { path: 'same/name', type: '0', body: 'this layer has it' },
      { path: 'evil', type: '0', xattrs: { 'trusted.overlay.redirect': Buffer.from('/etc') } },
    ]);
    expect(r.opaque).toEqual(['data']);
    const wh = lstatSync(join(layer, 'etc/motd'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(existsSync(join(layer, 'etc/.wh.motd'))).toBe(false);
    expect(xattr(join(layer, 'data'), 'trusted.overlay.opaque')).toBe('79');
    expect(readFileSync(join(layer, 'same/name'), 'utf8')).toBe('this layer has it');
    expect(() => xattr(join(layer, 'evil'), 'trusted.overlay.redirect')).toThrow();
  });

  describe('hostile tars: nothing is written outside the layer', () => {
    const untouched = (): void => {
      expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('untouched\n');
      expect(execFileSync('ls', ['-A', outside]).toString()).toBe('victim\n');
    };

    it('../ that leaves the layer: refused', async () => {
      await expect(apply([{ path: '../outside/pwned', type: '0', body: 'x' }])).rejects.toThrow(/entry "..\/outside\/pwned" leads outside the layer/);
      await expect(apply([{ path: 'a/../../outside/pwned', type: '0', body: 'x' }])).rejects.toThrow(/leads outside the layer/);
      untouched();
    });

    it('an absolute path: taken inside the layer', async () => {
      const name = `peapod-abs-${process.pid}`;
      await apply([{ path: `/tmp/${name}`, type: '0', body: 'x' }]);
      expect(existsSync(`/tmp/${name}`)).toBe(false);
      expect(readFileSync(join(layer, 'tmp', name), 'utf8')).toBe('x');
    });

    it('a symlink, then a file beneath it: refused', async () => {
      await expect(apply([{ path: 'link', type: '2', linkpath: outside }, { path: 'link/pwned', type: '0', body: 'x' }])).rejects.toThrow(/entry "link\/pwned" is beneath the symlink "link"/);
      untouched();
    });

    it('a symlink, then a file of the same name: the link is replaced, its target untouched', async () => {
      await apply([{ path: 'x', type: '2', linkpath: join(outside, 'victim') }, { path: 'x', type: '0', body: 'replaced' }]);
      expect(lstatSync(join(layer, 'x')).isFile()).toBe(true);
      untouched();
    });

    it('a hard link to a file outside: refused, through ../, an absolute path or a symlinked directory', async () => {
      const before = statSync('/etc/passwd').nlink;
      await expect(apply([{ path: 'h', type: '1', linkpath: '../outside/victim' }])).rejects.toThrow(/leads outside the layer/);
      await expect(apply([{ path: 'h', type: '1', linkpath: '/etc/passwd' }])).rejects.toThrow(/hard link "h" names "\/etc\/passwd", which is not a file of this layer/);
      await expect(apply([{ path: 'l', type: '2', linkpath: outside }, { path: 'h', type: '1', linkpath: 'l/victim' }])).rejects.toThrow(/beneath the symlink "l"/);
      expect(statSync('/etc/passwd').nlink).toBe(before);
      expect(statSync(join(outside, 'victim')).nlink).toBe(1);
      untouched();
    });

    it('a device node, a whiteout or an opaque mark beneath a symlink: refused', async () => {
      await expect(apply([{ path: 'l', type: '2', linkpath: outside }, { path: 'l/dev', type: '3', devmajor: 1, devminor: 3 }])).rejects.toThrow(/beneath the symlink/);
      await expect(apply([{ path: 'l', type: '2', linkpath: outside }, { path: 'l/.wh.victim', type: '0' }])).rejects.toThrow(/beneath the symlink/);
      await expect(apply([{ path: 'l', type: '2', linkpath: outside }, { path: 'l/.wh..wh..opq', type: '0' }])).rejects.toThrow(/"l" is marked opaque but is not a directory/);
      expect(() => xattr(outside, 'trusted.overlay.opaque')).toThrow();
      untouched();
    });

    it('a truncated archive: refused, and unpackLayer leaves nothing in the store', async () => {
      const store = new StoreLayout(join(work, 'store'));
      store.init();
      const bytes = tarBuffer([{ path: 'big', type: '0', body: 'y'.repeat(10_000) }]);
      await expect(unpackLayer(store, { chainId: sha256(bytes), diffId: sha256(bytes) }, Readable.from([bytes.subarray(0, 3000)]), 'none', 'layer t')).rejects.toThrow(/ends in the middle of a file/);
      expect(store.layers()).toEqual([]);
      expect(execFileSync('ls', ['-A', join(work, 'store', 'tmp')]).toString()).toBe('');
    });
  });

  it('unpacks zstd and gzip layers, and refuses one whose diffID is not the config’s', async () => {
    const store = new StoreLayout(join(work, 'store'));
    store.init();
    const bytes = tarBuffer([{ path: 'z', type: '0', body: 'zstd\n' }]);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: bytes });
    const gz = execFileSync('gzip', ['-c'], { input: bytes });
    await unpackLayer(store, { chainId: sha256(bytes), diffId: sha256(bytes) }, Readable.from([zst]), 'zstd', 'zstd layer');
    expect(readFileSync(join(store.diffDir(sha256(bytes)), 'z'), 'utf8')).toBe('zstd\n');
    store.removeLayer(sha256(bytes));
    await unpackLayer(store, { chainId: sha256(bytes), diffId: sha256(bytes) }, Readable.from([gz]), 'gzip', 'gzip layer');
    expect(store.layers()).toEqual([sha256(bytes)]);
    const other = `sha256:${'0'.repeat(64)}`;
    await expect(unpackLayer(store, { chainId: other, diffId: other }, Readable.from([gz]), 'gzip', 'gzip layer')).rejects.toThrow(/diffID mismatch/);
    expect(store.layers()).toEqual([sha256(bytes)]);
  });
});
