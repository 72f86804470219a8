// SPDY/3.1, the server's side of what the kubelet's streaming clients
// speak (crictl, kubectl through the API server, critest): frames over the
// connection an HTTP Upgrade handed over, streams the client opens (one per
// channel: stdin, stdout, stderr, error, resize; or a port's data and
// error), each answered with SYN_REPLY, data both ways, FIN to half-close.
//
// Header blocks are zlib streams with SPDY's dictionary, one per direction
// for the whole session. What the client sends is inflated in order (an
// async queue: every frame waits for the one before). What peapod sends is
// written as stored (uncompressed) deflate blocks of one zlib stream, each
// block ended as a sync flush ends it (an empty stored block, without which
// Go's inflater reads on past the frame): valid for any inflater, and
// nothing to wait for. Flow control is not enforced
// either way, as the Go implementation the kubelet uses does not.
import type { Socket } from 'node:net';
import { constants, createInflate, type Inflate } from 'node:zlib';
import { SPDY3_DICTIONARY } from './spdy-dictionary.js';

const VERSION = 3;
const TYPE = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
const FLAG_FIN = 0x01;
/** Data frames are cut at this size (the frame allows 16 MiB; small frames keep streams interleaved). */
const MAX_DATA = 32 * 1024;
const RST_PROTOCOL_ERROR = 1;
export const RST_CANCEL = 5;

export class SpdyError extends Error {
  override name = 'SpdyError';
}

function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Encodes header blocks as stored deflate blocks of one zlib stream that uses SPDY's dictionary. */
class HeaderWriter {
  private started = false;

  encode(headers: Record<string, string>): Buffer {
    const entries = Object.entries(headers);
    const parts: Buffer[] = [u32(entries.length)];
    for (const [name, value] of entries) {
      const n = Buffer.from(name.toLowerCase(), 'utf8');
      const v = Buffer.from(value, 'utf8');
      parts.push(u32(n.length), n, u32(v.length), v);
    }
    const raw = Buffer.concat(parts);
    const out: Buffer[] = [];
    if (!this.started) {
      // CMF 0x78 (deflate, 32 KiB window), FLG 0x20 (FDICT; 0x7820 is a multiple of 31), then the dictionary's id.
      out.push(Buffer.from([0x78, 0x20]), u32(adler32(SPDY3_DICTIONARY)));
      this.started = true;
    }
    for (let at = 0; at < raw.length; at += 0xffff) {
      const chunk = raw.subarray(at, at + 0xffff);
      const head = Buffer.alloc(5);
      head[0] = 0; // BFINAL 0, BTYPE 00 (stored), padded to the byte
      head.writeUInt16LE(chunk.length, 1);
      head.writeUInt16LE(~chunk.length & 0xffff, 3);
      out.push(head, chunk);
    }
    // An empty stored block, as a sync flush ends: an inflater hands out the block before it only when it sees this.
    out.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(out);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Inflates the client's header blocks, one at a time, from one zlib stream. */
class HeaderReader {
  private readonly inflate: Inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  private chunks: Buffer[] = [];

  constructor() {
    this.inflate.on('data', (d: Buffer) => this.chunks.push(d));
  }

  decode(block: Buffer): Promise<Map<string, string>> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => reject(new SpdyError(`header block: ${err.message}`));
      this.inflate.once('error', fail);
      this.inflate.write(block);
      this.inflate.flush(constants.Z_SYNC_FLUSH, () => {
        this.inflate.off('error', fail);
        const raw = Buffer.concat(this.chunks);
        this.chunks = [];
        try {
          resolve(parseHeaders(raw));
        } catch (err) {
          reject(err as Error);
        }
      });
    });
  }

  close(): void {
    this.inflate.destroy();
  }
}

function parseHeaders(raw: Buffer): Map<string, string> {
  const headers = new Map<string, string>();
  let at = 0;
  const take = (): Buffer => {
    if (at + 4 > raw.length) throw new SpdyError('header block ends early');
    const n = raw.readUInt32BE(at);
    at += 4;
    if (at + n > raw.length) throw new SpdyError('header block ends early');
    const b = raw.subarray(at, at + n);
    at += n;
    return b;
  };
  if (raw.length < 4) throw new SpdyError('header block ends early');
  const count = raw.readUInt32BE(0);
  at = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toString('utf8').toLowerCase();
    // Several values of one name are NUL-separated: the first is what the channel protocols use.
    const value = take().toString('utf8').split('\0')[0] ?? '';
    headers.set(name, value);
  }
  return headers;
}

/** A stream the client opened. */
export class SpdyStream {
  private ended = false;
  private remoteEnded = false;
  private readonly dataListeners: Array<(data: Buffer) => void> = [];
  private readonly endListeners: Array<() => void> = [];

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: Map<string, string>,
  ) {}

  onData(listener: (data: Buffer) => void): void {
    this.dataListeners.push(listener);
  }

  /** The client half-closed it (FIN), reset it, or the connection ended. */
  onEnd(listener: () => void): void {
    if (this.remoteEnded) listener();
    else this.endListeners.push(listener);
  }

  get closedByClient(): boolean {
    return this.remoteEnded;
  }

  write(data: Buffer): void {
    if (this.ended) return;
    for (let at = 0; at < data.length; at += MAX_DATA) this.session.sendData(this.id, data.subarray(at, at + MAX_DATA), false);
  }

  /** Our half-close: DATA with FIN, once. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.session.sendData(this.id, Buffer.alloc(0), true);
  }

  reset(status = RST_CANCEL): void {
    this.ended = true;
    this.session.sendReset(this.id, status);
    this.remoteEnd();
  }

  /** @internal */
  receive(data: Buffer, fin: boolean): void {
    if (this.remoteEnded) return;
    if (data.length > 0) for (const l of this.dataListeners) l(data);
    if (fin) this.remoteEnd();
  }

  /** @internal */
  remoteEnd(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    for (const l of this.endListeners.splice(0)) l();
  }

  /** @internal: the connection went away under it. */
  abandon(): void {
    this.ended = true;
    this.remoteEnd();
  }
}

/** One SPDY connection, server side. */
export class SpdySession {
  private buffer: Buffer = Buffer.alloc(0);
  private queue: Promise<void> = Promise.resolve();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly writer = new HeaderWriter();
  private readonly reader = new HeaderReader();
  private closed = false;
  private lastStream = 0;
  private readonly closeListeners: Array<() => void> = [];

  constructor(
    private readonly socket: Socket,
    private readonly onStream: (stream: SpdyStream) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.teardown());
    socket.on('error', () => socket.destroy());
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** GOAWAY, then the connection ends once what was written is sent. */
  close(): void {
    if (this.closed) return;
    this.sendControl(TYPE.goAway, 0, Buffer.concat([u32(this.lastStream), u32(0)]));
    this.socket.end();
    this.teardown();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.close();
    for (const s of this.streams.values()) s.abandon();
    this.streams.clear();
    for (const l of this.closeListeners.splice(0)) l();
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUIntBE(5, 3);
      if (this.buffer.length < 8 + length) break;
      const frame = this.buffer.subarray(0, 8 + length);
      this.buffer = this.buffer.subarray(8 + length);
      this.queue = this.queue.then(() => this.handle(frame)).catch((err: Error) => this.fail(err));
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    process.stderr.write(`peapod cri: streaming connection closed: ${err.message}\n`);
    this.sendControl(TYPE.goAway, 0, Buffer.concat([u32(this.lastStream), u32(RST_PROTOCOL_ERROR)]));
    this.socket.destroy();
    this.teardown();
  }

  private async handle(frame: Buffer): Promise<void> {
    if (this.closed) return;
    const flags = frame[4] as number;
    const payload = frame.subarray(8);
    if ((frame[0] as number) & 0x80) {
      const version = frame.readUInt16BE(0) & 0x7fff;
      if (version !== VERSION) throw new SpdyError(`SPDY version ${version}; this server speaks 3`);
      await this.control(frame.readUInt16BE(2), flags, payload);
      return;
    }
    const id = frame.readUInt32BE(0) & 0x7fffffff;
    this.streams.get(id)?.receive(payload, (flags & FLAG_FIN) !== 0);
  }

  private async control(type: number, flags: number, payload: Buffer): Promise<void> {
    switch (type) {
      case TYPE.synStream: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const headers = await this.reader.decode(payload.subarray(10));
        if (id % 2 === 0 || id <= this.lastStream) {
          this.sendReset(id, RST_PROTOCOL_ERROR);
          return;
        }
        this.lastStream = id;
        const stream = new SpdyStream(this, id, headers);
        this.streams.set(id, stream);
        this.sendControl(TYPE.synReply, 0, Buffer.concat([u32(id), this.writer.encode({})]));
        if (flags & FLAG_FIN) stream.remoteEnd();
        this.onStream(stream);
        return;
      }
      case TYPE.headers:
        // Trailing headers: the channel protocols have none to read, but the block keeps the zlib stream in step.
        await this.reader.decode(payload.subarray(4));
        if (flags & FLAG_FIN) this.streams.get(payload.readUInt32BE(0) & 0x7fffffff)?.remoteEnd();
        return;
      case TYPE.rstStream: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const s = this.streams.get(id);
        this.streams.delete(id);
        s?.abandon();
        return;
      }
      case TYPE.ping:
        // The client's (odd) pings come back as they are.
        if ((payload.readUInt32BE(0) & 1) === 1) this.sendControl(TYPE.ping, 0, payload.subarray(0, 4));
        return;
      case TYPE.goAway:
        this.socket.end();
        this.teardown();
        return;
      case TYPE.synReply:
        throw new SpdyError('SYN_REPLY from the client: this server opens no streams');
      default:
        // SETTINGS, WINDOW_UPDATE and anything newer: nothing to do.
        return;
    }
  }

  private sendControl(type: number, flags: number, payload: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    const head = Buffer.alloc(8);
    head.writeUInt16BE(0x8000 | VERSION, 0);
    head.writeUInt16BE(type, 2);
    head.writeUInt32BE(payload.length, 4);
    head[4] = flags;
    this.socket.write(Buffer.concat([head, payload]));
  }

  /** @internal */
  sendData(id: number, data: Buffer, fin: boolean): void {
    if (this.closed || this.socket.destroyed) return;
    const head = Buffer.alloc(8);
    head.writeUInt32BE(id & 0x7fffffff, 0);
    head.writeUInt32BE(data.length, 4);
    head[4] = fin ? FLAG_FIN : 0;
    this.socket.write(Buffer.concat([head, data]));
  }

  /** @internal */
  sendReset(id: number, status: number): void {
    this.sendControl(TYPE.rstStream, 0, Buffer.concat([u32(id), u32(status)]));
  }
}

/** The header blocks one session would write for `blocks`, in order (for tests). */
export function encodeHeaderBlockForTest(blocks: Array<Record<string, string>>): Buffer[] {
  const writer = new HeaderWriter();
  return blocks.map((b) => writer.encode(b));
}
