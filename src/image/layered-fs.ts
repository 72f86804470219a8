// The image's root as its containers will see it, read straight from the
// layer directories: the plan resolves mount points, the executable and
// /etc/passwd through this view before the overlay exists. Lookups follow
// overlayfs: the top-most layer with the name wins; a whiteout (character
// device 0/0) hides the name below; an opaque directory hides what the
// layers below have in it; a non-directory hides everything beneath it.
import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { dirAttrsOf, leavesRoot, scopedJoin, type FsView } from '../plan/scoped-path.js';
import { hostFs } from '../runtime/host-fs.js';

export interface LayerView {
  /** The layer's directory (overlayfs's lowerdir). */
  dir: string;
  /** Its opaque directories, relative ('' for its root). */
  opaque: ReadonlySet<string>;
}

function lstat(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

const isWhiteout = (st: Stats): boolean => st.isCharacterDevice() && st.rdev === 0;

/** A path's segments that posix.relative would have to resolve ('.', '..', an empty one). */
const UNNORMAL = /\/\.{0,2}(\/|$)/;

/** Outside the image (a volume's path, on the host)? A plain path under the root is answered without building the relative path: every lookup asks. */
const outside = (root: string, path: string): boolean => {
  if (path.startsWith(`${root}/`) && !UNNORMAL.test(path)) return false;
  return leavesRoot(posix.relative(root, path));
};

/** `fn` answering each argument once (a view of layers that never change). */
function remembered<T>(fn: (path: string) => T): (path: string) => T {
  const answers = new Map<string, T>();
  return (path) => {
    if (answers.has(path)) return answers.get(path) as T;
    const answer = fn(path);
    answers.set(path, answer);
    return answer;
  };
}

/**
 * An FsView over `layers` (top first), answering for paths under `root`
 * (by convention the top layer's directory: `Image.rootfs`); a path
 * outside it (a volume's, on the host) is the host's, as the plan expects.
 * With `memo` each question is answered once: only for layers that never
 * change (a store's committed layers), not for a directory edited by hand.
 * Every pod of an image asks the same ones (its command, /etc/passwd, the
 * mount points).
 */
export function layeredFs(root: string, layers: readonly LayerView[], memo = false): FsView {
  const once = <T>(fn: (path: string) => T): ((path: string) => T) => (memo ? remembered(fn) : fn);
  const find = once((path: string): { abs: string; st: Stats } | null => {
    const rel = posix.relative(root, path);
    if (leavesRoot(rel)) return null;
    const parts = rel === '' ? [] : rel.split('/');
    for (const layer of layers) {
      let stopBelow = layer.opaque.has('');
      let hidden = false;
      for (let i = 1; i < parts.length && !hidden; i++) {
        const prefix = parts.slice(0, i).join('/');
        const st = lstat(join(layer.dir, prefix));
        if (st === null) continue;
        // A whiteout, file or link here covers the whole subtree in every layer below.
        if (!st.isDirectory()) hidden = true;
        else if (layer.opaque.has(prefix)) stopBelow = true;
      }
      if (hidden) return null;
      const abs = parts.length === 0 ? layer.dir : join(layer.dir, rel);
      const st = lstat(abs);
      if (st !== null) return isWhiteout(st) ? null : { abs, st };
      if (stopBelow) return null;
    }
    return null;
  });
  // Only what is in the layers is remembered: a path outside them (a volume's) is the host's, which changes.
  const inLayers = {
    readlink: once((path: string): string | null => {
      const f = find(path);
      return f?.st.isSymbolicLink() ? readlinkSync(f.abs) : null;
    }),
    isFile: once((path: string): boolean => find(scopedJoin(root, posix.relative(root, path), view))?.st.isFile() === true),
    readFile: once((path: string): string | null => {
      const f = find(scopedJoin(root, posix.relative(root, path), view));
      if (!f?.st.isFile()) return null;
      try {
        return readFileSync(f.abs, 'utf8');
      } catch {
        return null;
      }
    }),
  };
  const view: FsView = {
    readlink: (path) => (outside(root, path) ? hostFs.readlink(path) : inLayers.readlink(path)),
    exists: (path) => (outside(root, path) ? hostFs.exists(path) : find(path) !== null),
    isFile: (path) => (outside(root, path) ? hostFs.isFile(path) : inLayers.isFile(path)),
    dirAttrs: (path) => (outside(root, path) ? (hostFs.dirAttrs?.(path) ?? null) : dirAttrsOf(find(path)?.st ?? null)),
    readFile: (path) => (outside(root, path) ? (hostFs.readFile?.(path) ?? null) : inLayers.readFile(path)),
  };
  return view;
}
