// A streaming tar reader: the `tar` package decodes each 512-byte header
// (ustar, GNU base-256 numbers, checksums); the framing, GNU long names and
// pax records are read here, byte-exact, because a layer's xattrs
// (SCHILY.xattr.*, e.g. security.capability) are binary and the package's
// pax parser keeps neither them nor bytes that are not UTF-8.
import { Header } from 'tar/header';

export class TarError extends Error {
  override name = 'TarError';
}

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date | undefined;
  linkpath: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

const TYPES: Record<string, EntryType> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  GNUDumpDir: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
  CharacterDevice: 'char',
  BlockDevice: 'block',
  FIFO: 'fifo',
};

/** Pulls exact byte counts out of a stream of chunks, counting what went by. */
export class ByteSource {
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(chunks: AsyncIterable<Buffer>) {
    this.it = chunks[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        this.buffered.push(r.value);
        this.length += r.value.length;
      }
    }
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? (this.buffered[0] as Buffer) : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  /** Exactly n bytes, or fewer at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    return this.take(Math.min(n, this.length));
  }

  /** n bytes as they come (never more than n), for file bodies. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.length === 0) await this.fill(1);
      if (this.length === 0) throw new TarError(`the archive ends in the middle of a file (${left} bytes missing)`);
      const first = this.buffered[0] as Buffer;
      const piece = first.length <= left ? first : first.subarray(0, left);
      if (piece === first) this.buffered.shift();
      else this.buffered[0] = first.subarray(left);
      this.length -= piece.length;
      left -= piece.length;
      yield piece;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n)) {
      // discarded
    }
  }

  /** Reads to the end (the trailing zero blocks and anything after them). */
  async drain(): Promise<void> {
    this.buffered = [];
    this.length = 0;
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
    }
  }
}

interface Pax {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  xattrs: Map<string, Buffer>;
}

/** pax records: "<len> <key>=<value>\n", the length counting the whole record, values raw bytes. */
export function parsePax(body: Buffer): Pax {
  const out: Pax = { xattrs: new Map() };
  let i = 0;
  while (i < body.length) {
    const space = body.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number(body.subarray(i, space).toString('latin1'));
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > body.length) throw new TarError('a pax extended header is malformed');
    const record = body.subarray(space + 1, i + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) {
      const key = record.subarray(0, eq).toString('utf8');
      const raw = record.subarray(eq + 1);
      const text = (): string => raw.toString('utf8');
      if (key === 'path') out.path = text();
      else if (key === 'linkpath') out.linkpath = text();
      else if (key === 'size') out.size = Number(text());
      else if (key === 'uid') out.uid = Number(text());
      else if (key === 'gid') out.gid = Number(text());
      else if (key === 'mtime') out.mtime = new Date(Number(text()) * 1000);
      else if (key.startsWith('SCHILY.xattr.')) out.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(raw));
    }
    i += len;
  }
  return out;
}

const MAX_META = 1024 * 1024;

/**
 * The entries of a tar stream, in order. Each entry's body must be read
 * with `source.chunks(entry.size)` or skipped before the next is asked for.
 */
export async function* readTar(source: ByteSource): AsyncGenerator<TarEntry> {
  let pending: Pax = { xattrs: new Map() };
  let global: Pax = { xattrs: new Map() };
  for (;;) {
    const block = await source.read(512);
    if (block.length === 0) return; // no end-of-archive blocks: tolerated, as GNU tar does
    if (block.length < 512) throw new TarError('the archive ends in the middle of a header');
    if (block.every((b) => b === 0)) return;
    const h = new Header(block);
    if (!h.cksumValid) throw new TarError(`a header's checksum is wrong (offset unknown; path "${h.path ?? ''}"): not a tar archive, or a corrupt one`);
    const type = h.type as string;
    const size = h.size ?? 0;
    if (type === 'ExtendedHeader' || type === 'OldExtendedHeader' || type === 'GlobalExtendedHeader' || type === 'NextFileHasLongPath' || type === 'NextFileHasLongLinkpath') {
      if (size > MAX_META) throw new TarError(`a ${type} of ${size} bytes is over the ${MAX_META} bytes allowed`);
      const body = await source.read(size);
      if (body.length < size) throw new TarError('the archive ends in the middle of an extended header');
      await source.skip((512 - (size % 512)) % 512);
      if (type === 'GlobalExtendedHeader') global = { ...global, ...parsePax(body) };
      else if (type === 'NextFileHasLongPath') pending.path = body.toString('utf8').replace(/\0.*$/s, '');
      else if (type === 'NextFileHasLongLinkpath') pending.linkpath = body.toString('utf8').replace(/\0.*$/s, '');
      else {
        const p = parsePax(body);
        pending = { ...pending, ...p, xattrs: new Map([...pending.xattrs, ...p.xattrs]) };
      }
      continue;
    }
    const kind = TYPES[type];
    const ex = { ...global, ...pending };
    pending = { xattrs: new Map() };
    // ustar directories carry no body whatever their size field says; the rest may.
    const entrySize = type === 'Directory' ? 0 : (ex.size ?? size);
    if (kind === undefined) {
      throw new TarError(`entry "${ex.path ?? h.path}" is of type ${type}, which a layer may not hold`);
    }
    const entry: TarEntry = {
      path: ex.path ?? h.path ?? '',
      type: kind,
      mode: (h.mode ?? 0) & 0o7777,
      uid: ex.uid ?? h.uid ?? 0,
      gid: ex.gid ?? h.gid ?? 0,
      size: entrySize,
      mtime: ex.mtime ?? h.mtime,
      linkpath: ex.linkpath ?? h.linkpath ?? '',
      devmajor: h.devmaj ?? 0,
      devminor: h.devmin ?? 0,
      xattrs: new Map([...global.xattrs, ...ex.xattrs]),
    };
    if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw new TarError(`entry "${entry.path}" has an invalid size`);
    yield entry;
    // The caller has read or skipped the body; the padding to the next block goes here.
    await source.skip((512 - (entry.size % 512)) % 512);
  }
}
