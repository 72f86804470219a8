// Container output: read from the container's stdout/stderr pipes, written
// per line in the CRI log format the kubelet uses
// (`<RFC3339Nano> <stream> <P|F> <line>`), and handed to a listener (the
// foreground terminal). A line longer than the limit is split into partial
// (P) records and a final (F) one, as CRI does.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import { dirname } from 'node:path';

export type Stream = 'stdout' | 'stderr';
export type LogListener = (container: string, stream: Stream, line: string) => void;

const MAX_LINE = 16 * 1024;

/** RFC 3339 with nanoseconds, from a millisecond clock plus the hr clock's sub-ms part. */
export function rfc3339Nano(ms: number = Date.now(), subMsNanos = Number(process.hrtime.bigint() % 1_000_000n)): string {
  const iso = new Date(ms).toISOString(); // 2026-11-25T18:00:00.123Z
  const nanos = String(subMsNanos).padStart(6, '0');
  return `${iso.slice(0, 23)}${nanos}Z`;
}

export function criRecord(stream: Stream, partial: boolean, line: string, time = rfc3339Nano()): string {
  return `${time} ${stream} ${partial ? 'P' : 'F'} ${line}\n`;
}

/** Splits a byte stream into lines; calls back with (line, partial). */
export class LineSplitter {
  private pending = '';
  constructor(private readonly emit: (line: string, partial: boolean) => void) {}

  push(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      this.emitLine(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
    }
    while (this.pending.length > MAX_LINE) {
      this.emit(this.pending.slice(0, MAX_LINE), true);
      this.pending = this.pending.slice(MAX_LINE);
    }
  }

  end(): void {
    if (this.pending !== '') this.emitLine(this.pending);
    this.pending = '';
  }

  private emitLine(line: string): void {
    let rest = line;
    while (rest.length > MAX_LINE) {
      this.emit(rest.slice(0, MAX_LINE), true);
      rest = rest.slice(MAX_LINE);
    }
    this.emit(rest, false);
  }
}

/** One container instance's log file, fed by its two pipes. */
export class ContainerLog {
  private readonly file: WriteStream;
  private open = 0;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly container: string,
    path: string,
    private readonly listener?: LogListener,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.file = createWriteStream(path, { flags: 'a' });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts reading a pipe's read end (the runtime keeps no other copy of it). */
  attach(fd: number, stream: Stream): void {
    this.open++;
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.setEncoding('utf8');
    const splitter = new LineSplitter((line, partial) => {
      this.file.write(criRecord(stream, partial, line));
      this.listener?.(this.container, stream, line);
    });
    socket.on('data', (chunk: string) => splitter.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      splitter.end();
      if (--this.open === 0) this.file.end(() => this.resolveDone());
    });
  }
}
