// The supervisor's control channel: a unix socket in the pod's state
// directory through which any peapod process asks for a graceful delete.
// One JSON line per request; the reply is `{"accepted":true}`, then, when
// the pod is gone, `{"done":true,...}`.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { makeOwnDir, MODE, withUmaskFor } from '../runtime/modes.js';
import type { PodPaths } from '../runtime/paths.js';

export interface DeleteRequest {
  op: 'delete';
  gracePeriodSeconds?: number;
  force?: boolean;
}

export interface DoneReply {
  done: true;
  phase: string;
  exitCode: number;
}

/** A unix socket path must fit in 108 bytes: long ones move to a short name hashed from where they would be. */
export function shortSocketPath(path: string, stateRoot: string): string {
  if (Buffer.byteLength(path) < 100) return path;
  const name = `${createHash('sha256').update(dirname(path)).digest('hex').slice(0, 16)}.sock`;
  const short = join(stateRoot, 'sockets', name);
  // Last, a directory of root's own in the temporary directory (made root's alone before use).
  return Buffer.byteLength(short) < 100 ? short : join(tmpdir(), `peapod-${process.getuid?.() ?? 0}`, name);
}

export function controlSocketPath(pp: PodPaths, stateRoot: string): string {
  return shortSocketPath(join(pp.state, 'control.sock'), stateRoot);
}

export interface ControlTarget {
  stop(request: { gracePeriodSeconds?: number; force?: boolean }): Promise<{ exitCode: number; status: { phase: string } }>;
}

export function serveControl(path: string, target: ControlTarget): Server {
  const server = createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      let request: DeleteRequest;
      try {
        request = JSON.parse(buffer.slice(0, nl)) as DeleteRequest;
      } catch {
        socket.end(`${JSON.stringify({ error: 'malformed request' })}\n`);
        return;
      }
      if (request.op !== 'delete') {
        socket.end(`${JSON.stringify({ error: `unknown op ${String(request.op)}` })}\n`);
        return;
      }
      socket.write(`${JSON.stringify({ accepted: true })}\n`);
      const stop: { gracePeriodSeconds?: number; force?: boolean } = {};
      if (request.gracePeriodSeconds !== undefined) stop.gracePeriodSeconds = request.gracePeriodSeconds;
      if (request.force) stop.force = true;
      void target.stop(stop).then((result) => {
        const reply: DoneReply = { done: true, phase: result.status.phase, exitCode: result.exitCode };
        if (!socket.destroyed) socket.end(`${JSON.stringify(reply)}\n`);
      });
    });
  });
  // Without its control channel the pod still runs (and Ctrl-C still stops it): say so, carry on.
  const warn = (err: Error): boolean => process.stderr.write(`peapod: control socket ${path}: ${err.message}; delete from another terminal will not reach this pod\n`);
  server.on('error', warn);
  try {
    // Root's alone, whatever directory it is in: only root may ask for a delete.
    makeOwnDir(dirname(path), MODE.rootDir);
    rmSync(path, { force: true });
    withUmaskFor(MODE.socket, () => server.listen(path));
  } catch (err) {
    warn(err as Error);
  }
  // The control channel alone must not keep a finished supervisor alive.
  server.unref();
  return server;
}

/**
 * The supervisor could not be reached, or went away before it said the pod
 * was gone: whether the pod was deleted is for the kernel to say, not this
 * channel (the caller looks, and reclaims what is left).
 */
export class SupervisorGoneError extends Error {
  override name = 'SupervisorGoneError';
  constructor(
    message: string,
    /** The supervisor had accepted the delete before it went. */
    readonly accepted: boolean,
  ) {
    super(message);
  }
}

/** Sends a delete; resolves on `accepted` (wait=false) or when the pod is gone. */
export function requestDelete(path: string, request: Omit<DeleteRequest, 'op'>, wait: boolean): Promise<DoneReply | { accepted: true }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    let accepted = false;
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ op: 'delete', ...request })}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        let reply: { accepted?: true; done?: true; error?: string };
        try {
          reply = JSON.parse(buffer.slice(0, nl)) as typeof reply;
        } catch {
          socket.destroy();
          return reject(new Error(`the pod's supervisor answered something that is not JSON on ${path}`));
        }
        buffer = buffer.slice(nl + 1);
        if (reply.error) return reject(new Error(`the supervisor refused: ${reply.error}`));
        if (reply.accepted) {
          accepted = true;
          if (!wait) {
            socket.destroy();
            return resolve({ accepted: true });
          }
        }
        if (reply.done) {
          socket.destroy();
          return resolve(reply as DoneReply);
        }
      }
    });
    socket.on('error', (err) => reject(new SupervisorGoneError(`cannot reach the pod's supervisor at ${path}: ${err.message}`, accepted)));
    // Closed without "done": the supervisor died (and its pod with it, by PDEATHSIG), or never answered.
    socket.on('close', () =>
      reject(new SupervisorGoneError(accepted ? `the pod's supervisor exited before the pod was gone` : `the pod's supervisor closed ${path} without an answer`, accepted)),
    );
  });
}
