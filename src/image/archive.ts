// `peapod load`: images from files, as `docker load` and `podman load` take
// them: a `docker save` archive (manifest.json, a config and layer.tar per
// layer), an OCI archive (a tar of an OCI layout, as `skopeo copy
// oci-archive:` writes), or an OCI layout directory. An archive is first
// unpacked, with the layer extractor's safety, into a private staging
// directory; every blob is checked against its digest and every layer
// against its diffID before anything is stored.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { decompress, sniffCompression } from './decompress.js';
import { chainIds, hexOf, verifyBytes } from './digest.js';
import { applyLayer } from './extract.js';
import { StoreLayout, type ImageRecord } from './layout.js';
import { CONFIG_LIMIT, hostPlatform, MANIFEST_LIMIT, parseConfig, parseManifest, selectPlatform, type Compression, type ManifestDoc } from './manifest.js';
import { normalize, refKey, withDefaultTag } from './reference.js';
import { unpackLayer } from './unpack.js';

export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

export interface LoadedImage {
  id: string;
  names: string[];
  layers: number;
}

function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function readLimited(path: string, limit: number, what: string): Buffer {
  const size = statSync(path).size;
  if (size > limit) throw new ArchiveError(`${what} is ${size} bytes, over the limit of ${limit}`);
  return readFileSync(path);
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * The store's layers for `diffIds`, unpacking from `layerFile(i)` those it
 * lacks, then `save` (the image record) while a lease keeps them from prune.
 */
async function storeLayers(
  layout: StoreLayout,
  diffIds: string[],
  layerFile: (i: number) => { path: string; compression?: Compression; digest?: string },
  save: (chains: string[]) => void,
): Promise<string[]> {
  const chains = chainIds(diffIds);
  const release = layout.lease(chains);
  try {
    await unpackMissing(layout, chains, diffIds, layerFile);
    save(chains);
  } finally {
    release();
  }
  return chains;
}

async function unpackMissing(layout: StoreLayout, chains: string[], diffIds: string[], layerFile: (i: number) => { path: string; compression?: Compression; digest?: string }): Promise<void> {
  for (let i = 0; i < chains.length; i++) {
    const chainId = chains[i] as string;
    if (layout.layer(chainId)) continue;
    const { path, compression, digest } = layerFile(i);
    if (!existsSync(path)) throw new ArchiveError(`layer ${i + 1} (${basename(path)}) is missing from the archive`);
    if (digest && (await fileDigest(path)) !== digest) throw new ArchiveError(`layer ${digest}: digest mismatch in the archive`);
    const parent = i > 0 ? chains[i - 1] : undefined;
    await unpackLayer(layout, { chainId, diffId: diffIds[i] as string, ...(parent ? { parent } : {}), ...(digest ? { blob: digest } : {}) }, createReadStream(path), compression ?? sniffCompression(head(path, 4)), `layer ${i + 1} of the archive`);
  }
}

function saveImage(layout: StoreLayout, id: string, configBytes: Buffer, chains: string[], created: string | undefined, manifest?: { digest: string; mediaType: string }): ImageRecord {
  layout.writeBlob(id, configBytes);
  const record: ImageRecord = {
    id,
    layers: chains,
    ...(manifest ? { manifest } : {}),
    size: chains.reduce((n, c) => n + (layout.layer(c)?.size ?? 0), 0),
    ...(created ? { created } : {}),
    storedAt: new Date().toISOString(),
  };
  layout.saveImage(record);
  return record;
}

/** A name from an archive ("nginx:latest", "docker.io/x/y:1"), or from a bare tag and the file's name. */
function nameFor(text: string | undefined, file: string): string | undefined {
  if (!text) return undefined;
  try {
    if (!text.includes('/') && !text.includes(':') && !text.includes('@')) {
      // A bare tag (skopeo's oci-archive:FILE:TAG): localhost/<file>:<tag>, as podman names it.
      const repo = basename(file).replace(/\.(tar|tgz|tar\.gz|oci)$/, '').toLowerCase().replace(/[^a-z0-9._-]/g, '-');
      return refKey(withDefaultTag(normalize(`localhost/${repo}:${text}`)));
    }
    return refKey(withDefaultTag(normalize(text)));
  } catch {
    return undefined;
  }
}

async function loadDocker(layout: StoreLayout, dir: string, file: string): Promise<LoadedImage[]> {
  const entries = JSON.parse(readLimited(join(dir, 'manifest.json'), MANIFEST_LIMIT, 'manifest.json').toString('utf8')) as Array<{ Config: string; RepoTags?: string[] | null; Layers: string[] }>;
  if (!Array.isArray(entries)) throw new ArchiveError('manifest.json is not a list of images');
  const out: LoadedImage[] = [];
  for (const e of entries) {
    const configBytes = readLimited(join(dir, e.Config), CONFIG_LIMIT, `config ${e.Config}`);
    const id = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
    // A docker save names its config by its digest: check it when it does.
    const named = /([a-f0-9]{64})(\.json)?$/.exec(e.Config)?.[1];
    if (named && `sha256:${named}` !== id) throw new ArchiveError(`config ${e.Config}: digest mismatch`);
    const config = parseConfig(configBytes);
    if (config.rootfs.diff_ids.length !== e.Layers.length) throw new ArchiveError(`${e.Config} lists ${config.rootfs.diff_ids.length} diff_ids for ${e.Layers.length} layers`);
    const chains = await storeLayers(layout, config.rootfs.diff_ids, (i) => ({ path: join(dir, e.Layers[i] as string) }), (c) => saveImage(layout, id, configBytes, c, config.created));
    const names = (e.RepoTags ?? []).flatMap((t) => nameFor(t, file) ?? []);
    for (const n of names) layout.setRef(n, id);
    out.push({ id, names, layers: chains.length });
  }
  return out;
}

async function loadOciLayout(layout: StoreLayout, dir: string, file: string): Promise<LoadedImage[]> {
  const blob = (digest: string, limit: number, what: string): Buffer => {
    const bytes = readLimited(join(dir, 'blobs', 'sha256', hexOf(digest)), limit, what);
    verifyBytes(bytes, digest, what);
    return bytes;
  };
  const index = parseManifest(readLimited(join(dir, 'index.json'), MANIFEST_LIMIT, 'index.json'), 'application/vnd.oci.image.index.v1+json');
  if (index.kind !== 'index') throw new ArchiveError('index.json is not an OCI index');
  const out: LoadedImage[] = [];
  for (const top of index.manifests) {
    let desc = top;
    let doc = parseManifest(blob(desc.digest, MANIFEST_LIMIT, `manifest ${desc.digest}`), desc.mediaType);
    if (doc.kind === 'index') {
      desc = selectPlatform(doc, hostPlatform());
      doc = parseManifest(blob(desc.digest, MANIFEST_LIMIT, `manifest ${desc.digest}`), desc.mediaType);
    }
    if (doc.kind !== 'manifest') throw new ArchiveError(`${desc.digest}: an index inside an index`);
    const manifest: ManifestDoc = doc;
    const configBytes = blob(manifest.config.digest, CONFIG_LIMIT, 'the image config');
    const config = parseConfig(configBytes);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) throw new ArchiveError(`the manifest has ${manifest.layers.length} layers and the config ${config.rootfs.diff_ids.length} diff_ids`);
    const id = manifest.config.digest;
    const chains = await storeLayers(
      layout,
      config.rootfs.diff_ids,
      (i) => {
        const l = manifest.layers[i] as ManifestDoc['layers'][number];
        return { path: join(dir, 'blobs', 'sha256', hexOf(l.digest)), compression: l.compression, digest: l.digest };
      },
      (c) => saveImage(layout, id, configBytes, c, config.created, { digest: desc.digest, mediaType: manifest.mediaType }),
    );
    const annotations = top.annotations ?? {};
    const names = [nameFor(annotations['io.containerd.image.name'] ?? annotations['org.opencontainers.image.ref.name'], file)].flatMap((n) => n ?? []);
    for (const n of names) layout.setRef(n, id);
    out.push({ id, names, layers: chains.length });
  }
  return out;
}

/** Loads every image of `file` (an archive, or an OCI layout directory) into the store. */
export async function loadArchive(storeDir: string, file: string): Promise<LoadedImage[]> {
  const layout = new StoreLayout(storeDir);
  layout.init();
  if (!existsSync(file)) throw new ArchiveError(`${file} does not exist`);
  if (statSync(file).isDirectory()) {
    if (!existsSync(join(file, 'index.json'))) throw new ArchiveError(`${file} is a directory without index.json: not an OCI layout`);
    return loadOciLayout(layout, file, file);
  }
  const staging = layout.staging('load');
  try {
    try {
      await applyLayer(staging, decompress(createReadStream(file), sniffCompression(head(file, 4))), `archive ${file}`);
    } catch (err) {
      throw new ArchiveError(`${file} is not a tar archive peapod can read: ${(err as Error).message}`);
    }
    if (existsSync(join(staging, 'manifest.json'))) return await loadDocker(layout, staging, file);
    if (existsSync(join(staging, 'index.json'))) return await loadOciLayout(layout, staging, file);
    throw new ArchiveError(`${file} holds neither manifest.json (docker save) nor index.json (an OCI archive)`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
