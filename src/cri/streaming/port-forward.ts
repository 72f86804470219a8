// Port forwarding as the kubelet's streaming server serves it: over SPDY,
// the client opens two streams per connection (`streamType` error and data,
// the same `port` and `requestID`); over WebSocket, one connection per port
// of the URL's query, on channels 2i (data) and 2i+1 (error), each first
// told its port. Each connection is a socket made in the pod's network
// namespace (its localhost: a server bound to 127.0.0.1 in the pod is
// reached), the bytes copied both ways.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { connectInPod } from '../../network/port-forward.js';
import { SpdySession, type SpdyStream } from './spdy.js';
import { WebSocketConnection } from './websocket.js';

export interface ForwardTarget {
  /** The pod's network namespace now. */
  netns(): string;
}

function checkPort(text: string | undefined): number | undefined {
  if (!text || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** One forwarded connection: the pod's socket and the client's two halves. */
function bridge(pod: Socket, toClient: (d: Buffer) => void, endClient: () => void, fromClient: { onData(l: (d: Buffer) => void): void; onEnd(l: () => void): void }): void {
  pod.on('data', (d: Buffer) => toClient(d));
  pod.on('end', () => endClient());
  pod.on('error', () => endClient());
  pod.on('close', () => endClient());
  fromClient.onData((d) => void pod.write(d));
  fromClient.onEnd(() => pod.end());
}

/** SPDY: pairs streams by requestID and forwards each pair. */
export function servePortForwardSpdy(socket: Socket, target: ForwardTarget): void {
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  const session = new SpdySession(socket, (stream) => {
    const type = stream.headers.get('streamtype');
    const id = stream.headers.get('requestid') ?? stream.headers.get('port') ?? '';
    if (type !== 'error' && type !== 'data') {
      stream.reset();
      return;
    }
    const pair = pairs.get(id) ?? {};
    pair[type] = stream;
    pairs.set(id, pair);
    if (pair.error && pair.data) {
      pairs.delete(id);
      void forward(pair.data, pair.error);
    }
  });
  const forward = async (data: SpdyStream, error: SpdyStream): Promise<void> => {
    const port = checkPort(data.headers.get('port'));
    const fail = (message: string): void => {
      error.write(Buffer.from(message));
      error.end();
      data.end();
    };
    if (port === undefined) return fail(`invalid port ${JSON.stringify(data.headers.get('port') ?? '')}`);
    let pod: Socket;
    try {
      pod = await connectInPod(target.netns(), port);
    } catch (err) {
      return fail(`failed to connect to localhost:${port} inside the pod's network namespace: ${(err as Error).message}`);
    }
    session.onClose(() => pod.destroy());
    let ended = false;
    bridge(
      pod,
      (d) => data.write(d),
      () => {
        if (ended) return;
        ended = true;
        data.end();
        error.end();
      },
      data,
    );
  };
}

/** WebSocket (v4.channel.k8s.io and its base64 form): the ports of the query, each its two channels. */
export function servePortForwardWebSocket(req: IncomingMessage, socket: Socket, head: Buffer, target: ForwardTarget, protocol: string): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const ports = url.searchParams.getAll('port').map((p) => checkPort(p));
  const ws = WebSocketConnection.accept(req, socket, head, protocol || undefined);
  const base64 = protocol.includes('base64');
  const send = (ch: number, d: Buffer): void => {
    if (base64) ws.send(Buffer.from(`${String.fromCharCode(0x30 + ch)}${d.toString('base64')}`, 'latin1'), false);
    else ws.send(Buffer.concat([Buffer.from([ch]), d]));
  };
  if (ports.length === 0 || ports.some((p) => p === undefined)) {
    ws.close(1008, 'give the ports as ?port=N&port=M (1-65535)');
    return;
  }
  const inputs = new Map<number, { data: Array<(d: Buffer) => void>; end: Array<() => void> }>();
  ws.onMessage((message, binary) => {
    if (message.length === 0) return;
    const ch = base64 && !binary ? (message[0] as number) - 0x30 : (message[0] as number);
    const data = base64 && !binary ? Buffer.from(message.subarray(1).toString('latin1'), 'base64') : message.subarray(1);
    if (data.length > 0) for (const l of inputs.get(ch)?.data ?? []) l(data);
  });
  ws.onClose(() => {
    for (const i of inputs.values()) for (const l of i.end.splice(0)) l();
  });
  ports.forEach((port, i) => {
    const p = port as number;
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(p);
    send(2 * i, prefix);
    send(2 * i + 1, prefix);
    const input = { data: [] as Array<(d: Buffer) => void>, end: [] as Array<() => void> };
    inputs.set(2 * i, input);
    connectInPod(target.netns(), p).then(
      (pod) => {
        ws.onClose(() => pod.destroy());
        bridge(
          pod,
          (d) => send(2 * i, d),
          () => undefined,
          { onData: (l) => void input.data.push(l), onEnd: (l) => void input.end.push(l) },
        );
      },
      (err: Error) => send(2 * i + 1, Buffer.from(`failed to connect to localhost:${p} inside the pod's network namespace: ${err.message}`)),
    );
  });
}
