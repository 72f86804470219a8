// WebSocket (RFC 6455), the server's side: the handshake of an Upgrade
// request, then messages both ways. What newer Kubernetes clients use for
// exec, attach and port-forward, with the channel protocols on top
// (channels.ts). Client frames are masked, ours are not; fragments are
// joined; a ping is answered; a close is answered and ends the connection.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;
/** A message larger than this ends the connection (the channel protocols send small ones). */
const MAX_MESSAGE = 16 * 1024 * 1024;

export class WebSocketError extends Error {
  override name = 'WebSocketError';
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** The values of a comma-separated request header, in order (repeated headers joined). */
export function headerList(req: IncomingMessage, name: string): string[] {
  const raw = req.headers[name];
  const all = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return all
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The subprotocols a client offers, in its order. */
export function offeredProtocols(req: IncomingMessage): string[] {
  return headerList(req, 'sec-websocket-protocol');
}

export class WebSocketConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOp = 0;
  private closed = false;
  private readonly messageListeners: Array<(data: Buffer, binary: boolean) => void> = [];
  private readonly closeListeners: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.teardown());
    socket.on('error', () => socket.destroy());
  }

  /** Answers the Upgrade (101) with `protocol` chosen, and starts reading frames. */
  static accept(req: IncomingMessage, socket: Socket, head: Buffer, protocol: string | undefined): WebSocketConnection {
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string' || key === '') throw new WebSocketError('Sec-WebSocket-Key is missing');
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`];
    if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    const ws = new WebSocketConnection(socket);
    if (head.length > 0) ws.receive(head);
    return ws;
  }

  onMessage(listener: (data: Buffer, binary: boolean) => void): void {
    this.messageListeners.push(listener);
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  send(data: Buffer, binary = true): void {
    this.frame(binary ? OP.binary : OP.text, data);
  }

  /** A close frame, then the end of the connection. */
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.frame(OP.close, payload);
    this.socket.end();
    this.teardown();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners.splice(0)) l();
  }

  private frame(op: number, data: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    let head: Buffer;
    if (data.length < 126) {
      head = Buffer.from([0x80 | op, data.length]);
    } else if (data.length < 65536) {
      head = Buffer.alloc(4);
      head[0] = 0x80 | op;
      head[1] = 126;
      head.writeUInt16BE(data.length, 2);
    } else {
      head = Buffer.alloc(10);
      head[0] = 0x80 | op;
      head[1] = 127;
      head.writeBigUInt64BE(BigInt(data.length), 2);
    }
    this.socket.write(Buffer.concat([head, data]));
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      for (;;) {
        const frame = this.parse();
        if (!frame) return;
        this.handle(frame.fin, frame.op, frame.payload);
      }
    } catch (err) {
      this.close(1002, (err as Error).message.slice(0, 100));
    }
  }

  private parse(): { fin: boolean; op: number; payload: Buffer } | undefined {
    const b = this.buffer;
    if (b.length < 2) return undefined;
    const fin = ((b[0] as number) & 0x80) !== 0;
    const op = (b[0] as number) & 0x0f;
    const masked = ((b[1] as number) & 0x80) !== 0;
    let length = (b[1] as number) & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(MAX_MESSAGE)) throw new WebSocketError('message too large');
      length = Number(big);
      at = 10;
    }
    if (!masked) throw new WebSocketError('client frames must be masked');
    if (b.length < at + 4 + length) return undefined;
    const mask = b.subarray(at, at + 4);
    const payload = Buffer.from(b.subarray(at + 4, at + 4 + length));
    for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    this.buffer = b.subarray(at + 4 + length);
    return { fin, op, payload };
  }

  private handle(fin: boolean, op: number, payload: Buffer): void {
    switch (op) {
      case OP.ping:
        this.frame(OP.pong, payload);
        return;
      case OP.pong:
        return;
      case OP.close:
        this.close(payload.length >= 2 ? payload.readUInt16BE(0) : 1000);
        return;
      case OP.continuation:
      case OP.text:
      case OP.binary: {
        if (op !== OP.continuation) this.fragmentOp = op;
        this.fragments.push(payload);
        if (this.fragments.reduce((n, f) => n + f.length, 0) > MAX_MESSAGE) throw new WebSocketError('message too large');
        if (!fin) return;
        const message = Buffer.concat(this.fragments);
        this.fragments = [];
        for (const l of this.messageListeners) l(message, this.fragmentOp === OP.binary);
        return;
      }
      default:
        throw new WebSocketError(`unknown opcode ${op}`);
    }
  }
}
