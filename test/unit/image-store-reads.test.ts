// The store's refs and image records as lookups see them: kept between
// lookups while the file read is the same one, read again the moment it
// is replaced, removed or (against the store's own habits) edited in place.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { StoreLayout, type ImageRecord } from '../../src/image/layout.js';

const dir = mkdtempSync(join(tmpdir(), 'peapod-store-reads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

const ID1 = `sha256:${'1'.repeat(64)}`;
const ID2 = `sha256:${'2'.repeat(64)}`;
const record = (id: string, size: number): ImageRecord => ({ id, layers: [`sha256:${'a'.repeat(64)}`], size, storedAt: '2026-11-30T00:00:00.000Z' });

/** As if every file of the store had been written long ago: what is read may be kept. */
const later = (): void => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() + 60_000);
};

describe('StoreLayout reads', () => {
  it('a ref retagged, added or removed is seen at once, however recently it was read', () => {
    const layout = new StoreLayout(join(dir, 'retag'));
    layout.init();
    layout.setRef('docker.io/library/busybox:latest', ID1);
    expect(layout.ref('docker.io/library/busybox:latest')).toBe(ID1);
    expect([...layout.refs()]).toEqual([['docker.io/library/busybox:latest', ID1]]);
    layout.setRef('docker.io/library/busybox:latest', ID2);
    layout.setRef('docker.io/library/nginx:latest', ID1);
    expect(layout.ref('docker.io/library/busybox:latest')).toBe(ID2);
    expect(new Map(layout.refs())).toEqual(new Map([['docker.io/library/busybox:latest', ID2], ['docker.io/library/nginx:latest', ID1]]));
    layout.removeRef('docker.io/library/busybox:latest');
    expect(layout.ref('docker.io/library/busybox:latest')).toBeUndefined();
    expect([...layout.refs().keys()]).toEqual(['docker.io/library/nginx:latest']);
  });

  it('a file kept from an earlier read is read again when its change time says it changed, even in place', () => {
    const layout = new StoreLayout(join(dir, 'in-place'));
    layout.init();
    layout.setRef('docker.io/library/busybox:latest', ID1);
    later();
    expect(layout.ref('docker.io/library/busybox:latest')).toBe(ID1);
    expect(layout.refs().get('docker.io/library/busybox:latest')).toBe(ID1);
    // Same inode, same size: only the times tell.
    writeFileSync(join(layout.dir, 'refs', encodeURIComponent('docker.io/library/busybox:latest')), `${ID2}\n`);
    vi.setSystemTime(Date.now() + 60_000);
    expect(layout.ref('docker.io/library/busybox:latest')).toBe(ID2);
    expect(layout.refs().get('docker.io/library/busybox:latest')).toBe(ID2);
  });

  it('an image record is shared, frozen, and replaced when the record is saved again', () => {
    const layout = new StoreLayout(join(dir, 'records'));
    layout.init();
    layout.saveImage(record(ID1, 10));
    later();
    const first = layout.image(ID1);
    expect(first?.size).toBe(10);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first?.layers)).toBe(true);
    expect(layout.image(ID1)).toBe(first);
    layout.saveImage(record(ID1, 20));
    expect(layout.image(ID1)?.size).toBe(20);
    layout.removeImageRecord(ID1);
    expect(layout.image(ID1)).toBeUndefined();
  });
});
