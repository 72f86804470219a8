// Resolving a container path against the image's root filesystem as the
// container will see it: symlinks are followed *inside* the root, never out
// of it (an image link /data -> /etc must not make us mount over the host's
// /etc before pivot_root). The image is read-only and the upper layer fresh,
// so what the image says at plan time is what the child will find.
import { posix } from 'node:path';

/** What the plan may ask of the filesystem: pure functions are testable. */
export interface FsView {
  /** The link's target, or null if the path is not a symlink (or missing). */
  readlink(path: string): string | null;
  exists(path: string): boolean;
  isFile(path: string): boolean;
  /** A small file's text (the image's /etc/passwd), or null; optional: without it, nothing is read. */
  readFile?(path: string): string | null;
  /** A directory's mode (permission bits), owner and mtime, or null when the path is not a directory (links not followed); optional. */
  dirAttrs?(path: string): DirAttrs | null;
}

export interface DirAttrs {
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
}

/** The DirAttrs of a stat, or null when it is not a directory. */
export function dirAttrsOf(st: { isDirectory(): boolean; mode: number; uid: number; gid: number; mtimeMs: number } | null): DirAttrs | null {
  return st?.isDirectory() ? { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs } : null;
}

const MAX_LINKS = 40;

export class ScopedPathError extends Error {
  override name = 'ScopedPathError';
}

/** Returns `root/...` with every symlink of `path` resolved within `root`. */
export function scopedJoin(root: string, path: string, fs: FsView): string {
  let pending = path.split('/').filter((p) => p !== '');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop(); // ".." of the root is the root
      continue;
    }
    const target = fs.readlink(posix.join(root, ...resolved, part));
    if (target === null) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new ScopedPathError(`${path}: too many levels of symbolic links`);
    if (target.startsWith('/')) resolved.length = 0;
    pending = [...target.split('/').filter((p) => p !== ''), ...pending];
  }
  return posix.join(root, ...resolved);
}

/** A path relative to a root (posix.relative's) that leaves it: `..` or below it; a name such as `..data` stays. */
export function leavesRoot(rel: string): boolean {
  return rel === '..' || rel.startsWith('../');
}

/** The directories between `root` (exclusive) and `path` (exclusive), outermost first. */
export function ancestorsWithin(root: string, path: string): string[] {
  const rel = posix.relative(root, path);
  if (rel === '' || leavesRoot(rel)) return [];
  const parts = rel.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(posix.join(root, ...parts.slice(0, i)));
  return out;
}
