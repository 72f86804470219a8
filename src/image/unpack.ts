// One layer into the store: its (compressed) bytes are unpacked into a
// private staging directory while they arrive; the result becomes
// visible under its chain ID by one rename, only once its diffID is the
// one the image config names (and the caller has checked the blob's
// digest). A failure, or a killed process, leaves nothing visible.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { decompress } from './decompress.js';
import { applyLayer, LayerError } from './extract.js';
import type { StoreLayout } from './layout.js';
import type { Compression } from './manifest.js';

export interface LayerTarget {
  chainId: string;
  diffId: string;
  parent?: string;
  /** The compressed blob's digest, when it came from a registry or an OCI archive. */
  blob?: string;
}

/** Unpacks `input` as the layer `target`; returns the bytes of its files. */
export async function unpackLayer(layout: StoreLayout, target: LayerTarget, input: Readable, compression: Compression, what: string): Promise<number> {
  const staging = layout.staging('layer');
  try {
    const diff = join(staging, 'diff');
    mkdirSync(diff, 0o755);
    const applied = await applyLayer(diff, decompress(input, compression), what);
    if (applied.diffId !== target.diffId) {
      throw new LayerError(`${what}: diffID mismatch: the image config says ${target.diffId}, the layer's tar is ${applied.diffId}`);
    }
    layout.commitLayer(staging, { chainId: target.chainId, diffId: target.diffId, ...(target.parent ? { parent: target.parent } : {}), ...(target.blob ? { blob: target.blob } : {}), size: applied.size, opaque: applied.opaque });
    return applied.size;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
