// Digests: every manifest, config and layer is checked against the digest
// that named it before it is used. Layers are stored by chain ID, which
// names a layer together with everything below it (the OCI image spec's
// ChainID: sha256 of "parent-chain diffID").
import { createHash, type Hash } from 'node:crypto';

export class DigestError extends Error {
  override name = 'DigestError';
}

export function algorithmOf(digest: string): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function hasher(digest: string): Hash {
  return createHash(algorithmOf(digest));
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/** Throws unless `data` has `digest` (and `size`, when given). */
export function verifyBytes(data: Buffer, digest: string, what: string, size?: number): void {
  if (size !== undefined && data.length !== size) throw new DigestError(`${what}: ${data.length} bytes, but its descriptor says ${size}`);
  const got = `${algorithmOf(digest)}:${hasher(digest).update(data).digest('hex')}`;
  if (got !== digest) throw new DigestError(`${what}: digest mismatch: expected ${digest}, got ${got}`);
}

/** The chain IDs of a stack of diffIDs, bottom first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const parent = out[out.length - 1];
    out.push(parent === undefined ? d : sha256(`${parent} ${d}`));
  }
  return out;
}
