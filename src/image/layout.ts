// The image store on disk, content-addressed (containerd's content store
// and overlay snapshotter, in miniature):
//
//   blobs/sha256/<hex>      manifests and configs, as fetched (verified)
//   layers/<chain hex>/     one layer: diff/ (overlayfs' lowerdir) and layer.json
//   l/<short>               -> ../layers/<chain hex>/diff: short names for long lowerdir lists
//   images/<config hex>.json  an image: its layers (chain IDs), manifest, sizes
//   refs/<name>             tags and digests (docker.io%2Flibrary%2Fnginx%3Alatest) -> image ID
//   leases/<pid>.<start>.<n>  what a pull under way holds (prune leaves it alone)
//   locks/<hex>             one process fetches a layer; the others wait for it
//   tmp/<pid>.<start>.<n>-* staging: a layer becomes visible by one rename, complete
//
// Every directory is root's, 0700 at the top: layers keep the modes their
// containers need, and a host user cannot traverse to them.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { fileStamp } from '../runtime/file-stamp.js';
import { makeDir, MODE } from '../runtime/modes.js';
import { processStartTime } from '../runtime/proc.js';
import { writeJsonAtomic } from '../runtime/json-file.js';
import { hexOf } from './digest.js';

export interface LayerRecord {
  chainId: string;
  diffId: string;
  /** The chain ID of the layer below, if any. */
  parent?: string;
  /** Bytes of its files. */
  size: number;
  /** Directories marked opaque, relative to diff/. */
  opaque: string[];
  /** The name under l/. */
  link: string;
  /** The compressed blob it came from, when pulled. */
  blob?: string;
  createdAt: string;
}

export interface ImageRecord {
  /** The image ID: its config's digest. */
  id: string;
  /** Chain IDs, bottom layer first. */
  layers: string[];
  /** The manifest this config came from, and the digest the image was pulled by (an index's, for a multi-platform image). */
  manifest?: { digest: string; mediaType: string };
  /** Bytes on disk of its layers, and of the blobs as the registry had them. */
  size: number;
  compressedSize?: number;
  created?: string;
  storedAt: string;
}

const LINK_MIN = 20;

// What was read of the store's refs and image records, per path, with the
// identity of the file read (inode, size, times): every pod start looks its
// images up several times, and a stat costs less than a read (and a parse).
// Something changed within the last second is read again each time: a
// timestamp tick could hide a second change.
const RECENT_MS = 1000;
const kept = new Map<string, { identity: string; value: unknown }>();

function identity(st: Stats): string | undefined {
  return Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < RECENT_MS ? undefined : fileStamp(st);
}

/** `read(path)`, or what it gave the last time if `path` is still what it read then. Throws as statSync and `read` do. */
function readKept<T>(path: string, read: (path: string) => T): T {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    // Gone (a ref removed, an image deleted): nothing of it is kept either.
    kept.delete(path);
    throw err;
  }
  const id = identity(st);
  const last = kept.get(path);
  if (id !== undefined && last?.identity === id) return last.value as T;
  const value = read(path);
  if (id === undefined) kept.delete(path);
  else kept.set(path, { identity: id, value });
  return value;
}

/** Who holds something: a process, identified by pid and start time. */
function ownerTag(): string {
  return `${process.pid}.${processStartTime(process.pid) ?? 0}`;
}

function ownerAlive(tag: string): boolean {
  const [pid, start] = tag.split('.').map(Number);
  if (!pid) return false;
  if (pid === process.pid) return true;
  const now = processStartTime(pid);
  return now !== null && now === start;
}

export class StoreLayout {
  constructor(readonly dir: string) {}

  get blobsDir(): string {
    return join(this.dir, 'blobs', 'sha256');
  }

  /** Makes the store's directories (root's, closed). */
  init(): void {
    makeDir(this.dir, MODE.rootDir);
    for (const d of ['blobs/sha256', 'layers', 'l', 'images', 'refs', 'leases', 'locks', 'tmp']) makeDir(join(this.dir, d), MODE.rootDir);
  }

  // ---- blobs ----
  blobPath(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }

  writeBlob(digest: string, data: Buffer): void {
    const path = this.blobPath(digest);
    if (existsSync(path)) return;
    const tmp = join(this.dir, 'tmp', `${ownerTag()}.${randomBytes(4).toString('hex')}-blob`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  readBlob(digest: string): Buffer | undefined {
    try {
      return readFileSync(this.blobPath(digest));
    } catch {
      return undefined;
    }
  }

  // ---- layers ----
  layerRoot(chainId: string): string {
    return join(this.dir, 'layers', hexOf(chainId));
  }

  diffDir(chainId: string): string {
    return join(this.layerRoot(chainId), 'diff');
  }

  layer(chainId: string): LayerRecord | undefined {
    try {
      return JSON.parse(readFileSync(join(this.layerRoot(chainId), 'layer.json'), 'utf8')) as LayerRecord;
    } catch {
      return undefined;
    }
  }

  layers(): string[] {
    return readdirSync(join(this.dir, 'layers')).map((h) => `sha256:${h}`);
  }

  /** A short name under l/ for the layer: the first 20 hex digits, longer on a clash. */
  private makeLink(chainId: string): string {
    const hex = hexOf(chainId);
    const target = join('..', 'layers', hex, 'diff');
    for (let n = LINK_MIN; n <= hex.length; n += 4) {
      const name = hex.slice(0, n);
      const path = join(this.dir, 'l', name);
      try {
        symlinkSync(target, path);
        return name;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (readlinkSync(path) === target) return name;
      }
    }
    throw new Error(`no short link name left for layer ${chainId}`);
  }

  /**
   * Makes a staged layer (`staging` holding diff/) visible under its chain
   * ID, by one rename. False when another pull committed it first (the
   * staging copy is then removed).
   */
  commitLayer(staging: string, record: Omit<LayerRecord, 'link' | 'createdAt'>): boolean {
    const full: LayerRecord = { ...record, link: this.makeLink(record.chainId), createdAt: new Date().toISOString() };
    writeJsonAtomic(join(staging, 'layer.json'), full);
    try {
      renameSync(staging, this.layerRoot(record.chainId));
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
      rmSync(staging, { recursive: true, force: true });
      return false;
    }
  }

  removeLayer(chainId: string): void {
    const record = this.layer(chainId);
    // Invisible first (rename into tmp), then removed: never a half layer under its name.
    const doomed = this.staging('removed-layer');
    rmSync(doomed, { recursive: true, force: true });
    try {
      renameSync(this.layerRoot(chainId), doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (record?.link) rmSync(join(this.dir, 'l', record.link), { force: true });
    rmSync(doomed, { recursive: true, force: true });
  }

  // ---- images ----
  imagePath(id: string): string {
    return join(this.dir, 'images', `${hexOf(id)}.json`);
  }

  /** The image's record (shared with every other caller: never to be changed). */
  image(id: string): ImageRecord | undefined {
    try {
      return readKept(this.imagePath(id), (path) => {
        const record = JSON.parse(readFileSync(path, 'utf8')) as ImageRecord;
        Object.freeze(record.layers);
        return Object.freeze(record);
      });
    } catch {
      return undefined;
    }
  }

  images(): ImageRecord[] {
    return readdirSync(join(this.dir, 'images'))
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => {
        const r = this.image(`sha256:${f.slice(0, -5)}`);
        return r ? [r] : [];
      });
  }

  saveImage(record: ImageRecord): void {
    writeJsonAtomic(this.imagePath(record.id), record);
  }

  removeImageRecord(id: string): void {
    rmSync(this.imagePath(id), { force: true });
  }

  // ---- refs ----
  refs(): Map<string, string> {
    const out = new Map<string, string>();
    for (const f of readdirSync(join(this.dir, 'refs'))) {
      if (f.endsWith('.tmp')) continue;
      const name = decodeURIComponent(f);
      const id = this.ref(name);
      if (id !== undefined) out.set(name, id);
    }
    return out;
  }

  ref(name: string): string | undefined {
    try {
      return readKept(join(this.dir, 'refs', encodeURIComponent(name)), (path) => readFileSync(path, 'utf8').trim());
    } catch {
      // Absent, or removed meanwhile.
      return undefined;
    }
  }

  /** Points `name` at `id` (atomically: a reader sees the old image or the new one). */
  setRef(name: string, id: string): void {
    const path = join(this.dir, 'refs', encodeURIComponent(name));
    const tmp = `${path}.${ownerTag()}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${id}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  removeRef(name: string): void {
    rmSync(join(this.dir, 'refs', encodeURIComponent(name)), { force: true });
  }

  // ---- staging, leases, locks ----
  /** A fresh private directory in tmp/, named after its owner (prune removes those of dead owners). */
  staging(label: string): string {
    const dir = join(this.dir, 'tmp', `${ownerTag()}.${randomBytes(6).toString('hex')}-${label}`);
    mkdirSync(dir, { mode: MODE.rootDir });
    return dir;
  }

  /** Holds `chainIds` against prune while a pull that needs them runs; returns the release. */
  lease(chainIds: readonly string[]): () => void {
    const path = join(this.dir, 'leases', `${ownerTag()}.${randomBytes(4).toString('hex')}`);
    writeJsonAtomic(path, chainIds);
    return () => rmSync(path, { force: true });
  }

  /** Chain IDs held by live leases; the leases of dead processes are removed. */
  leased(): Set<string> {
    const out = new Set<string>();
    const dir = join(this.dir, 'leases');
    for (const f of readdirSync(dir)) {
      const path = join(dir, f);
      if (!ownerAlive(f)) {
        rmSync(path, { force: true });
        continue;
      }
      try {
        for (const c of JSON.parse(readFileSync(path, 'utf8')) as string[]) out.add(c);
      } catch {
        // Being written.
      }
    }
    return out;
  }

  /**
   * Takes the lock `name` (one fetch of a layer across processes): waits
   * while a live process holds it; a dead holder's lock is taken over.
   */
  async lock(name: string, signal?: AbortSignal): Promise<() => void> {
    const path = join(this.dir, 'locks', name);
    for (;;) {
      signal?.throwIfAborted();
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, ownerTag());
        closeSync(fd);
        return () => rmSync(path, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let holder = '';
      try {
        holder = readFileSync(path, 'utf8');
      } catch {
        continue;
      }
      if (holder !== '' && !ownerAlive(holder)) {
        // Taken over by rename, so two waiters cannot both remove a fresh lock.
        try {
          renameSync(path, `${path}.${ownerTag()}.stale`);
          unlinkSync(`${path}.${ownerTag()}.stale`);
        } catch {
          // Another waiter took it over first.
        }
        continue;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Staging directories, blobs in writing and locks of processes that died (a killed pull). */
  removeDeadLeftovers(): number {
    let removed = 0;
    for (const sub of ['tmp', 'locks']) {
      const dir = join(this.dir, sub);
      for (const f of readdirSync(dir)) {
        const owner = sub === 'tmp' ? f.split('-')[0] ?? '' : (() => {
          try {
            return readFileSync(join(dir, f), 'utf8');
          } catch {
            return '';
          }
        })();
        const tag = sub === 'tmp' ? owner.split('.').slice(0, 2).join('.') : owner;
        if (tag === '' || ownerAlive(tag)) continue;
        rmSync(join(dir, f), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Whether a store exists here at all (explain must not create one). */
  exists(): boolean {
    try {
      return lstatSync(join(this.dir, 'images')).isDirectory();
    } catch {
      return false;
    }
  }
}
