// The OOM notices of a v1 memory cgroup, handled one at a time with the ones
// that come meanwhile folded into one (src/runtime/cgroups/oom-notices.ts).
import { describe, expect, it } from 'vitest';
import type { OomNotice } from '../../src/native/addon.js';
import { noticeQueue } from '../../src/runtime/cgroups/oom-notices.js';

const later = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('OOM notices', () => {
  it('a storm of notices during one handling is handled once more, not once each (a container exit waited minutes for them)', async () => {
    const handled: OomNotice[] = [];
    const q = noticeQueue(async (n) => {
      handled.push(n);
      await later(20);
    });
    q.notify({ frozen: false });
    await later(5); // its handling has started: the storm comes during it, as from the kernel
    for (let i = 0; i < 300; i++) q.notify({ frozen: i === 150 });
    const t = performance.now();
    await q.settled();
    expect(handled).toEqual([{ frozen: false }, { frozen: true }]);
    // Two handlings of 20 ms, not 301.
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('notices before a handling starts are one handling, frozen if any of them froze the cgroup', async () => {
    const handled: OomNotice[] = [];
    const q = noticeQueue(async (n) => {
      handled.push(n);
    });
    q.notify({ frozen: false });
    q.notify({ frozen: true });
    q.notify({ frozen: false });
    await q.settled();
    expect(handled).toEqual([{ frozen: true }]);
  });

  it('a notice after the handling ended is handled again; a failed handling does not stop the next', async () => {
    const handled: boolean[] = [];
    const q = noticeQueue(async (n) => {
      handled.push(n.frozen);
      if (handled.length === 1) throw new Error('a kill that failed');
    });
    q.notify({ frozen: true });
    await q.settled();
    q.notify({ frozen: false });
    await q.settled();
    expect(handled).toEqual([true, false]);
  });
});
