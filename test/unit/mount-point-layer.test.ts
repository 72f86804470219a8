// The shared layer of /etc mount points: used only where it cannot change
// what the container sees of its image (a real /etc, names missing
// altogether), made with the image's /etc attributes.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DirAttrs, FsView } from '../../src/plan/scoped-path.js';
import { ensureMountPointLayer, etcMountPoints, mountPointLayerDir } from '../../src/runtime/mount-point-layer.js';

const ETC: DirAttrs = { mode: 0o755, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtimeMs: 1_600_000_000_000 };

function fakeFs(etc: DirAttrs | null, present: string[] = [], links: Record<string, string> = {}): FsView {
  return {
    readlink: (p) => links[p] ?? null,
    exists: (p) => present.includes(p) || p in links,
    isFile: (p) => present.includes(p),
    dirAttrs: (p) => (p === '/img/etc' ? etc : null),
  };
}

const ALL = etcMountPoints({ mounts: [{ containerPath: '/etc/hosts' }] });

describe('mountPointLayerDir', () => {
  it('names a layer for the files the plan mounts and the image lacks, keyed by /etc attributes', () => {
    expect(ALL).toEqual(['hostname', 'resolv.conf', 'hosts']);
    expect(etcMountPoints({ mounts: [] })).toEqual(['hostname', 'resolv.conf']);
    const dir = mountPointLayerDir('/run/p', '/img', fakeFs(ETC, ['/img/etc/hosts']), ALL);
    expect(dir).toBe(`/run/p/mount-points/755-${ETC.uid}-${ETC.gid}-1600000000000-hostname+resolv.conf`);
  });

  it('none where the image has them all, where /etc is not a directory, or where a link stands in the name', () => {
    expect(mountPointLayerDir('/run/p', '/img', fakeFs(ETC, ['/img/etc/hostname', '/img/etc/resolv.conf']), ['hostname', 'resolv.conf'])).toBeNull();
    expect(mountPointLayerDir('/run/p', '/img', fakeFs(null), ALL)).toBeNull();
    // A link is the plan's to follow (the mount lands where it points): not shadowed by an empty file.
    const dir = mountPointLayerDir('/run/p', '/img', fakeFs(ETC, [], { '/img/etc/resolv.conf': '../run/resolv.conf' }), ALL);
    expect(dir?.endsWith('-hostname+hosts')).toBe(true);
  });

  it('without a dirAttrs view (explain with no image), none', () => {
    const { dirAttrs: _, ...noAttrs } = fakeFs(ETC);
    expect(mountPointLayerDir('/run/p', '/img', noAttrs, ALL)).toBeNull();
  });
});

describe('ensureMountPointLayer', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'peapod-mpl-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("makes etc/ with the image's mode, owner and mtime and the empty files, once; nothing left aside", () => {
    const attrs = { ...ETC, mode: 0o751 };
    const dir = mountPointLayerDir(root, '/img', fakeFs(attrs), ALL) as string;
    ensureMountPointLayer(dir);
    ensureMountPointLayer(dir);
    const etc = statSync(join(dir, 'etc'));
    expect([etc.mode & 0o7777, etc.uid, etc.gid, etc.mtimeMs]).toEqual([0o751, attrs.uid, attrs.gid, attrs.mtimeMs]);
    expect(readdirSync(join(dir, 'etc')).sort()).toEqual(['hostname', 'hosts', 'resolv.conf']);
    for (const f of readdirSync(join(dir, 'etc'))) expect(statSync(join(dir, 'etc', f)).size).toBe(0);
    expect(readdirSync(join(root, 'mount-points'))).toEqual([dir.slice(join(root, 'mount-points').length + 1)]);
  });
});
