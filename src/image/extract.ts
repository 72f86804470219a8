// Applying one layer's tar to an empty directory, as overlayfs will read
// it: OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`) become overlayfs
// whiteouts (character device 0/0) and opaque directories
// (trusted.overlay.opaque=y); ownership, modes (setuid too), times, hard
// links, symlinks, device nodes and the xattrs a layer may carry are kept.
//
// Nothing is written outside the directory, whatever the tar says: a path
// with `..` that leaves it is refused, an absolute path is taken inside it
// (as tar does), an entry beneath a symlink or a file of the layer is
// refused, the last component is never followed (O_EXCL|O_NOFOLLOW after
// removing what was there), and a hard link must name a file already in
// this layer. The directory is a private staging directory: nothing else
// writes to it while it is filled.
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  chmodSync,
  utimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { applyXattrs, makeNode, makeWhiteout, type Xattr } from './special-files.js';
import { ByteSource, readTar, type TarEntry } from './tar-reader.js';

export class LayerError extends Error {
  override name = 'LayerError';
}

export interface AppliedLayer {
  /** sha256 of the uncompressed tar: what the image config's rootfs.diff_ids lists. */
  diffId: string;
  /** The bytes of the files it holds. */
  size: number;
  /** Directories marked opaque (hiding what the layers below have in them). */
  opaque: string[];
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** The xattrs a layer may set: user data and file capabilities; never trusted.* (overlayfs's own) or security labels. */
const ALLOWED_XATTR = /^(user\.|security\.capability$)/;
const EPOCH = new Date(0);

/** A tar path as a path inside the layer ('' for its root); refused if it leaves the layer. */
export function layerPath(name: string, what: string): string {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length === 0) throw new LayerError(`${what}: entry "${name}" leads outside the layer`);
      parts.pop();
    } else parts.push(c);
  }
  return parts.join('/');
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

class LayerWriter {
  readonly opaque = new Set<string>();
  private readonly whiteouts: string[] = [];
  private readonly xattrs: Xattr[] = [];
  private readonly dirTimes: Array<[string, Date]> = [];
  size = 0;

  constructor(
    private readonly dir: string,
    private readonly what: string,
  ) {}

  private abs(rel: string): string {
    return rel === '' ? this.dir : join(this.dir, rel);
  }

  /** Every directory above `rel` is a real directory of this layer (made if missing). */
  private parents(rel: string, make: boolean, name = rel, missing = `"${name}" is not in this layer`): void {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      const st = lstatOrNull(this.abs(p));
      if (st === null) {
        if (!make) throw new LayerError(`${this.what}: ${missing}`);
        mkdirSync(this.abs(p), 0o755);
        continue;
      }
      if (st.isSymbolicLink()) throw new LayerError(`${this.what}: entry "${name}" is beneath the symlink "${p}"; refused (it could lead outside the layer)`);
      if (!st.isDirectory()) throw new LayerError(`${this.what}: entry "${name}" is beneath "${p}", which is not a directory`);
    }
  }

  /** Removes what is at `rel`, unless it is a directory and `keepDir`. */
  private clear(rel: string, keepDir: boolean): Stats | null {
    const abs = this.abs(rel);
    const st = lstatOrNull(abs);
    if (st === null || (keepDir && st.isDirectory())) return st;
    rmSync(abs, { recursive: true, force: true });
    return null;
  }

  private own(rel: string, e: TarEntry, fd?: number): void {
    const abs = this.abs(rel);
    if (fd !== undefined) {
      fchownSync(fd, e.uid, e.gid);
      // After chown, which clears setuid and setgid.
      fchmodSync(fd, e.mode);
      futimesSync(fd, e.mtime ?? EPOCH, e.mtime ?? EPOCH);
      return;
    }
    lchownSync(abs, e.uid, e.gid);
    if (e.type === 'symlink') {
      lutimesSync(abs, e.mtime ?? EPOCH, e.mtime ?? EPOCH);
      return;
    }
    chmodSync(abs, e.mode);
    if (e.type === 'dir') this.dirTimes.push([abs, e.mtime ?? EPOCH]);
    else utimesSync(abs, e.mtime ?? EPOCH, e.mtime ?? EPOCH);
  }

  async entry(e: TarEntry, source: ByteSource): Promise<void> {
    const rel = layerPath(e.path, this.what);
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    const body = e.type === 'file' ? 0 : e.size;
    if (base.startsWith(WHITEOUT)) {
      await source.skip(e.size);
      const parent = rel.slice(0, Math.max(rel.lastIndexOf('/'), 0));
      if (base === OPAQUE) this.opaque.add(parent);
      else if (!base.startsWith(`${WHITEOUT}${WHITEOUT}`)) this.whiteouts.push(parent === '' ? base.slice(WHITEOUT.length) : `${parent}/${base.slice(WHITEOUT.length)}`);
      return;
    }
    if (rel === '') {
      await source.skip(e.size);
      if (e.type !== 'dir') throw new LayerError(`${this.what}: the layer's root "${e.path}" is not a directory`);
      this.own('', e);
      this.keepXattrs('', e);
      return;
    }
    this.parents(rel, true);
    if (body > 0) await source.skip(body);
    switch (e.type) {
      case 'dir': {
        if (this.clear(rel, true) === null) mkdirSync(this.abs(rel), 0o700);
        this.own(rel, e);
        break;
      }
      case 'file': {
        this.clear(rel, false);
        const fd = openSync(this.abs(rel), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of source.chunks(e.size)) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off);
          }
          this.own(rel, e, fd);
        } finally {
          closeSync(fd);
        }
        this.size += e.size;
        break;
      }
      case 'symlink': {
        this.clear(rel, false);
        symlinkSync(e.linkpath, this.abs(rel));
        this.own(rel, e);
        return; // no xattrs on symlinks (user.* cannot be set there)
      }
      case 'hardlink': {
        const target = layerPath(e.linkpath, this.what);
        if (target === rel) return;
        this.parents(target, false, e.linkpath, `hard link "${e.path}" names "${e.linkpath}", which is not a file of this layer`);
        const st = target === '' ? null : lstatOrNull(this.abs(target));
        if (st === null || st.isDirectory()) {
          throw new LayerError(`${this.what}: hard link "${e.path}" names "${e.linkpath}", which is not a file of this layer`);
        }
        this.clear(rel, false);
        linkSync(this.abs(target), this.abs(rel));
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        this.clear(rel, false);
        makeNode(this.abs(rel), e.type, e.mode, e.devmajor, e.devminor);
        lchownSync(this.abs(rel), e.uid, e.gid);
        chmodSync(this.abs(rel), e.mode);
        break;
      }
    }
    this.keepXattrs(rel, e);
  }

  private keepXattrs(rel: string, e: TarEntry): void {
    for (const [name, value] of e.xattrs) if (ALLOWED_XATTR.test(name)) this.xattrs.push({ path: rel || '.', name, value });
  }

  /** Whiteouts (unless this layer itself has the name), opaque marks, xattrs, then directory times. */
  finish(): void {
    for (const rel of this.whiteouts) {
      this.parents(rel, true);
      if (lstatOrNull(this.abs(rel)) !== null) continue;
      makeWhiteout(this.abs(rel));
    }
    for (const rel of this.opaque) {
      if (rel !== '') {
        this.parents(rel, true);
        const st = lstatOrNull(this.abs(rel));
        if (st === null) mkdirSync(this.abs(rel), 0o755);
        else if (!st.isDirectory()) throw new LayerError(`${this.what}: "${rel}" is marked opaque but is not a directory`);
      }
      this.xattrs.push({ path: rel || '.', name: 'trusted.overlay.opaque', value: Buffer.from('y') });
    }
    applyXattrs(this.dir, this.xattrs);
    for (const [abs, t] of this.dirTimes.reverse()) utimesSync(abs, t, t);
  }
}

/**
 * Unpacks the uncompressed tar `stream` into `dir` (empty, private) and
 * returns its diffID: the sha256 of every byte of the stream.
 */
export async function applyLayer(dir: string, stream: Readable, what: string): Promise<AppliedLayer> {
  const hash = createHash('sha256');
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      yield chunk;
    }
  }
  const source = new ByteSource(hashed());
  const writer = new LayerWriter(dir, what);
  try {
    for await (const entry of readTar(source)) await writer.entry(entry, source);
    await source.drain();
  } catch (err) {
    stream.destroy();
    if (err instanceof LayerError) throw err;
    throw new LayerError(`${what}: ${(err as Error).message}`);
  }
  writer.finish();
  return { diffId: `sha256:${hash.digest('hex')}`, size: writer.size, opaque: [...writer.opaque].sort() };
}
