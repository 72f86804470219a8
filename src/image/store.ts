// The image store, as the runtime and the CLI see it: find an image by
// name, tag, digest or ID (a CRI passes IDs), list them with their
// RepoTags and RepoDigests, remove them, prune what nothing uses. An image
// here is a chain of layer directories; a container's root is an overlay
// of that chain (layout.ts has the files).
//
// Two kinds of image are never pulled: the built-in busybox (builtin.ts),
// and a directory laid out by hand as `<store>/<name>/rootfs` with a
// `config.json` beside it (peapod's first image format, kept working).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FsView } from '../plan/scoped-path.js';
import { BUILTIN_TAG, ensureBuiltin } from './builtin.js';
import { configFromDoc, configFromSimple, type ImageConfig } from './config.js';
import { layeredFs, type LayerView } from './layered-fs.js';
import { StoreLayout, type ImageRecord } from './layout.js';
import { parseConfig } from './manifest.js';
import { asImageId, parseReference, qualify, refKey, withDefaultTag, type Reference } from './reference.js';

export type { ImageConfig } from './config.js';

export class ImageError extends Error {
  override name = 'ImageError';
}

/** An image ready to run: its config, and its layers as overlayfs wants them. */
export interface Image {
  /** The reference the pod (or user) asked for. */
  ref: string;
  /** The image ID: the config's digest (`sha256:...`), or `dir:<path>` for a directory image. */
  id: string;
  /** Where the image lives (the top layer's directory, or the directory image). */
  dir: string;
  /**
   * The image's root for FsView lookups (by convention the top layer's
   * directory): read it through `fs`, which sees the whole chain.
   */
  rootfs: string;
  /** overlayfs lowerdirs, top layer first. */
  layers: string[];
  /** The same layers as short names relative to `linkDir`, for long chains (containerd's compact lowerdir). */
  links?: { dir: string; names: string[] };
  fs: FsView;
  config: ImageConfig;
  /** Bytes on disk. */
  size: number;
  /** name:tag and name@digest that point at it. */
  repoTags: string[];
  repoDigests: string[];
}

/** For the CLI and the CRI: an image as ListImages/ImageStatus describe it. */
export interface ImageSummary {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  created?: string;
  layers: number;
}

/** `busybox` or `busybox:TAG`, written without a registry: the built-in. */
export function isBuiltinName(ref: string): boolean {
  try {
    const p = parseReference(ref);
    return p.domain === undefined && p.path === 'busybox' && p.digest === undefined;
  } catch {
    return false;
  }
}

/** The directory of a hand-made image: `<store>/<name>` for latest, `<name>_<tag>` otherwise. */
export function imageDir(store: string, ref: string): string {
  let rest = ref.trim().replace(/@.*$/, '');
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0] ?? '')) parts.shift();
  if (parts.length > 1 && parts[0] === 'library') parts.shift();
  const base = parts.join('_');
  return join(store, tag === 'latest' ? base : `${base}_${tag}`);
}

/** A hand-made directory image (rootfs/ + config.json), if `ref` names one. */
function directoryImage(store: string, ref: string): Image | undefined {
  if (asImageId(ref)) return undefined;
  // Its ID, `dir:<path>`, names it too (the kubelet asks the runtime by ID); only under this store.
  const byId = ref.startsWith('dir:') ? ref.slice(4) : undefined;
  if (byId !== undefined && dirname(byId) !== store) return undefined;
  const dir = byId ?? imageDir(store, ref);
  const rootfs = join(dir, 'rootfs');
  if (!existsSync(rootfs)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } catch (err) {
    throw new ImageError(`image "${ref}": cannot read ${join(dir, 'config.json')}: ${(err as Error).message}`);
  }
  const layers: LayerView[] = [{ dir: rootfs, opaque: new Set() }];
  return { ref, id: `dir:${dir}`, dir, rootfs, layers: [rootfs], fs: layeredFs(rootfs, layers), config: configFromSimple(raw), size: 0, repoTags: [], repoDigests: [] };
}

/** What an image ID's layers and config are: content-addressed, so the same for as long as the process lives. */
interface StoredView {
  layers: string[];
  links: { dir: string; names: string[] };
  fs: FsView;
  config: ImageConfig;
}

/** Per store and image ID: every pod start resolves its images again (prepare, start, the runtime's create), each lookup through the layers made once. */
const views = new Map<string, StoredView>();

export class ImageStore {
  readonly layout: StoreLayout;

  constructor(readonly dir: string) {
    this.layout = new StoreLayout(dir);
  }

  /** Candidates for a short name, in the order registries.conf would search them. */
  private candidates(text: string, search: readonly string[]): Reference[] {
    const parsed = parseReference(text);
    const domains = parsed.domain !== undefined ? [parsed.domain] : search.length > 0 ? search : ['docker.io'];
    return domains.map((d) => withDefaultTag(qualify(parsed, d)));
  }

  /** The record for an ID, a unique ID prefix (with `prefix`), or a reference; undefined if absent. */
  lookup(text: string, opts: { prefix?: boolean; search?: readonly string[] } = {}): ImageRecord | undefined {
    if (!this.layout.exists()) return undefined;
    const id = asImageId(text);
    if (id) return this.layout.image(id);
    if (opts.prefix && /^(sha256:)?[a-f0-9]{4,63}$/.test(text)) {
      const hex = text.replace(/^sha256:/, '');
      const found = this.layout.images().filter((r) => r.id.slice(7).startsWith(hex));
      if (found.length === 1) return found[0];
      if (found.length > 1) throw new ImageError(`"${text}" names ${found.length} images; give more of the ID`);
    }
    const found = this.lookupRef(text, opts.search ?? []);
    return found ? this.layout.image(found.id) : undefined;
  }

  /** The stored name a reference means (`nginx` -> docker.io/library/nginx:latest) and its image ID. */
  lookupRef(text: string, search: readonly string[] = []): { key: string; id: string } | undefined {
    if (asImageId(text)) return undefined;
    for (const ref of this.candidates(text, search)) {
      const key = refKey(ref);
      const id = this.layout.ref(key);
      if (id) return { key, id };
    }
    return undefined;
  }

  tagsOf(id: string): { repoTags: string[]; repoDigests: string[] } {
    const repoTags: string[] = [];
    const repoDigests: string[] = [];
    for (const [name, target] of this.layout.refs()) {
      if (target !== id) continue;
      (name.includes('@') ? repoDigests : repoTags).push(name);
    }
    return { repoTags: repoTags.sort(), repoDigests: repoDigests.sort() };
  }

  summary(record: ImageRecord): ImageSummary {
    return { id: record.id, ...this.tagsOf(record.id), size: record.size, ...(record.created ? { created: record.created } : {}), layers: record.layers.length };
  }

  list(): ImageSummary[] {
    if (!this.layout.exists()) return [];
    return this.layout.images().map((r) => this.summary(r));
  }

  config(record: ImageRecord): ImageConfig {
    const blob = this.layout.readBlob(record.id);
    if (!blob) throw new ImageError(`image ${record.id}: its config is missing from ${this.dir}; pull it again`);
    return configFromDoc(parseConfig(blob));
  }

  /** The image, ready to run. Throws when a layer is missing (a store damaged by hand). */
  view(record: ImageRecord, ref: string): Image {
    const key = `${this.dir}\0${record.id}`;
    let made = views.get(key);
    if (made && !made.layers.every((dir) => existsSync(dir))) made = undefined;
    if (!made) {
      made = this.makeView(record, ref);
      views.set(key, made);
    }
    const { layers, links, fs, config } = made;
    const rootfs = layers[0] as string;
    const image = { ref, id: record.id, dir: rootfs, rootfs, layers, links, fs, config: structuredClone(config), size: record.size };
    // Its names take a read of every ref in the store (one file a name): made when asked for, not at every lookup.
    let names: { repoTags: string[]; repoDigests: string[] } | undefined;
    const tags = (): { repoTags: string[]; repoDigests: string[] } => (names ??= this.tagsOf(record.id));
    return Object.defineProperties(image, {
      repoTags: { get: () => tags().repoTags, enumerable: true },
      repoDigests: { get: () => tags().repoDigests, enumerable: true },
    }) as Image;
  }

  private makeView(record: ImageRecord, ref: string): StoredView {
    const chain = [...record.layers].reverse();
    if (chain.length === 0) throw new ImageError(`image "${ref}" has no layers: nothing to run`);
    const layers: LayerView[] = [];
    const names: string[] = [];
    for (const c of chain) {
      const layer = this.layout.layer(c);
      if (!layer) throw new ImageError(`image "${ref}": layer ${c} is missing from ${this.dir}; pull the image again`);
      layers.push({ dir: this.layout.diffDir(c), opaque: new Set(layer.opaque) });
      names.push(layer.link);
    }
    const rootfs = (layers[0] as LayerView).dir;
    return { layers: layers.map((v) => v.dir), links: { dir: join(this.dir, 'l'), names }, fs: layeredFs(rootfs, layers, true), config: this.config(record) };
  }

  /** Layers no image, lease or `keep` needs. */
  unusedLayers(keep: ReadonlySet<string> = new Set()): string[] {
    const used = new Set<string>([...keep, ...this.layout.leased()]);
    for (const r of this.layout.images()) for (const c of r.layers) used.add(c);
    return this.layout.layers().filter((c) => !used.has(c));
  }

  /** Removes the image's record and config (its refs must be gone) and any layer left unused. */
  removeImage(id: string): { layers: number; bytes: number } {
    for (const [name, target] of this.layout.refs()) if (target === id) this.layout.removeRef(name);
    this.layout.removeImageRecord(id);
    return this.removeUnusedLayers();
  }

  removeUnusedLayers(): { layers: number; bytes: number } {
    let bytes = 0;
    const unused = this.unusedLayers();
    for (const c of unused) {
      bytes += this.layout.layer(c)?.size ?? 0;
      this.layout.removeLayer(c);
    }
    return { layers: unused.length, bytes };
  }

  /** Bytes and layers on disk (the CRI's ImageFsInfo). */
  usage(): { bytes: number; layers: number; mountpoint: string } {
    const layers = this.layout.exists() ? this.layout.layers() : [];
    return { bytes: layers.reduce((n, c) => n + (this.layout.layer(c)?.size ?? 0), 0), layers: layers.length, mountpoint: this.dir };
  }
}

/**
 * An image that is on this machine, without building or pulling anything:
 * a directory image, or one of the store by reference or ID. Undefined
 * when absent.
 */
export function findLocalImage(storeDir: string, ref: string, search: readonly string[] = []): Image | undefined {
  const store = new ImageStore(storeDir);
  if (isBuiltinName(ref)) {
    const record = store.lookup(BUILTIN_TAG);
    return record ? store.view(record, ref) : directoryImage(storeDir, ref);
  }
  const dirImage = directoryImage(storeDir, ref);
  if (dirImage) return dirImage;
  let record: ImageRecord | undefined;
  try {
    record = store.lookup(ref, { search });
  } catch {
    return undefined;
  }
  return record ? store.view(record, ref) : undefined;
}

/**
 * An image on this machine, building the built-in busybox on first use;
 * never pulls (the pod's start pulls: ensure.ts).
 */
export function resolveImage(storeDir: string, ref: string, search: readonly string[] = []): Image {
  if (isBuiltinName(ref)) ensureBuiltin(new StoreLayout(storeDir));
  const found = findLocalImage(storeDir, ref, search);
  if (!found) throw new ImageError(`image "${ref}" not found in ${storeDir}: pull it (peapod pull ${ref}) or load it (peapod load -i FILE)`);
  return found;
}

