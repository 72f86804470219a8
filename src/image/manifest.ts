// The documents of an image, OCI's and Docker's: an index (manifest list)
// picks a manifest per platform; a manifest names a config and layers by
// digest; the config holds the runtime settings and the layers' diffIDs.
// Each is checked for shape here, before anything is fetched on its word.
import { arch as hostArch } from 'node:os';
import { isDigest } from './reference.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** What a pull asks for: without the index type a registry answers 404 for an index; without schema 2 it rewrites to schema 1. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ');

export const MANIFEST_LIMIT = 4 * 1024 * 1024;
export const CONFIG_LIMIT = 8 * 1024 * 1024;

export type Compression = 'gzip' | 'zstd' | 'none';

const LAYER_TYPES: Record<string, Compression> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
};

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface IndexDoc {
  kind: 'index';
  manifests: Descriptor[];
}

export interface ManifestDoc {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Array<Descriptor & { compression: Compression }>;
}

/** The part of an image config (OCI / Docker) that runs a container. */
export interface ImageConfigDoc {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    StopSignal?: string;
    ExposedPorts?: Record<string, unknown> | null;
    Labels?: Record<string, string> | null;
  };
  rootfs: { type: string; diff_ids: string[] };
}

function descriptor(v: unknown, where: string): Descriptor {
  const d = v as Partial<Descriptor> | null;
  if (!d || typeof d !== 'object') throw new ManifestError(`${where} is not a descriptor`);
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) throw new ManifestError(`${where}.digest ${JSON.stringify(d.digest)} is not a sha256/sha512 digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new ManifestError(`${where}.size must be a byte count`);
  return { mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', digest: d.digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}), ...(d.annotations ? { annotations: d.annotations } : {}) };
}

/** Parses a manifest or index; `contentType` is the registry's (a document may also say its own mediaType). */
export function parseManifest(body: Buffer, contentType: string | undefined): IndexDoc | ManifestDoc {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ManifestError(`the manifest is not JSON: ${(err as Error).message}`);
  }
  const type = (typeof doc.mediaType === 'string' && doc.mediaType) || (contentType ?? '').split(';')[0]?.trim() || '';
  if (type === MEDIA.dockerSchema1 || type === MEDIA.dockerSchema1Signed || doc.schemaVersion === 1) {
    throw new ManifestError('the registry sent a Docker schema 1 manifest, which peapod does not read (push the image again with a current tool)');
  }
  if (type === MEDIA.ociIndex || type === MEDIA.dockerList || (type === '' && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) throw new ManifestError('the index has no manifests list');
    return { kind: 'index', manifests: doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`)) };
  }
  if (type === MEDIA.ociManifest || type === MEDIA.dockerManifest || (type === '' && doc.config !== undefined)) {
    if (!Array.isArray(doc.layers)) throw new ManifestError('the manifest has no layers list');
    const layers = doc.layers.map((l, i) => {
      const d = descriptor(l, `layers[${i}]`);
      const compression = LAYER_TYPES[d.mediaType];
      if (compression === undefined) throw new ManifestError(`layers[${i}] has media type "${d.mediaType}", which is not a layer peapod can unpack (tar, tar+gzip, tar+zstd)`);
      return { ...d, compression };
    });
    return { kind: 'manifest', mediaType: type || MEDIA.ociManifest, config: descriptor(doc.config, 'config'), layers };
  }
  throw new ManifestError(`unknown manifest media type "${type}"`);
}

export function parseConfig(body: Buffer): ImageConfigDoc {
  let doc: ImageConfigDoc;
  try {
    doc = JSON.parse(body.toString('utf8')) as ImageConfigDoc;
  } catch (err) {
    throw new ManifestError(`the image config is not JSON: ${(err as Error).message}`);
  }
  const ids = doc?.rootfs?.diff_ids;
  if (!Array.isArray(ids) || ids.some((d) => typeof d !== 'string' || !isDigest(d))) {
    throw new ManifestError('the image config has no valid rootfs.diff_ids');
  }
  return doc;
}

/** This machine, as image platforms name it (Go's GOARCH words). */
export function hostPlatform(): Platform {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips64el: 'mips64le' };
  const architecture = map[hostArch()] ?? hostArch();
  if (architecture === 'arm') {
    const v = (process.config.variables as { arm_version?: string }).arm_version;
    return { os: 'linux', architecture, variant: `v${v ?? '7'}` };
  }
  return { os: 'linux', architecture, ...(architecture === 'arm64' ? { variant: 'v8' } : {}) };
}

export function formatPlatform(p: Partial<Platform> | undefined): string {
  if (!p) return 'unknown';
  return [p.os ?? '?', p.architecture ?? '?', ...(p.variant ? [p.variant] : [])].join('/');
}

/** arm64 without a variant is v8; amd64's variants are levels this machine may not have: take none first. */
function variantScore(want: Platform, got: Platform): number {
  if (want.variant === got.variant) return 2;
  if (want.architecture === 'arm64' && (got.variant ?? 'v8') === (want.variant ?? 'v8')) return 2;
  if (got.variant === undefined || got.variant === '') return 1;
  if (want.architecture === 'arm' && want.variant && got.variant && got.variant < want.variant) return 0.5;
  return -1;
}

/** The index entry for `want` (containerd's matcher in spirit: same os and architecture, the closest variant). */
export function selectPlatform(index: IndexDoc, want: Platform = hostPlatform()): Descriptor {
  let best: { score: number; d: Descriptor } | undefined;
  for (const d of index.manifests) {
    const p = d.platform;
    if (!p || p.os !== want.os || p.architecture !== want.architecture) continue;
    const score = variantScore(want, p);
    if (score >= 0 && (!best || score > best.score)) best = { score, d };
  }
  if (best) return best.d;
  const offered = [...new Set(index.manifests.filter((d) => d.platform).map((d) => formatPlatform(d.platform)))];
  throw new ManifestError(`no manifest for ${formatPlatform(want)} in the index (it has ${offered.length > 0 ? offered.join(', ') : 'no platforms'})`);
}

/** A single manifest's config says what it was built for: refuse another machine's. */
export function checkConfigPlatform(config: ImageConfigDoc, want: Platform = hostPlatform()): void {
  if (config.architecture === undefined || config.architecture === '') return;
  const os = config.os || 'linux';
  if (os !== want.os || config.architecture !== want.architecture) {
    throw new ManifestError(`the image is for ${formatPlatform({ os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) })} only, and this machine is ${formatPlatform(want)}`);
  }
}
