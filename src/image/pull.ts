// A pull, as containerd and podman do one: the reference qualified
// (registries.conf's search list for a short name), its sources tried in
// order (mirrors, then the registry), the manifest resolved (an index to
// this machine's platform), the config fetched and checked, then every
// layer the store lacks fetched and unpacked (three at a time), each
// verified before it becomes visible; the tag and the digest last.
//
// Two pulls of one image in this process share one download; two
// processes share a layer through a lock (one fetches, the other waits and
// finds it). A layer already in the store (same chain) is never fetched
// again: pulling nginx after debian fetches nginx's own layers only.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { chainIds, hexOf } from './digest.js';
import { StoreLayout, type ImageRecord } from './layout.js';
import { checkConfigPlatform, CONFIG_LIMIT, hostPlatform, ManifestError, parseConfig, parseManifest, selectPlatform, type Descriptor, type ManifestDoc, type Platform } from './manifest.js';
import { asImageId, formatReference, parseReference, qualify, refKey, repoName, withDefaultTag, type Reference } from './reference.js';
import { loadRegistriesConf, pullSources, type PullSource } from './registries-conf.js';
import { Registry, type FetchedManifest } from './registry.js';
import { unpackLayer } from './unpack.js';

export class PullError extends Error {
  override name = 'PullError';
  constructor(
    /** The image as it was asked for. */
    readonly image: string,
    /** Why, in one line. */
    readonly reason: string,
    /** The kubelet's waiting reason: InvalidImageName for a name that does not parse. */
    readonly waitingReason: 'ErrImagePull' | 'InvalidImageName' = 'ErrImagePull',
  ) {
    super(`image "${image}": ${reason}`);
  }
}

export interface PullProgress {
  /** The layer's blob digest. */
  layer: string;
  index: number;
  count: number;
  state: 'waiting' | 'exists' | 'downloading' | 'extracting' | 'done';
  done: number;
  size: number;
}

export interface PullOptions {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: (p: PullProgress) => void;
  /** Said once the manifest is known: the reference resolved and where it comes from. */
  onResolved?: (info: { ref: string; host: string; layers: number }) => void;
  platform?: Platform;
}

export interface PullResult {
  /** The reference as stored (docker.io/library/nginx:latest). */
  ref: string;
  id: string;
  record: ImageRecord;
  /** The registry (or mirror) it came from. */
  from: string;
  /** Layers fetched, layers already here, compressed bytes downloaded. */
  fetched: number;
  present: number;
  bytes: number;
  seconds: number;
}

const CONCURRENCY = 3;
const pulls = new Map<string, Promise<PullResult>>();
const layerFetches = new Map<string, Promise<void>>();

/** The references a name may mean, in the order to try them. */
export function pullCandidates(text: string, env: NodeJS.ProcessEnv = process.env): Reference[] {
  let parsed: ReturnType<typeof parseReference>;
  try {
    parsed = parseReference(text);
  } catch (err) {
    throw new PullError(text, (err as Error).message, 'InvalidImageName');
  }
  if (asImageId(text)) throw new PullError(text, 'an image ID names an image already on this machine: it cannot be pulled');
  let search: string[];
  try {
    search = parsed.domain !== undefined ? [parsed.domain] : loadRegistriesConf(env).search;
  } catch (err) {
    throw new PullError(text, (err as Error).message);
  }
  if (search.length === 0) throw new PullError(text, 'a short name, and registries.conf lists no unqualified-search-registries: write the registry, e.g. docker.io/library/NAME');
  return search.map((d) => withDefaultTag(qualify(parsed, d)));
}

async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const i = next++;
      try {
        await work(items[i] as T, i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}

class Puller {
  private fetched = 0;
  private present = 0;
  private bytes = 0;

  constructor(
    private readonly layout: StoreLayout,
    private readonly opts: PullOptions,
  ) {}

  /** Streams one layer from the registry into the store (the blob verified before the layer is committed). */
  private async fetchLayer(reg: Registry, repo: string, desc: Descriptor & { compression: ManifestDoc['layers'][number]['compression'] }, target: { chainId: string; diffId: string; parent?: string }, progress: (p: Partial<PullProgress>) => void): Promise<void> {
    const pt = new PassThrough({ highWaterMark: 1 << 20 });
    let failed: unknown;
    const unpacking = unpackLayer(this.layout, { ...target, blob: desc.digest }, pt, desc.compression, `layer ${desc.digest}`);
    const settled = unpacking.then(
      () => undefined,
      (err: unknown) => void (failed = err),
    );
    try {
      await reg.blob(
        repo,
        desc,
        async (chunk) => {
          if (failed !== undefined) throw failed;
          if (!pt.write(chunk)) await Promise.race([once(pt, 'drain'), settled]);
          if (failed !== undefined) throw failed;
        },
        (done) => progress({ state: 'downloading', done }),
      );
      progress({ state: 'extracting', done: desc.size });
      pt.end();
    } catch (err) {
      // With the error, so the unpacking side stops too (a plain destroy would leave it waiting).
      pt.destroy(err instanceof Error ? err : new Error(String(err)));
      await settled;
      throw err;
    }
    await unpacking;
    this.fetched++;
    this.bytes += desc.size;
  }

  /** The layer, fetched unless the store has it; one fetch per layer across pulls and processes. */
  private async ensureLayer(reg: Registry, repo: string, doc: ManifestDoc, i: number, chains: string[], diffIds: string[]): Promise<void> {
    const desc = doc.layers[i] as ManifestDoc['layers'][number];
    const chainId = chains[i] as string;
    const progress = (p: Partial<PullProgress>): void => this.opts.onProgress?.({ layer: desc.digest, index: i, count: doc.layers.length, state: 'waiting', done: 0, size: desc.size, ...p });
    if (this.layout.layer(chainId)) {
      this.present++;
      progress({ state: 'exists', done: desc.size });
      return;
    }
    const key = `${this.layout.dir}\0${chainId}`;
    const running = layerFetches.get(key);
    if (running) {
      progress({ state: 'waiting' });
      await running;
      this.present++;
      progress({ state: 'done', done: desc.size });
      return;
    }
    const fetch = (async () => {
      const unlock = await this.layout.lock(hexOf(chainId), this.opts.signal);
      try {
        if (this.layout.layer(chainId)) {
          this.present++;
          return;
        }
        const parent = i > 0 ? chains[i - 1] : undefined;
        await this.fetchLayer(reg, repo, desc, { chainId, diffId: diffIds[i] as string, ...(parent ? { parent } : {}) }, progress);
      } finally {
        unlock();
      }
    })();
    layerFetches.set(key, fetch);
    try {
      await fetch;
    } finally {
      layerFetches.delete(key);
    }
    progress({ state: 'done', done: desc.size });
  }

  /** The whole image from one source. */
  async from(ref: Reference, src: PullSource): Promise<Omit<PullResult, 'seconds'>> {
    const reg = new Registry(src.host, src.insecure, this.opts.env, this.opts.signal);
    const platform = this.opts.platform ?? hostPlatform();
    const top = await reg.manifest(src.repository, ref.digest ?? ref.tag ?? 'latest');
    const manifests: FetchedManifest[] = [top];
    let doc = parseManifest(top.body, top.mediaType);
    if (doc.kind === 'index') {
      const chosen = selectPlatform(doc, platform);
      const child = await reg.manifest(src.repository, chosen.digest);
      manifests.push(child);
      doc = parseManifest(child.body, child.mediaType);
      if (doc.kind !== 'manifest') throw new ManifestError('the index names another index for this platform; peapod reads one level');
    }
    const manifest = doc;
    const last = manifests[manifests.length - 1] as FetchedManifest;
    this.opts.onResolved?.({ ref: formatReference(ref), host: src.host, layers: manifest.layers.length });
    const id = manifest.config.digest;
    let record = this.layout.image(id);
    if (!record || !record.layers.every((c) => this.layout.layer(c))) {
      const configBytes = await reg.smallBlob(src.repository, manifest.config, CONFIG_LIMIT, 'the image config');
      const config = parseConfig(configBytes);
      checkConfigPlatform(config, platform);
      const diffIds = config.rootfs.diff_ids;
      if (diffIds.length !== manifest.layers.length) {
        throw new ManifestError(`the manifest has ${manifest.layers.length} layers and the config ${diffIds.length} diff_ids`);
      }
      const chains = chainIds(diffIds);
      const release = this.layout.lease(chains);
      try {
        await forEachLimit(manifest.layers, CONCURRENCY, (_, i) => this.ensureLayer(reg, src.repository, manifest, i, chains, diffIds));
        this.layout.writeBlob(id, configBytes);
        const size = chains.reduce((n, c) => n + (this.layout.layer(c)?.size ?? 0), 0);
        record = {
          id,
          layers: chains,
          manifest: { digest: last.digest, mediaType: manifest.mediaType },
          size,
          compressedSize: manifest.layers.reduce((n, l) => n + l.size, 0),
          ...(config.created ? { created: config.created } : {}),
          storedAt: new Date().toISOString(),
        };
        this.layout.saveImage(record);
      } finally {
        release();
      }
    } else {
      this.present += record.layers.length;
    }
    for (const m of manifests) this.layout.writeBlob(m.digest, m.body);
    // The names the user asked for, whatever mirror served them.
    if (ref.tag !== undefined) this.layout.setRef(refKey({ ...ref, digest: undefined } as Reference), id);
    this.layout.setRef(`${repoName(ref)}@${top.digest}`, id);
    return { ref: formatReference(ref), id, record, from: src.host, fetched: this.fetched, present: this.present, bytes: this.bytes };
  }
}

async function pullNow(layout: StoreLayout, text: string, refs: Reference[], opts: PullOptions): Promise<PullResult> {
  const started = Date.now();
  layout.init();
  layout.removeDeadLeftovers();
  const errors: string[] = [];
  let conf;
  try {
    conf = loadRegistriesConf(opts.env);
  } catch (err) {
    throw new PullError(text, (err as Error).message);
  }
  for (const ref of refs) {
    let sources: PullSource[];
    try {
      sources = pullSources(conf, ref);
    } catch (err) {
      errors.push((err as Error).message);
      continue;
    }
    for (const src of sources) {
      try {
        const result = await new Puller(layout, opts).from(ref, src);
        return { ...result, seconds: (Date.now() - started) / 1000 };
      } catch (err) {
        if (opts.signal?.aborted) throw new PullError(text, 'the pull was cancelled');
        const message = (err as Error).message;
        errors.push(src.mirror ? `mirror ${src.host}: ${message}` : message);
      }
    }
  }
  const what = refs.length === 1 ? formatReference(refs[0] as Reference) : refs.map(formatReference).join(' or ');
  throw new PullError(text, `pulling ${what}: ${errors.join('; ')}`);
}

/**
 * Pulls `text` into the store at `storeDir`. A second pull of the same
 * reference while one runs in this process waits for it instead.
 */
export async function pullImage(storeDir: string, text: string, opts: PullOptions = {}): Promise<PullResult> {
  const refs = pullCandidates(text, opts.env);
  const key = `${storeDir}\0${refs.map(refKey).join(',')}`;
  const running = pulls.get(key);
  if (running) return running;
  const pull = pullNow(new StoreLayout(storeDir), text, refs, opts).finally(() => pulls.delete(key));
  pulls.set(key, pull);
  return pull;
}
