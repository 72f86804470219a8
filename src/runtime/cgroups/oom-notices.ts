// A v1 memory cgroup under OOM notifies at each failed charge: hundreds of
// notices for one kill. Handled one after another (each waits up to 200 ms
// for the kill to be counted) they held a container's exit for minutes. So
// one handling runs at a time, and the notices that come meanwhile are
// folded into a single next one: it reads the kill count for all of them,
// and thaws the cgroup if any of them froze it.
import type { OomNotice } from '../../native/addon.js';

export interface NoticeQueue {
  /** A notice from the kernel (through the addon's watch). */
  notify(notice: OomNotice): void;
  /** Resolves once every notice so far is handled. */
  settled(): Promise<void>;
}

export function noticeQueue(handle: (notice: OomNotice) => Promise<void>): NoticeQueue {
  let chain = Promise.resolve();
  let queued: OomNotice | undefined;
  const handleQueued = (): Promise<void> => {
    const notice = queued as OomNotice;
    queued = undefined;
    return handle(notice);
  };
  return {
    notify(notice) {
      if (queued) {
        queued = { ...queued, frozen: queued.frozen || notice.frozen };
        return;
      }
      queued = notice;
      chain = chain.then(handleQueued).catch(() => undefined);
    },
    settled: () => chain,
  };
}
