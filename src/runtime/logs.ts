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

/** When a log file is rotated, and how many files are kept, the live one included (the kubelet's 10Mi and 5). */
export interface LogRotation {
  maxBytes: number;
  maxFiles: number;
}

export const DEFAULT_ROTATION: LogRotation = { maxBytes: 10 * 1024 * 1024, maxFiles: 5 };

/** No rotation by peapod: whoever asked for the log rotates it (the kubelet, through ReopenContainerLog). */
export const NO_ROTATION: LogRotation = { maxBytes: Number.POSITIVE_INFINITY, maxFiles: 2 };

export function rotationFromEnv(env: NodeJS.ProcessEnv = process.env): LogRotation {
  const num = (name: string, fallback: number, least: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < least) throw new Error(`${name}=${v}: expected a whole number >= ${least}`);
    return n;
  };
  // The live file counts: at least one rotated file beside it, as the kubelet requires.
  return { maxBytes: num('PEAPOD_LOG_MAX_BYTES', DEFAULT_ROTATION.maxBytes, 1), maxFiles: num('PEAPOD_LOG_MAX_FILES', DEFAULT_ROTATION.maxFiles, 2) };
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
 * happens between two lines and never loses or splits one. Output that
 * cannot be written (a full disk) is dropped, said once on stderr, and
 * writing resumes when it can: the container never waits for its log.
 */
export class ContainerLog {
  private fd: number;
  private size = 0;
  private sequence = 0;
  private open = 0;
  /** Records dropped since writes began to fail, and whether a record was cut half-written. */
  private dropped = 0;
  private failing: string | undefined;
  private cut = false;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  /** Who follows the output as it comes, unsplit (the CRI's Attach). */
  readonly taps = new Set<(stream: Stream, data: string) => void>();

  constructor(
    readonly container: string,
    private readonly path: string,
    private readonly listener?: LogListener,
    private readonly rotation: LogRotation = DEFAULT_ROTATION,
  ) {
    makeDir(dirname(path), MODE.podDir);
    this.fd = openWithMode(path, 'a', MODE.log);
    this.size = fstatSync(this.fd).size;
    // A log taken over by another process (a daemon after a restart) rotates on from its last file.
    this.sequence = Math.max(0, ...logFiles(path).map((f) => Number(f.slice(path.length + 1)) || 0));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** No stream will ever come (an adopted container whose output is gone): the log is done. */
  close(): void {
    if (this.open > 0) return;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.resolveDone();
  }

  /** Writes records, or drops them (counted) while the file cannot take them. */
  private writeOrDrop(text: string): void {
    try {
      // A record cut by a failed write is ended first, so the next one starts on its own line.
      if (this.cut) this.write('\n');
      this.cut = false;
      this.write(text);
      if (this.failing) process.stderr.write(`peapod: ${this.path}: writing again; ${this.dropped} records of container ${this.container} were dropped\n`);
      this.failing = undefined;
      this.dropped = 0;
    } catch (err) {
      this.dropped += text.split('\n').length - 1;
      if (this.failing) return;
      this.failing = (err as Error).message;
      process.stderr.write(`peapod: ${this.path}: ${this.failing}; dropping the output of container ${this.container} until it can be written\n`);
    }
  }

  /** All of `buf`, through short writes; a failure part-way marks the record cut. */
  private writeAll(buf: Buffer): void {
    let done = 0;
    try {
      if (this.fd < 0) this.reopen();
      while (done < buf.length) done += writeSync(this.fd, buf, done);
    } finally {
      this.size += done;
      if (done < buf.length && done > 0) this.cut = true;
    }
  }

  /** Writes whole records, rotating between two records when the file is full. */
  private write(text: string): void {
    let buf = Buffer.from(text);
    while (buf.length > 0) {
      const room = this.rotation.maxBytes - this.size;
      if (buf.length <= room) {
        this.writeAll(buf);
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
      this.writeAll(buf.subarray(0, cut));
      buf = buf.subarray(cut);
      if (buf.length > 0) this.rotate();
    }
  }

  /** The live file is renamed `.N`; the oldest go so that, the live one included, maxFiles are kept (the kubelet counts it too). */
  private rotate(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    renameSync(this.path, `${this.path}.${++this.sequence}`);
    const rotated = logFiles(this.path);
    for (const old of rotated.slice(0, Math.max(rotated.length - (this.rotation.maxFiles - 1), 0))) rmSync(old, { force: true });
    this.reopen();
  }

  /** ReopenContainerLog: a new file at the log path (after the kubelet moved the old one away). */
  reopen(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = openWithMode(this.path, 'a', MODE.log);
    this.size = fstatSync(this.fd).size;
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
      if (batch !== '') this.writeOrDrop(batch);
      batch = '';
    };
    socket.on('data', (chunk: string) => {
      splitter.push(chunk);
      flush();
      for (const tap of this.taps) tap(stream, chunk);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      splitter.end();
      flush();
      if (--this.open === 0) {
        if (this.fd >= 0) closeSync(this.fd);
        this.fd = -1;
        this.resolveDone();
      }
    });
  }
}

/**
 * The logs of a container's instances older than the previous one, removed
 * when instance `current` starts (the kubelet keeps the current and the
 * previous). `dir` holds `<instance>.log` and its rotated `.N` files.
 */
export function pruneInstanceLogs(dir: string, current: number): void {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return;
  }
  for (const f of files) {
    const instance = /^(\d+)\.log(\.\d+)?$/.exec(f);
    if (instance && Number(instance[1]) < current - 1) rmSync(join(dir, f), { force: true });
  }
}
