// When the pods under a state root change. Today no daemon tells anyone
// (issue 12 will add one per state root, with an event stream), so the
// state root itself is watched: what each supervisor writes (pod.json,
// events.json, runtime.json) and whether it still runs. A PodChangeSource
// hides how, so the daemon's stream can take this one's place.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileStamp } from '../runtime/file-stamp.js';
import { podPaths, type RuntimePaths } from '../runtime/paths.js';
import { podState } from '../node/stale.js';

export interface PodChangeSource {
  /** Calls `onChange` after anything of any pod changed; returns the unsubscribe. */
  subscribe(onChange: () => void): () => void;
  close(): void;
}

function stampAt(path: string): string {
  try {
    return fileStamp(statSync(path));
  } catch {
    return '-';
  }
}

/**
 * What the state root says now, as one string: the pods' names, the stamp
 * (fileStamp) of each of their files, and whether each supervisor
 * runs (one that was killed writes nothing, yet its pod is then gone).
 */
export function stateSignature(paths: RuntimePaths): string {
  let names: string[];
  try {
    names = readdirSync(join(paths.state, 'pods')).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return '';
  }
  return names
    .map((name) => {
      const pp = podPaths(paths, name);
      const live = podState(paths, name).kind === 'live';
      return [name, stampAt(pp.podFile), stampAt(pp.eventsFile), stampAt(pp.recordFile), live ? 'live' : 'gone'].join(' ');
    })
    .join('\n');
}

/** Looks at the state root every `intervalMs` while anyone listens. */
export class StateRootPoller implements PodChangeSource {
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private last = '';

  constructor(
    private readonly paths: RuntimePaths,
    private readonly intervalMs = 250,
  ) {}

  subscribe(onChange: () => void): () => void {
    this.listeners.add(onChange);
    if (!this.timer) {
      this.last = stateSignature(this.paths);
      this.timer = setInterval(() => this.look(), this.intervalMs);
    }
    return () => {
      this.listeners.delete(onChange);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private look(): void {
    const now = stateSignature(this.paths);
    if (now === this.last) return;
    this.last = now;
    for (const listener of [...this.listeners]) listener();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }
}
