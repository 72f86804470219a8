// Container output: read from the container's stdout/stderr pipes, written
// per line in the CRI log format the kubelet uses
// (`<RFC3339Nano> <stream> <P|F> <line>`), and handed to a listener (the
// foreground terminal). A line longer than the limit is split into partial
// (P) records and a final (F) one, as CRI does.
import { closeSync, existsSync, fstatSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { makeDir, MODE, openWithMode } from './modes.js';

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

/** When a log file is rotated, and how many rotated files are kept (the kubelet's 10Mi and 5). */
export interface LogRotation {
  maxBytes: number;
  maxFiles: number;
}

export const DEFAULT_ROTATION: LogRotation = { maxBytes: 10 * 1024 * 1024, maxFiles: 5 };

export function rotationFromEnv(env: NodeJS.ProcessEnv = process.env): LogRotation {
  const num = (name: string, fallback: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${v}: expected a whole number >= 1`);
    return n;
  };
  return { maxBytes: num('PEAPOD_LOG_MAX_BYTES', DEFAULT_ROTATION.maxBytes), maxFiles: num('PEAPOD_LOG_MAX_FILES', DEFAULT_ROTATION.maxFiles) };
}

/** Rotated files of a log, oldest first: `0.log.<seq>` before `0.log`. */
export function logFiles(path: string): string[] {
  const dir = dirname(path);
  const base = basename(path);
  let rotated: string[] = [];
  try {
    rotated = readdirSync(dir)
      .filter((f) => f.startsWith(`${base}.`))
      .sort((a, b) => Number(a.slice(base.length + 1)) - Number(b.slice(base.length + 1)))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
  return existsSync(path) ? [...rotated, path] : rotated;
}

/**
 * One container instance's log file, fed by its two pipes. Writes are
 * synchronous and whole records, so a rotation (rename, then a new file)
 * happens between two lines and never loses or splits one.
 */
export class ContainerLog {
  private fd: number;
  private size = 0;
  private sequence = 0;
  private open = 0;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly container: string,
    private readonly path: string,
    private readonly listener?: LogListener,
    private readonly rotation: LogRotation = DEFAULT_ROTATION,
  ) {
    makeDir(dirname(path), MODE.podDir);
    this.fd = openWithMode(path, 'a', MODE.log);
    this.size = fstatSync(this.fd).size;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Writes whole records, rotating between two records when the file is full. */
  private write(text: string): void {
    let buf = Buffer.from(text);
    while (buf.length > 0) {
      const room = this.rotation.maxBytes - this.size;
      if (buf.length <= room) {
        writeSync(this.fd, buf);
        this.size += buf.length;
        return;
      }
      let cut = room > 0 ? buf.lastIndexOf(0x0a, room - 1) + 1 : 0;
      if (cut === 0) {
        if (this.size > 0) {
          this.rotate();
          continue;
        }
        // A single record longer than the limit goes alone into a file.
        cut = buf.indexOf(0x0a) + 1 || buf.length;
      }
      writeSync(this.fd, buf.subarray(0, cut));
      this.size += cut;
      buf = buf.subarray(cut);
      if (buf.length > 0) this.rotate();
    }
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, `${this.path}.${++this.sequence}`);
    const rotated = logFiles(this.path);
    for (const old of rotated.slice(0, Math.max(rotated.length - this.rotation.maxFiles, 0))) rmSync(old, { force: true });
    this.fd = openWithMode(this.path, 'a', MODE.log);
    this.size = 0;
  }

  /** Starts reading a pipe's read end (the runtime keeps no other copy of it). */
  attach(fd: number, stream: Stream): void {
    this.open++;
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.setEncoding('utf8');
    let batch = '';
    const splitter = new LineSplitter((line, partial) => {
      batch += criRecord(stream, partial, line);
      this.listener?.(this.container, stream, line);
    });
    const flush = (): void => {
      if (batch !== '') this.write(batch);
      batch = '';
    };
    socket.on('data', (chunk: string) => {
      splitter.push(chunk);
      flush();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      splitter.end();
      flush();
      if (--this.open === 0) {
        closeSync(this.fd);
        this.resolveDone();
      }
    });
  }
}
