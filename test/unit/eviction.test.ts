// The pieces of emptyDir eviction that need no pod: the kubelet's message,
// which volumes are watched, usage counted as du counts it, the watch.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalBytes, diskUsage, emptyDirEvictionMessage, evictionIntervalFromEnv, limitedEmptyDirs, watchEmptyDirs } from '../../src/kubelet/eviction.js';

describe('emptyDir eviction: the words and the volumes', () => {
  it('writes the limit as Kubernetes stores it, in the kubelet\'s message', () => {
    expect(emptyDirEvictionMessage('data', canonicalBytes('8Mi'))).toBe('Usage of EmptyDir volume "data" exceeds the limit "8Mi".');
    expect(['8Mi', '1.5Gi', '1024Ki', '10M', '1500k', '8388608', '1e6', '100'].map(canonicalBytes)).toEqual(['8Mi', '1536Mi', '1Mi', '10M', '1500k', '8388608', '1e6', '100']);
  });

  it('watches emptyDirs on disk with a limit above 0; Memory ones are tmpfs of their size already', () => {
    const watched = limitedEmptyDirs(
      [
        { name: 'a', emptyDir: { sizeLimit: '8Mi' } },
        { name: 'm', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
        { name: 'none', emptyDir: {} },
        { name: 'zero', emptyDir: { sizeLimit: '0' } },
        { name: 'h', hostPath: { path: '/tmp' } },
      ],
      (v) => `/pods/p/volumes/${v}`,
    );
    expect(watched).toEqual([{ name: 'a', path: '/pods/p/volumes/a', limitBytes: 8 * 2 ** 20, limit: '8Mi' }]);
  });

  it('reads its interval from PEAPOD_EVICTION_INTERVAL (seconds), 10 by default, and says what is wrong', () => {
    expect(evictionIntervalFromEnv({})).toBe(10);
    expect(evictionIntervalFromEnv({ PEAPOD_EVICTION_INTERVAL: '0.5' })).toBe(0.5);
    expect(() => evictionIntervalFromEnv({ PEAPOD_EVICTION_INTERVAL: '0' })).toThrow(/^PEAPOD_EVICTION_INTERVAL=0: expected a number of seconds above 0/);
    expect(() => evictionIntervalFromEnv({ PEAPOD_EVICTION_INTERVAL: 'soon' })).toThrow(/PEAPOD_EVICTION_INTERVAL=soon/);
  });
});

describe('emptyDir usage', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-usage-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('counts allocated blocks as du does: hard links once, a sparse file for what it holds, no symlink followed', async () => {
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'one'), Buffer.alloc(1 << 20, 1));
    linkSync(join(dir, 'a', 'one'), join(dir, 'a', 'b', 'same'));
    writeFileSync(join(dir, 'a', 'b', 'small'), 'x');
    truncateSync(join(dir, 'a', 'b', 'small'), 100 << 20);
    symlinkSync('/usr', join(dir, 'usr'));
    for (let i = 0; i < 200; i++) writeFileSync(join(dir, `f${i}`), 'y'.repeat(i * 50));
    const du = Number(execFileSync('du', ['-s', '-x', '-B1', dir]).toString().split('\t')[0]);
    expect(await diskUsage(dir)).toBe(du);
    expect(du).toBeGreaterThan(1 << 20);
    expect(du).toBeLessThan(4 << 20);
  });

  it('stops counting once past the limit', async () => {
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, `f${i}`), Buffer.alloc(1 << 20, 1));
    const partial = await diskUsage(dir, 1);
    expect(partial).toBeGreaterThan(1);
    expect(partial).toBeLessThan(await diskUsage(dir));
  });

  it('the watch evicts once, with the message, when a volume passes its limit; stop ends it', async () => {
    const messages: string[] = [];
    const watch = watchEmptyDirs([{ name: 'v', path: dir, limitBytes: 64 << 10, limit: '64Ki' }], 0.02, (m) => messages.push(m));
    writeFileSync(join(dir, 'big'), Buffer.alloc(256 << 10, 1));
    for (let waited = 0; messages.length === 0 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    // A few more measures: still one call.
    await new Promise((r) => setTimeout(r, 100));
    expect(messages).toEqual(['Usage of EmptyDir volume "v" exceeds the limit "64Ki".']);
    watch?.stop();
    expect(watchEmptyDirs([], 0.02, () => undefined)).toBeUndefined();
  });
});
