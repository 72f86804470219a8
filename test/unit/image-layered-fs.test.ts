// The image's root as the plan reads it, straight from the layer
// directories with overlayfs' rules; paths outside the image (volumes on
// the host) are the host's.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { layeredFs } from '../../src/image/layered-fs.js';

const dir = mkdtempSync(join(tmpdir(), 'peapod-layered-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('layeredFs', () => {
  const top = join(dir, 'top');
  const bottom = join(dir, 'bottom');
  const host = join(dir, 'host');
  for (const d of [top, bottom, host]) mkdirSync(d);
  mkdirSync(join(bottom, 'etc'));
  writeFileSync(join(bottom, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  writeFileSync(join(bottom, 'etc/gone'), 'x');
  mkdirSync(join(bottom, 'data'));
  writeFileSync(join(bottom, 'data/old'), 'old');
  mkdirSync(join(top, 'data'));
  writeFileSync(join(top, 'data/new'), 'new');
  mkdirSync(join(bottom, 'lib/x'), { recursive: true });
  writeFileSync(join(bottom, 'lib/x/y'), 'y');
  writeFileSync(join(top, 'lib'), 'a file over a directory');
  symlinkSync('/etc/passwd', join(top, 'pw'));
  writeFileSync(join(host, 'volume-file'), 'v');
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    mkdirSync(join(top, 'etc'));
    execFileSync('mknod', [join(top, 'etc/gone'), 'c', '0', '0']);
  }
  const fs = layeredFs(top, [
    { dir: top, opaque: new Set(['data']) },
    { dir: bottom, opaque: new Set() },
  ]);
  const at = (p: string): string => join(top, p);

  it('finds a name in the top-most layer that has it, following links inside the image', () => {
    expect(fs.readFile?.(at('etc/passwd'))).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(fs.readlink(at('pw'))).toBe('/etc/passwd');
    expect(fs.isFile(at('pw'))).toBe(true);
    expect(fs.readFile?.(at('pw'))).toBe('root:x:0:0::/root:/bin/sh\n');
  });

  it('an opaque directory hides what the layers below have in it; a file hides the directory below', () => {
    expect(fs.exists(at('data/new'))).toBe(true);
    expect(fs.exists(at('data/old'))).toBe(false);
    expect(fs.exists(at('lib/x/y'))).toBe(false);
    expect(fs.isFile(at('lib'))).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)('a whiteout hides the name below', () => {
    expect(fs.exists(at('etc/gone'))).toBe(false);
    expect(fs.exists(at('etc/passwd'))).toBe(true);
  });

  it('finds a name that begins with two dots (..data): inside the image, not a way out of it', () => {
    // In the layer below the top one: only the layers' rules find it (the top layer's own path has nothing).
    const root = join(dir, 'dots-top');
    const below = join(dir, 'dots-below');
    mkdirSync(root);
    mkdirSync(join(below, '..data'), { recursive: true });
    writeFileSync(join(below, '..data/token'), 't');
    writeFileSync(join(below, '...'), 'three dots');
    const layers = [
      { dir: root, opaque: new Set<string>() },
      { dir: below, opaque: new Set<string>() },
    ];
    for (const view of [layeredFs(root, layers), layeredFs(root, layers, true)]) {
      expect(view.exists(join(root, '..data'))).toBe(true);
      expect(view.readFile?.(join(root, '..data/token'))).toBe('t');
      expect(view.isFile(join(root, '...'))).toBe(true);
    }
  });

  it("answers for the host's paths outside the image (volumes)", () => {
    expect(fs.isFile(join(host, 'volume-file'))).toBe(true);
    expect(fs.exists(join(host, 'nothing'))).toBe(false);
  });
});

describe('layeredFs with memo (a store\'s committed layers)', () => {
  it('looks each path up once: a memoized view keeps its first answer, an unmemoized one looks again', () => {
    const layer = join(dir, 'memo');
    mkdirSync(join(layer, 'bin'), { recursive: true });
    writeFileSync(join(layer, 'bin/sh'), '');
    const memo = layeredFs(layer, [{ dir: layer, opaque: new Set() }], true);
    const plain = layeredFs(layer, [{ dir: layer, opaque: new Set() }]);
    expect(memo.isFile(join(layer, 'bin/sh'))).toBe(true);
    expect(memo.exists(join(layer, 'bin/env'))).toBe(false);
    rmSync(join(layer, 'bin/sh'));
    writeFileSync(join(layer, 'bin/env'), '');
    expect(memo.isFile(join(layer, 'bin/sh'))).toBe(true);
    expect(memo.exists(join(layer, 'bin/env'))).toBe(false);
    expect(plain.isFile(join(layer, 'bin/sh'))).toBe(false);
    expect(plain.exists(join(layer, 'bin/env'))).toBe(true);
  });

  it('keeps its answers to readlink and readFile too (every pod of the image asks them), never for the host\'s paths', () => {
    const layer = join(dir, 'memo-answers');
    const host = join(dir, 'memo-host');
    mkdirSync(join(layer, 'etc'), { recursive: true });
    mkdirSync(host);
    writeFileSync(join(layer, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
    symlinkSync('busybox', join(layer, 'etc/sleep'));
    const memo = layeredFs(layer, [{ dir: layer, opaque: new Set() }], true);
    expect(memo.readFile?.(join(layer, 'etc/passwd'))).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(memo.readlink(join(layer, 'etc/sleep'))).toBe('busybox');
    expect(memo.isFile(join(host, 'tool'))).toBe(false);
    writeFileSync(join(layer, 'etc/passwd'), 'changed\n');
    rmSync(join(layer, 'etc/sleep'));
    symlinkSync('toybox', join(layer, 'etc/sleep'));
    writeFileSync(join(host, 'tool'), '');
    expect(memo.readFile?.(join(layer, 'etc/passwd'))).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(memo.readlink(join(layer, 'etc/sleep'))).toBe('busybox');
    // A volume's files are the host's, which change: looked up every time.
    expect(memo.isFile(join(host, 'tool'))).toBe(true);
  });
});
