// The channels of Kubernetes' remote-command protocols, over either
// transport: SPDY, one stream per channel named by its `streamType` header;
// WebSocket, every message prefixed by its channel's number (0 stdin, 1
// stdout, 2 stderr, 3 error, 4 resize; v5 adds 255: "this channel is
// closed"), as bytes, or in the base64 variants as text. exec and attach
// see only the channels.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { SpdySession, type SpdyStream } from './spdy.js';
import { headerList, offeredProtocols, WebSocketConnection } from './websocket.js';

export interface InChannel {
  onData(listener: (data: Buffer) => void): void;
  /** The client closed it (or went away). */
  onEnd(listener: () => void): void;
}

export interface OutChannel {
  write(data: Buffer): void;
  end(): void;
}

export interface CommandChannels {
  /** The subprotocol agreed ("v4.channel.k8s.io", ...; "" for a client that offered none). */
  protocol: string;
  stdin?: InChannel;
  stdout?: OutChannel;
  stderr?: OutChannel;
  /** The error channel: what ended the command, as the protocol says it (status.ts). */
  error: OutChannel;
  resize?: InChannel;
  /** Ends the whole connection. */
  close(): void;
  onClose(listener: () => void): void;
}

/** What the command was asked to stream (the CRI's Exec/Attach request). */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export class ChannelError extends Error {
  override name = 'ChannelError';
  constructor(
    message: string,
    /** The HTTP status that says it, before the upgrade. */
    readonly status: number,
  ) {
    super(message);
  }
}

/** The remote-command subprotocols, newest first: SPDY has v4 and older; WebSocket adds v5. */
export const SPDY_COMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
export const WS_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'base64.channel.k8s.io',
];
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

/** The first protocol of ours the client offers (the client's order decides among ours, as the kubelet's handshake does). */
export function negotiate(offered: readonly string[], ours: readonly string[]): string | undefined {
  return offered.find((p) => ours.includes(p));
}

/** The X-Stream-Protocol-Version values of an SPDY upgrade request. */
export function spdyOffered(req: IncomingMessage): string[] {
  return headerList(req, 'x-stream-protocol-version');
}

/** The 101 of an SPDY upgrade. */
export function acceptSpdy(socket: Socket, protocol: string): void {
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
  if (protocol) lines.push(`X-Stream-Protocol-Version: ${protocol}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
}

function inOf(stream: SpdyStream): InChannel {
  return { onData: (l) => stream.onData(l), onEnd: (l) => stream.onEnd(l) };
}

function outOf(stream: SpdyStream): OutChannel {
  return { write: (d) => stream.write(d), end: () => stream.end() };
}

/** How long a client has to open the streams its request asked for (the kubelet's stream creation timeout). */
const STREAM_WAIT_MS = 30_000;

/** The channels of an SPDY connection: resolves once the client has opened every stream `opts` asks for. */
export function spdyCommandChannels(socket: Socket, protocol: string, opts: StreamOptions): Promise<CommandChannels> {
  const v1 = protocol === '' || protocol === 'channel.k8s.io';
  const resizable = protocol === 'v3.channel.k8s.io' || protocol === 'v4.channel.k8s.io';
  const wanted = new Set<string>(['error']);
  if (opts.stdin) wanted.add('stdin');
  if (opts.stdout) wanted.add('stdout');
  if (opts.stderr && !opts.tty) wanted.add('stderr');
  if (opts.tty && resizable) wanted.add('resize');
  return new Promise((resolve, reject) => {
    const got = new Map<string, SpdyStream>();
    const session = new SpdySession(socket, (stream) => {
      const type = stream.headers.get('streamtype') ?? '';
      if (!['error', 'stdin', 'stdout', 'stderr', 'resize'].includes(type)) {
        stream.reset();
        return;
      }
      got.set(type, stream);
      // A v1 client may not open the error stream: it is then not waited for.
      if ([...wanted].every((w) => got.has(w) || (v1 && w === 'error'))) done();
    });
    const timer = setTimeout(() => {
      session.close();
      reject(new ChannelError(`the client opened ${[...got.keys()].join(', ') || 'no stream'} of ${[...wanted].join(', ')} within ${STREAM_WAIT_MS / 1000} s`, 408));
    }, STREAM_WAIT_MS);
    session.onClose(() => {
      clearTimeout(timer);
      reject(new ChannelError('the client closed the connection before opening its streams', 499));
    });
    const done = (): void => {
      clearTimeout(timer);
      const s = (t: string): SpdyStream | undefined => got.get(t);
      const error = s('error');
      resolve({
        protocol,
        ...(s('stdin') ? { stdin: inOf(s('stdin') as SpdyStream) } : {}),
        ...(s('stdout') ? { stdout: outOf(s('stdout') as SpdyStream) } : {}),
        ...(s('stderr') ? { stderr: outOf(s('stderr') as SpdyStream) } : {}),
        ...(s('resize') ? { resize: inOf(s('resize') as SpdyStream) } : {}),
        error: error ? outOf(error) : { write: () => undefined, end: () => undefined },
        close: () => session.close(),
        onClose: (l) => session.onClose(l),
      });
    };
  });
}

const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** The channels of a WebSocket connection, by number. */
export function wsCommandChannels(req: IncomingMessage, socket: Socket, head: Buffer): CommandChannels {
  const protocol = negotiate(offeredProtocols(req), WS_COMMAND_PROTOCOLS) ?? '';
  const ws = WebSocketConnection.accept(req, socket, head, protocol || undefined);
  const base64 = protocol.includes('base64');
  const listeners = new Map<number, { data: Array<(d: Buffer) => void>; end: Array<() => void>; ended: boolean }>();
  const of = (ch: number): { data: Array<(d: Buffer) => void>; end: Array<() => void>; ended: boolean } => {
    let l = listeners.get(ch);
    if (!l) listeners.set(ch, (l = { data: [], end: [], ended: false }));
    return l;
  };
  const endChannel = (ch: number): void => {
    const l = of(ch);
    if (l.ended) return;
    l.ended = true;
    for (const f of l.end.splice(0)) f();
  };
  ws.onMessage((message, binary) => {
    if (message.length === 0) return;
    let ch: number;
    let data: Buffer;
    if (base64 && !binary) {
      ch = (message[0] as number) - 0x30;
      data = Buffer.from(message.subarray(1).toString('latin1'), 'base64');
    } else {
      ch = message[0] as number;
      data = message.subarray(1);
    }
    if (ch === CHANNEL.close) {
      if (data.length > 0) endChannel(data[0] as number);
      return;
    }
    if (data.length > 0 && !of(ch).ended) for (const f of of(ch).data) f(data);
  });
  ws.onClose(() => {
    for (const ch of listeners.keys()) endChannel(ch);
  });
  const input = (ch: number): InChannel => ({
    onData: (l) => void of(ch).data.push(l),
    onEnd: (l) => (of(ch).ended ? l() : void of(ch).end.push(l)),
  });
  const output = (ch: number): OutChannel => ({
    write: (d) => {
      if (d.length === 0) return;
      if (base64) ws.send(Buffer.from(`${String.fromCharCode(0x30 + ch)}${d.toString('base64')}`, 'latin1'), false);
      else ws.send(Buffer.concat([Buffer.from([ch]), d]));
    },
    // Only v5 can say that one channel is done; the others end with the connection.
    end: () => {
      if (protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([CHANNEL.close, ch]));
    },
  });
  return {
    protocol,
    stdin: input(CHANNEL.stdin),
    stdout: output(CHANNEL.stdout),
    stderr: output(CHANNEL.stderr),
    error: output(CHANNEL.error),
    resize: input(CHANNEL.resize),
    close: () => ws.close(),
    onClose: (l) => ws.onClose(l),
  };
}
