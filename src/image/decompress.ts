// A layer's bytes, uncompressed: gzip with Node's zlib, zstd with Node's
// zlib where it has it (22.15+) and the pure-JS fzstd otherwise (Node 20).
import { Readable, Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress as ZstdStream } from 'fzstd';
import type { Compression } from './manifest.js';

/** What the first bytes say, for archives whose media types are not trusted to be exact. */
export function sniffCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

function zstdTransform(): Transform {
  const native = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (native) return native();
  let push: (chunk: Uint8Array) => void = () => undefined;
  const decoder = new ZstdStream((chunk) => push(chunk));
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      push = (c) => this.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      try {
        decoder.push(chunk);
        done();
      } catch (err) {
        done(new Error(`zstd: ${(err as Error).message}`));
      }
    },
    flush(done) {
      push = (c) => this.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (err) {
        done(new Error(`zstd: the stream ends early (${(err as Error).message})`));
      }
    },
  });
}

export function decompress(input: Readable, compression: Compression): Readable {
  if (compression === 'none') return input;
  const t = compression === 'gzip' ? zlib.createGunzip() : zstdTransform();
  input.on('error', (err) => t.destroy(err));
  input.on('close', () => {
    if (!input.readableEnded) t.destroy(new Error('the layer stream was cut short'));
  });
  return input.pipe(t);
}
