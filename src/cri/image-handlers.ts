// The CRI's ImageService over peapod's image store (src/image): images by
// ID, name, tag or digest; pulls through registries.conf's mirrors, with
// the credentials the request carries; removal of every name of an image
// at once, as containerd's CRI does; the store's usage.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pullImage } from '../image/pull.js';
import { parseReference, DOCKER_HUB } from '../image/reference.js';
import { ImageStore, type ImageSummary } from '../image/store.js';
import type { ImageRecord } from '../image/layout.js';
import { MODE, writeFileWithMode } from '../runtime/modes.js';
import { diskUsage } from '../runtime/stats.js';
import { CriPreconditionError } from './errors.js';
import { CriArgumentError } from './translate.js';
import type { WireImage } from './wire.js';

/** The CRI names short references as Docker does: docker.io, library/ for one-part names. */
const SEARCH = [DOCKER_HUB];
/** How long a measured ImageFsInfo is reused (the kubelet asks every few seconds; walking the store is not free). */
const FS_INFO_TTL_MS = 10_000;

export interface AuthConfig {
  username: string;
  password: string;
  auth: string;
  serverAddress: string;
  identityToken: string;
  registryToken: string;
}

export interface CriImagesOptions {
  imagesDir: string;
  /** Where a pull's credentials are written for its duration (root's only). */
  scratchDir: string;
  /** The image IDs containers use now: those are not removed. */
  inUse(): Map<string, string>;
}

export class CriImages {
  private measured: { at: number; value: object } | undefined;

  constructor(private readonly o: CriImagesOptions) {}

  private store(): ImageStore {
    return new ImageStore(this.o.imagesDir);
  }

  private find(text: string): ImageRecord | undefined {
    if (text === '') throw new CriArgumentError('image.image: required');
    return this.store().lookup(text, { search: SEARCH });
  }

  /** The image's user, as the CRI says it: a number as uid, a name as username. */
  private wire(summary: ImageSummary, record: ImageRecord): WireImage {
    let user = '';
    try {
      user = this.store().config(record).user ?? '';
    } catch {
      // A damaged store: the image is still listed.
    }
    const name = user.split(':')[0] ?? '';
    const numeric = /^\d+$/.test(name);
    return {
      id: summary.id,
      repoTags: summary.repoTags,
      repoDigests: summary.repoDigests,
      size: summary.size,
      uid: numeric ? { value: Number(name) } : name === '' ? { value: 0 } : null,
      username: numeric ? '' : name,
      spec: { image: summary.id, annotations: {} },
      pinned: false,
    };
  }

  list(filter: string): WireImage[] {
    const store = this.store();
    if (filter !== '') {
      const record = this.find(filter);
      return record ? [this.wire(store.summary(record), record)] : [];
    }
    if (!store.layout.exists()) return [];
    return store.layout.images().map((r) => this.wire(store.summary(r), r));
  }

  status(text: string, verbose: boolean): { image: WireImage | null; info: Record<string, string> } {
    const record = this.find(text);
    if (!record) return { image: null, info: {} };
    const store = this.store();
    const info: Record<string, string> = verbose ? { info: JSON.stringify({ id: record.id, layers: record.layers, config: store.config(record), storedAt: record.storedAt }) } : {};
    return { image: this.wire(store.summary(record), record), info };
  }

  async pull(text: string, auth: AuthConfig | null): Promise<string> {
    if (text === '') throw new CriArgumentError('image.image: required');
    if (auth && (auth.identityToken !== '' || auth.registryToken !== '')) {
      throw new CriArgumentError('auth: identity and registry tokens are not supported by peapod; give username and password (or auth)');
    }
    const creds = auth && (auth.auth !== '' || auth.username !== '') ? auth : undefined;
    if (!creds) return (await pullImage(this.o.imagesDir, text)).id;
    // The credentials reach the registry client as an auth file of their own, read first, removed after.
    const dir = mkdtempSync(join(this.o.scratchDir, '.pull-auth-'));
    try {
      const host = creds.serverAddress !== '' ? creds.serverAddress : (parseReference(text).domain ?? DOCKER_HUB);
      const entry = creds.auth !== '' ? { auth: creds.auth } : { username: creds.username, password: creds.password };
      const file = join(dir, 'auth.json');
      writeFileWithMode(file, JSON.stringify({ auths: { [host]: entry } }), MODE.record);
      return (await pullImage(this.o.imagesDir, text, { env: { ...process.env, REGISTRY_AUTH_FILE: file } })).id;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  remove(text: string): void {
    const record = this.find(text);
    if (!record) return;
    const user = this.o.inUse().get(record.id);
    if (user) throw new CriPreconditionError(`image ${record.id} is in use by container ${user}; remove the container first`);
    this.store().removeImage(record.id);
  }

  fsInfo(): object {
    const now = Date.now();
    if (this.measured && now - this.measured.at < FS_INFO_TTL_MS) return this.measured.value;
    const usage = diskUsage(this.o.imagesDir);
    const fs = { timestamp: now * 1e6, fsId: { mountpoint: this.o.imagesDir }, usedBytes: { value: usage.bytes }, inodesUsed: { value: usage.inodes } };
    const value = { imageFilesystems: [fs], containerFilesystems: [] };
    this.measured = { at: now, value };
    return value;
  }
}

