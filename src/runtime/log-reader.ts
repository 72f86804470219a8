// Reading one container instance's log through its rotations, as `tail -F`
// and the kubelet's reader do: by open file, not by name. The writer
// (ContainerLog) closes the live file, renames it `<log>.<N>` (N counting
// up from 1) and opens a new live file; the oldest rotated files are then
// removed. A file this reader holds open keeps its data even once removed,
// so the reader opens each next file as soon as it sees the one before it
// rotated, between any two chunks it reads, and loses nothing unless the
// writer rotates through every kept file between two of those looks.
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { logFiles } from './logs.js';

const CHUNK = 1 << 20;

interface Held {
  fd: number;
  ino: number;
  offset: number;
  /** The number the file has, or will have once rotated: `<log>.<seq>`. */
  seq: number;
  rotated: boolean;
}

function openIfThere(path: string): number | null {
  try {
    return openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export class LogChain {
  /** The files opened and not yet read to their end, oldest first; the head is being read. */
  private held: Held[] = [];
  private readonly decoder = new StringDecoder('utf8');
  private readonly buffer = Buffer.alloc(CHUNK);

  /** `live` is the instance's log path (`<dir>/<instance>.log`). */
  constructor(
    private readonly live: string,
    private readonly onLoss: (message: string) => void = () => {},
  ) {}

  private rotatedName(seq: number): string {
    return `${this.live}.${seq}`;
  }

  private hold(fd: number, seq: number, rotated: boolean): void {
    this.held.push({ fd, ino: fstatSync(fd).ino, offset: 0, seq, rotated });
  }

  /** The first file: the oldest rotated one, else the live one (to be `.1`); false when there is none yet. */
  private begin(): boolean {
    for (let attempt = 0; attempt < 10; attempt++) {
      const oldest = logFiles(this.live)[0];
      if (oldest === undefined) return false;
      const isLive = oldest === this.live;
      const fd = openIfThere(oldest);
      // Removed or rotated between the listing and the open: list again.
      if (fd === null) continue;
      if (isLive && logFiles(this.live)[0] !== this.live) {
        closeSync(fd);
        continue;
      }
      this.hold(fd, isLive ? 1 : Number(oldest.slice(this.live.length + 1)), !isLive);
      return true;
    }
    return false;
  }

  /** Whether the last file held has been rotated since it was opened (renamed, or no longer the live file). */
  private tailRotated(t: Held): boolean {
    if (t.rotated) return true;
    let liveIno: number | null = null;
    try {
      liveIno = statSync(this.live).ino;
    } catch {
      // Between a rename and the new file, or the pod is gone.
    }
    t.rotated = liveIno !== t.ino || existsSync(this.rotatedName(t.seq));
    return t.rotated;
  }

  /**
   * Opens, in order, every file that has followed the last one held: the
   * next `.N` by name, else the live file, which is that next one if `.N`
   * is still not there once it is open.
   */
  private advance(): void {
    if (this.held.length === 0 && !this.begin()) return;
    for (let t = this.held.at(-1); t && this.tailRotated(t); t = this.held.at(-1)) {
      const seq = t.seq + 1;
      let fd = openIfThere(this.rotatedName(seq));
      if (fd !== null) {
        this.hold(fd, seq, true);
        continue;
      }
      // Between a rename and the new live file: the next look finds it.
      fd = openIfThere(this.live);
      if (fd === null) return;
      if (existsSync(this.rotatedName(seq))) {
        // Rotated between the two opens: take it by its new name.
        closeSync(fd);
        continue;
      }
      if (this.rotatedAfter(seq) !== null) {
        // A later `.N` is there, so `.seq` was made before it: there now, it is taken by name;
        // gone, the writer removed it (and maybe more) before it could be opened.
        closeSync(fd);
        if (!existsSync(this.rotatedName(seq))) this.skipLost(seq);
        continue;
      }
      this.hold(fd, seq, false);
    }
  }

  /** Everything written since the last call, in order, through any number of rotations. */
  read(emit: (text: string) => void): void {
    for (;;) {
      this.advance();
      const head = this.held[0];
      if (!head) return;
      const n = readSync(head.fd, this.buffer, 0, CHUNK, head.offset);
      if (n > 0) {
        head.offset += n;
        emit(this.decoder.write(this.buffer.subarray(0, n)));
        continue;
      }
      // At its end: a file with a successor was rotated before this read, so its end is final.
      if (this.held.length === 1) return;
      closeSync(head.fd);
      this.held.shift();
    }
  }

  /** The number of the oldest rotated file after `.seq`, or null. */
  private rotatedAfter(seq: number): number | null {
    const found = logFiles(this.live)
      .filter((f) => f !== this.live)
      .map((f) => Number(f.slice(this.live.length + 1)))
      .find((n) => n > seq);
    return found ?? null;
  }

  /** Goes on from the oldest rotated file left after `.seq`, and says what was lost. */
  private skipLost(seq: number): void {
    const found = this.rotatedAfter(seq);
    const fd = found === null ? null : openIfThere(this.rotatedName(found));
    if (fd === null || found === null) return;
    this.onLoss(`${this.live}: ${found - seq} rotated file(s) were removed before they could be read`);
    this.hold(fd, found, true);
  }

  close(): void {
    for (const h of this.held) closeSync(h.fd);
    this.held = [];
  }
}

/** A line of a container's log, as the CRI's log format records it. */
export interface LogLine {
  time: string;
  stream: string;
  text: string;
}

/** Parses CRI records, joining partial (P) records with the final (F) one. */
export class CriParser {
  private partial = '';
  private rest = '';

  push(chunk: string): LogLine[] {
    const out: LogLine[] = [];
    const data = this.rest + chunk;
    const lines = data.split('\n');
    this.rest = lines.pop() ?? '';
    for (const record of lines) {
      const m = /^(\S+) (stdout|stderr) ([PF]) ?(.*)$/.exec(record);
      if (!m) continue;
      if (m[3] === 'P') {
        this.partial += m[4];
        continue;
      }
      out.push({ time: m[1] as string, stream: m[2] as string, text: this.partial + (m[4] as string) });
      this.partial = '';
    }
    return out;
  }
}
