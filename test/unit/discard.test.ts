import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
});
