// Writes tar archives byte by byte, as a hostile layer author would: any
// path, any link target, pax records for xattrs. For the tests only.

export interface TarSpec {
  path: string;
  /** '0' file, '1' hard link, '2' symlink, '3' char device, '4' block device, '5' directory, '6' FIFO. */
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  mode?: number;
  uid?: number;
  gid?: number;
  body?: string | Buffer;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
  mtime?: number;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, type: string, size: number, s: Partial<TarSpec>): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(s.mode ?? (type === '5' ? 0o755 : 0o644), 8), 100);
  h.write(octal(s.uid ?? 0, 8), 108);
  h.write(octal(s.gid ?? 0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(s.mtime ?? 1_700_000_000, 12), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write((s.linkpath ?? '').slice(0, 100), 157, 'utf8');
  h.write('ustar\u000000', 257, 'latin1');
  h.write(octal(s.devmajor ?? 0, 8), 329);
  h.write(octal(s.devminor ?? 0, 8), 337);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function pad(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

export function tarBuffer(entries: TarSpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    const records: Buffer[] = [];
    if (e.path.length > 100) records.push(paxRecord('path', Buffer.from(e.path)));
    for (const [k, v] of Object.entries(e.xattrs ?? {})) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
    if (records.length > 0) {
      const pax = Buffer.concat(records);
      parts.push(header('PaxHeader', 'x', pax.length, {}), pad(pax));
    }
    parts.push(header(e.path, e.type, e.type === '0' ? body.length : 0, e));
    if (e.type === '0') parts.push(pad(body));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
