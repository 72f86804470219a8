import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discard, discarded, RECLAIM_PREFIX } from '../../src/runtime/discard.js';

describe('discard: a directory renamed away at once, removed in the background', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-discard-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('frees the name before it returns, and leaves nothing once discarded() resolves', async () => {
    const pod = join(dir, 'pod');
    mkdirSync(join(pod, 'a', 'b'), { recursive: true });
    writeFileSync(join(pod, 'a', 'b', 'f'), 'x');
    const gone = discard(pod);
    expect(existsSync(pod)).toBe(false);
    // Until it is removed, it waits in a holder that names this process (the reclaim's key).
    expect(readdirSync(dir).every((n) => n.startsWith(`${RECLAIM_PREFIX}${process.pid}-`))).toBe(true);
    mkdirSync(pod);
    await gone;
    await discarded();
    expect(readdirSync(dir)).toEqual(['pod']);
  });

  it('puts the holder where it is told, and does nothing for a missing directory', async () => {
    const into = join(dir, 'trash');
    mkdirSync(into);
    mkdirSync(join(dir, 'x'));
    void discard(join(dir, 'x'), into);
    void discard(join(dir, 'missing'), into);
    expect(readdirSync(dir).sort()).toEqual(['trash']);
    await discarded();
    expect(readdirSync(into)).toEqual([]);
  });

  it('removes at once what cannot be renamed (no holder can be made there)', async () => {
    mkdirSync(join(dir, 'y', 'z'), { recursive: true });
    await discard(join(dir, 'y'), join(dir, 'no-such-dir'));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('puts everything discarded meanwhile into one holder, which goes with its last entry', async () => {
    const into = join(dir, 'trash');
    mkdirSync(into);
    for (const n of ['a', 'b', 'c']) mkdirSync(join(dir, n, 'deep'), { recursive: true });
    const gone = ['a', 'b', 'c'].map((n) => discard(join(dir, n), into));
    const holders = readdirSync(into);
    expect(holders).toHaveLength(1);
    expect(readdirSync(join(into, holders[0]!)).sort()).toEqual(['0', '1', '2']);
    await Promise.all(gone);
    await discarded();
    expect(readdirSync(into)).toEqual([]);
    // The next discard makes a holder of its own again.
    mkdirSync(join(dir, 'd'));
    void discard(join(dir, 'd'), into);
    expect(readdirSync(into)).toHaveLength(1);
    expect(readdirSync(into)[0]).not.toBe(holders[0]);
    await discarded();
    expect(readdirSync(into)).toEqual([]);
  });

  it.skipIf(!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(tmpdir()).dev)(
    'leaves no holder behind when the rename fails (another filesystem: EXDEV)',
    async () => {
      const into = join(dir, 'trash');
      mkdirSync(into);
      const other = mkdtempSync('/dev/shm/peapod-discard-');
      try {
        mkdirSync(join(other, 'x', 'y'), { recursive: true });
        await discard(join(other, 'x'), into);
        expect(readdirSync(other)).toEqual([]);
        expect(readdirSync(into)).toEqual([]);
        // A holder that still has an entry stays when another rename into it fails.
        mkdirSync(join(dir, 'kept', 'deep'), { recursive: true });
        mkdirSync(join(other, 'z'));
        void discard(join(dir, 'kept'), into);
        const [holder] = readdirSync(into);
        await discard(join(other, 'z'), into);
        expect(readdirSync(into)).toEqual([holder]);
        expect(readdirSync(join(into, holder!))).toEqual(['0']);
        await discarded();
        expect(readdirSync(into)).toEqual([]);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    },
  );
});
