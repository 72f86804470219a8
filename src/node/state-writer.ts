// The supervisor's files (runtime.json, pod.json, events.json), kept as the
// supervisor holds them in memory. Writes are coalesced to one per turn of
// the event loop. A write that fails (a full disk) leaves the file as it
// was and the value in memory, says so once, and is tried again every
// second until it succeeds: the pod carries on meanwhile. A file changed
// under the supervisor (emptied, overwritten, removed) is seen through
// inotify and written again from memory.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import { jsonText, writeTextAtomic } from '../runtime/json-file.js';

export const RETRY_MS = 1000;

export interface StateWriterEvents {
  /** A write failed; once per run of failures. */
  onWriteFailed(path: string, err: Error): void;
  /** A file was found changed under the supervisor and written again. */
  onRepaired(path: string, why: string): void;
}

export class StateWriter {
  /** The last value given for each file, and the text last written for it (what the file must hold). */
  private readonly values = new Map<string, unknown>();
  private readonly texts = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private retry: NodeJS.Timeout | undefined;
  private failing = false;
  private watcher: FSWatcher | undefined;
  private checkScheduled = false;
  private closed = false;

  constructor(private readonly events: StateWriterEvents) {}

  /** The new content of `path`, written (as it is then) with the next flush. */
  set(path: string, value: unknown): void {
    this.values.set(path, value);
    this.dirty.add(path);
    this.schedule();
  }

  private schedule(): void {
    // While writes fail, the retry timer flushes: no busy loop on a full disk.
    if (this.scheduled || this.retry || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what changed. Never throws: what cannot be written now is kept and retried. */
  flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    let failure: { path: string; err: Error } | undefined;
    for (const path of [...this.dirty]) {
      try {
        const text = jsonText(this.values.get(path));
        this.texts.set(path, text);
        writeTextAtomic(path, text);
        this.dirty.delete(path);
      } catch (err) {
        failure ??= { path, err: err as Error };
      }
    }
    if (!failure) {
      this.failing = false;
      return;
    }
    if (!this.failing) {
      this.failing = true;
      this.events.onWriteFailed(failure.path, failure.err);
    }
    if (!this.retry) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.flush();
      }, RETRY_MS);
      this.retry.unref();
    }
  }

  /** Watches the directory of the files: what is changed there by anyone else is written again. */
  watch(dir: string): void {
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, file) => {
        if (file && [...this.texts.keys()].some((p) => basename(p) === file)) this.scheduleCheck();
      });
      // Without inotify (its limits reached), the files are only written when they change.
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      this.watcher = undefined;
    }
  }

  private scheduleCheck(): void {
    if (this.checkScheduled || this.closed) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      this.check();
    });
  }

  /** Every file not waiting for a write must hold what was written; what does not is written again. */
  private check(): void {
    if (this.closed) return;
    for (const [path, text] of this.texts) {
      if (this.dirty.has(path)) continue;
      let found: string;
      try {
        found = readFileSync(path, 'utf8');
      } catch (err) {
        found = '';
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') continue;
      }
      if (found === text) continue;
      let why = found === '' ? 'emptied or removed' : 'overwritten';
      try {
        JSON.parse(found);
      } catch {
        why += ', unreadable';
      }
      this.dirty.add(path);
      this.events.onRepaired(path, why);
    }
    if (this.dirty.size > 0) this.flush();
  }

  /** No more writes: the pod's directory is about to go. */
  close(): void {
    this.closed = true;
    this.watcher?.close();
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }
}
