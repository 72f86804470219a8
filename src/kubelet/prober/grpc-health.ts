// The standard gRPC health check, grpc.health.v1.Health/Check, as the
// kubelet's grpc probe calls it: plaintext HTTP/2 over a socket made in the
// pod, one unary call with HealthCheckRequest{service}, SERVING or not. The
// two messages are one field each, so they are encoded here by hand rather
// than with a gRPC library.
import http2 from 'node:http2';
import type { Socket } from 'node:net';

/** grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** gRPC status codes, named as grpc-go names them in its errors. */
const CODES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];
const UNIMPLEMENTED = 12;

export type HealthAnswer = { status: string } | { code: number; message: string } | { error: string; connected: boolean };

/** A length-prefixed gRPC message holding HealthCheckRequest{service: 1}. */
export function encodeRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const body = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** HealthCheckResponse.status (field 1, varint) from a length-prefixed message; 0 (UNKNOWN) when absent. */
export function decodeStatus(frame: Buffer): number {
  if (frame.length < 5) throw new Error('a gRPC message shorter than its 5-byte prefix');
  if (frame[0] !== 0) throw new Error('a compressed gRPC message (none was asked for)');
  const body = frame.subarray(5, 5 + frame.readUInt32BE(1));
  let status = 0;
  for (let i = 0; i < body.length; ) {
    const [key, next] = readVarint(body, i);
    const wire = key & 7;
    i = next;
    if (wire === 0) {
      const [value, after] = readVarint(body, i);
      if (key >> 3 === 1) status = value;
      i = after;
    } else if (wire === 2) {
      const [len, after] = readVarint(body, i);
      i = after + len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`a HealthCheckResponse with wire type ${wire}`);
  }
  return status;
}

function readVarint(b: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    const byte = b[i] as number;
    value += (byte & 0x7f) * shift;
    shift *= 128;
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  throw new Error('a truncated varint in a HealthCheckResponse');
}

export function codeName(code: number): string {
  return CODES[code] ?? `Code(${code})`;
}

/** One Check call on a connection `connect` makes; everything within `timeoutMs`. */
export function checkHealth(connect: () => Socket, authority: string, service: string, timeoutMs: number, abort?: AbortSignal): Promise<HealthAnswer> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const session = http2.connect(`http://${authority}`, { createConnection: () => connect().once('connect', () => (connected = true)) });
    const done = (answer: HealthAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done({ error: `timed out after ${timeoutMs / 1000}s`, connected }), timeoutMs);
    abort?.addEventListener('abort', () => done({ error: 'stopped: the container is being killed', connected }), { once: true });
    session.on('error', (err) => done({ error: err.message, connected }));
    const req = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'kube-probe/peapod',
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) grpcMessage = decodeURIComponent(String(h['grpc-message']));
    };
    req.on('response', (h) => {
      const status = Number(h[':status']);
      if (status !== 200) done({ code: 2, message: `unexpected HTTP status code received from server: ${status}` });
      take(h);
    });
    req.on('trailers', take);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (err) => done({ error: err.message, connected }));
    req.on('end', () => {
      const code = Number(grpcStatus ?? 2);
      if (code !== 0) return done({ code, message: grpcMessage });
      try {
        const n = decodeStatus(Buffer.concat(chunks));
        done({ status: SERVING_STATUS[n] ?? String(n) });
      } catch (err) {
        done({ code: 13, message: (err as Error).message });
      }
    });
    req.end(encodeRequest(service));
  });
}

/** The kubelet's words for an answer: success only for SERVING. */
export function healthOutcome(a: HealthAnswer, authority: string, timeoutMs: number): { ok: boolean; output: string } {
  if ('status' in a) return a.status === 'SERVING' ? { ok: true, output: 'service is serving' } : { ok: false, output: `service unhealthy (responded with "${a.status}")` };
  if ('code' in a) {
    if (a.code === UNIMPLEMENTED) return { ok: false, output: `server does not implement the grpc health protocol (grpc.health.v1.Health): ${a.message}` };
    return { ok: false, output: `rpc error: code = ${codeName(a.code)} desc = ${a.message}` };
  }
  if (!a.connected) return { ok: false, output: `timeout: failed to connect service "${authority}" within ${timeoutMs / 1000}s: ${a.error}` };
  return { ok: false, output: `timeout: health rpc did not complete within ${timeoutMs / 1000}s: ${a.error}` };
}
