// What the CRI tests talk with: a gRPC client built from the project's own
// protos (what any CRI client sends), and two small streaming clients
// written here, independently of the server's code: SPDY/3.1 (header
// blocks compressed by zlib with SPDY's dictionary, as Go's client does)
// and WebSocket (masked frames), each speaking the channel protocols.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { constants, createDeflate, createInflate } from 'node:zlib';
import type * as GrpcModule from '@grpc/grpc-js';
import { loadCri } from '../../src/cri/grpc.js';
import { SPDY3_DICTIONARY } from '../../src/cri/streaming/spdy-dictionary.js';
import { foregroundDaemon, type Foreground } from './daemon-harness.js';
import type { TestRoot } from './helpers.js';

export interface CriClient {
  runtime(method: string, req?: object): Promise<Record<string, any>>;
  image(method: string, req?: object): Promise<Record<string, any>>;
  events(): { received: Array<Record<string, any>>; cancel(): void };
  close(): void;
}

/** A client of both services on `socket`; a failed call rejects with its gRPC status code as `code`. */
export function criClient(socket: string): CriClient {
  const cri = loadCri();
  const creds = cri.grpc.credentials.createInsecure();
  const rt = new cri.RuntimeServiceClient(`unix://${socket}`, creds) as unknown as Record<string, Function> & GrpcModule.Client;
  const im = new cri.ImageServiceClient(`unix://${socket}`, creds) as unknown as Record<string, Function> & GrpcModule.Client;
  const call = (client: Record<string, Function>, method: string, req: object): Promise<Record<string, any>> =>
    new Promise((resolve, reject) => {
      const fn = client[method];
      if (!fn) throw new Error(`no method ${method}`);
      fn.call(client, req, { deadline: Date.now() + 60_000 }, (err: Error | null, reply: Record<string, any>) => (err ? reject(err) : resolve(reply)));
    });
  return {
    runtime: (method, req = {}) => call(rt, method, req),
    image: (method, req = {}) => call(im, method, req),
    events: () => {
      const received: Array<Record<string, any>> = [];
      const stream = (rt.GetContainerEvents as Function).call(rt, {}) as GrpcModule.ClientReadableStream<Record<string, any>>;
      stream.on('data', (e: Record<string, any>) => received.push(e));
      stream.on('error', () => undefined);
      return { received, cancel: () => stream.cancel() };
    },
    close: () => {
      rt.close();
      im.close();
    },
  };
}

function upgrade(url: string, headers: Record<string, string>): Promise<{ socket: Socket; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { Connection: 'Upgrade', ...headers } });
    req.on('upgrade', (res, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve({ socket, headers: res.headers });
    });
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Every sandbox the CRI on `socket` lists, removed (RemovePodSandbox stops it first). */
export async function removeEverySandbox(socket: string): Promise<void> {
  const c = criClient(socket);
  try {
    for (const s of (await c.runtime('ListPodSandbox')).items as Array<{ id: string }>) await c.runtime('RemovePodSandbox', { podSandboxId: s.id });
  } finally {
    c.close();
  }
}

export interface CriDaemon {
  daemon: Foreground;
  socket: string;
  cri: CriClient;
}

/**
 * `peapod daemon` in the foreground (as systemd runs it; or `argv`, e.g.
 * `peapod cri` with its flags), serving the CRI on `socket`, and a client of
 * it. Registered on the root, before the leak check: every sandbox it still
 * holds removed, then the daemon stopped.
 */
export async function criDaemon(root: TestRoot, env: NodeJS.ProcessEnv = {}, argv: readonly string[] = ['daemon'], socket = `${root.dir}/cri.sock`): Promise<CriDaemon> {
  const daemon = await foregroundDaemon(root, env, argv);
  root.stops.push(async () => {
    // `peapod daemon` exits by itself once its daemon was killed: that one has nothing left to remove.
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) await removeEverySandbox(socket).catch(() => undefined);
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });
  if (!daemon.output().includes(`serving the CRI (runtime.v1) on unix://${socket}`)) throw new Error(`the daemon does not say it serves the CRI on ${socket}:\n${daemon.output()}`);
  return { daemon, socket, cri: criClient(socket) };
}

/** A test's cgroup parent, empty by now, removed from every hierarchy. */
export function removeCgroupParent(name: string): void {
  for (const h of readdirSync('/sys/fs/cgroup')) {
    try {
      rmdirSync(join('/sys/fs/cgroup', h, name));
    } catch {
      // Not in this hierarchy.
    }
  }
}

/** The pod cgroups still under a test's cgroup parent, in any hierarchy. */
export function podCgroupsLeft(name: string): string[] {
  return readdirSync('/sys/fs/cgroup').flatMap((h) => {
    const dir = join('/sys/fs/cgroup', h, name);
    return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('pod')).map((n) => join(dir, n)) : [];
  });
}

export interface SpdyClient {
  protocol: string;
  /** Opens a stream (SYN_STREAM) and waits for its SYN_REPLY. */
  open(headers: Record<string, string>): Promise<number>;
  send(id: number, data: Buffer | string, fin?: boolean): void;
  /** What the server sent on a stream so far. */
  received(id: number): Buffer;
  /** Resolves when the server half-closed the stream (FIN). */
  ended(id: number): Promise<void>;
  closed: Promise<void>;
  destroy(): void;
}

/** An SPDY/3.1 client of the streaming server (the client's side of what crictl speaks). */
export async function spdyConnect(url: string, protocols: string[]): Promise<SpdyClient> {
  const { socket, headers } = await upgrade(url, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols.join(', ') });
  const deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });
  const inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  const out: Buffer[] = [];
  deflate.on('data', (d: Buffer) => out.push(d));
  inflate.on('data', () => undefined);
  const data = new Map<number, Buffer[]>();
  const fins = new Map<number, () => void>();
  const finished = new Set<number>();
  const replies = new Map<number, () => void>();
  let next = 1;
  let buffer = Buffer.alloc(0);
  let queue = Promise.resolve();
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  const fin = (id: number): void => {
    finished.add(id);
    fins.get(id)?.();
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 8) {
      const length = buffer.readUIntBE(5, 3);
      if (buffer.length < 8 + length) break;
      const frame = buffer.subarray(0, 8 + length);
      buffer = buffer.subarray(8 + length);
      queue = queue.then(async () => {
        const flags = frame[4] as number;
        if ((frame[0] as number) & 0x80) {
          const type = frame.readUInt16BE(2);
          const id = frame.readUInt32BE(8) & 0x7fffffff;
          if (type === 2) {
            // SYN_REPLY: its header block keeps the inflater in step.
            await new Promise<void>((r) => {
              inflate.write(frame.subarray(12));
              inflate.flush(constants.Z_SYNC_FLUSH, () => r());
            });
            replies.get(id)?.();
            if (flags & 1) fin(id);
          } else if (type === 3) {
            fin(id);
          }
          return;
        }
        const id = frame.readUInt32BE(0);
        const list = data.get(id) ?? [];
        list.push(Buffer.from(frame.subarray(8)));
        data.set(id, list);
        if (flags & 1) fin(id);
      });
    }
  });
  socket.on('error', () => undefined);
  const block = async (h: Record<string, string>): Promise<Buffer> => {
    const entries = Object.entries(h);
    const parts = [Buffer.alloc(4)];
    (parts[0] as Buffer).writeUInt32BE(entries.length);
    for (const [k, v] of entries) {
      const kb = Buffer.from(k.toLowerCase());
      const vb = Buffer.from(v);
      const kl = Buffer.alloc(4);
      kl.writeUInt32BE(kb.length);
      const vl = Buffer.alloc(4);
      vl.writeUInt32BE(vb.length);
      parts.push(kl, kb, vl, vb);
    }
    deflate.write(Buffer.concat(parts));
    await new Promise<void>((r) => deflate.flush(constants.Z_SYNC_FLUSH, () => r()));
    return Buffer.concat(out.splice(0));
  };
  return {
    protocol: String(headers['x-stream-protocol-version'] ?? ''),
    open: async (h) => {
      const id = next;
      next += 2;
      const hb = await block(h);
      const head = Buffer.alloc(18);
      head.writeUInt16BE(0x8003, 0);
      head.writeUInt16BE(1, 2);
      head.writeUInt32BE(10 + hb.length, 4);
      head.writeUInt32BE(id, 8);
      const replied = new Promise<void>((r) => replies.set(id, r));
      socket.write(Buffer.concat([head, hb]));
      await replied;
      return id;
    },
    send: (id, d, end = false) => {
      const payload = Buffer.from(d);
      const head = Buffer.alloc(8);
      head.writeUInt32BE(id, 0);
      head.writeUInt32BE(payload.length, 4);
      head[4] = end ? 1 : 0;
      socket.write(Buffer.concat([head, payload]));
    },
    received: (id) => Buffer.concat(data.get(id) ?? []),
    ended: (id) => (finished.has(id) ? Promise.resolve() : new Promise<void>((r) => fins.set(id, r))),
    closed,
    destroy: () => socket.destroy(),
  };
}

export interface WsClient {
  protocol: string;
  /** Messages by channel, the channel byte taken off. */
  received(channel: number): Buffer;
  send(channel: number, data: Buffer | string): void;
  closed: Promise<void>;
  destroy(): void;
}

/** A WebSocket client of the channel protocols (binary): masked frames out, channel bytes in. */
export async function wsConnect(url: string, protocols: string[]): Promise<WsClient> {
  const key = randomBytes(16).toString('base64');
  const { socket, headers } = await upgrade(url, { Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Protocol': protocols.join(', ') });
  const channels = new Map<number, Buffer[]>();
  let buffer = Buffer.alloc(0);
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      let length = (buffer[1] as number) & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (buffer.length < at + length) return;
      const op = (buffer[0] as number) & 0x0f;
      const payload = buffer.subarray(at, at + length);
      buffer = buffer.subarray(at + length);
      if (op === 2 && payload.length > 0) {
        const list = channels.get(payload[0] as number) ?? [];
        list.push(Buffer.from(payload.subarray(1)));
        channels.set(payload[0] as number, list);
      }
    }
  });
  socket.on('error', () => undefined);
  const frame = (op: number, payload: Buffer): void => {
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i & 3] as number)));
    const head = payload.length < 126 ? Buffer.from([0x80 | op, 0x80 | payload.length]) : Buffer.from([0x80 | op, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    socket.write(Buffer.concat([head, mask, masked]));
  };
  return {
    protocol: String(headers['sec-websocket-protocol'] ?? ''),
    received: (ch) => Buffer.concat(channels.get(ch) ?? []),
    send: (ch, d) => frame(2, Buffer.concat([Buffer.from([ch]), Buffer.from(d)])),
    closed,
    destroy: () => socket.destroy(),
  };
}
