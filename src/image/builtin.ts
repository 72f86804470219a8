// The built-in busybox, peapod's offline default: built on first use from
// its recipe (rootfs/busybox/build.sh: Debian's busybox-static) straight
// into a staging layer, then stored as a one-layer image like any pulled
// one, tagged localhost/busybox:latest. Its diffID is the sha256 of the
// layer packed as a tar (by the `tar` package), as for any layer.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { childProcess, tarPackage } from '../lazy-packages.js';
import { packageRoot } from '../package.js';
import { configFromSimple, docFromConfig, type ImageConfig } from './config.js';
import { sha256 } from './digest.js';
import type { StoreLayout } from './layout.js';
import { hostPlatform } from './manifest.js';

export const BUILTIN_TAG = 'localhost/busybox:latest';
const recipe = join(packageRoot, 'rootfs', 'busybox', 'build.sh');

export class BuiltinError extends Error {
  override name = 'BuiltinError';
}

/** sha256 of the directory packed as a tar (uid, gid, modes and times kept). */
export function diffIdOfDirectory(dir: string): { diffId: string; size: number } {
  const hash = createHash('sha256');
  let size = 0;
  const { PackSync } = tarPackage();
  const pack = new PackSync({ cwd: dir, onWriteEntry: (e) => void (size += e.stat?.isFile() ? e.stat.size : 0) });
  pack.on('data', (chunk: Buffer) => hash.update(chunk));
  pack.add('.');
  pack.end();
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

/**
 * Stores the directory `staged` (whose `diff/` is the whole root) as a
 * one-layer image tagged `tag`; returns its ID.
 */
export function storeDirectoryImage(layout: StoreLayout, staged: string, config: ImageConfig, tag: string): string {
  const { diffId, size } = diffIdOfDirectory(join(staged, 'diff'));
  const chainId = diffId;
  if (!layout.layer(chainId)) layout.commitLayer(staged, { chainId, diffId, size, opaque: [] });
  else rmSync(staged, { recursive: true, force: true });
  const doc = Buffer.from(JSON.stringify(docFromConfig(config, [diffId], hostPlatform())));
  const id = sha256(doc);
  layout.writeBlob(id, doc);
  layout.saveImage({ id, layers: [chainId], size, storedAt: new Date().toISOString() });
  layout.setRef(tag, id);
  return id;
}

/**
 * Builds the busybox image into the store if it is not there. An older
 * store's built directory (`<store>/busybox/rootfs`) is taken as it is.
 */
export function ensureBuiltin(layout: StoreLayout): string {
  const existing = layout.ref(BUILTIN_TAG);
  if (existing && layout.image(existing)) return existing;
  layout.init();
  const staged = layout.staging('busybox');
  try {
    const old = join(layout.dir, 'busybox');
    if (existsSync(join(old, 'rootfs')) && existsSync(join(old, 'config.json'))) {
      try {
        const config = configFromSimple(JSON.parse(readFileSync(join(old, 'config.json'), 'utf8')));
        renameSync(join(old, 'rootfs'), join(staged, 'diff'));
        rmSync(old, { recursive: true, force: true });
        return storeDirectoryImage(layout, staged, config, BUILTIN_TAG);
      } catch (err) {
        // Another peapod took it meanwhile: its image, once stored, is the one.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        const id = layout.ref(BUILTIN_TAG);
        if (id) return id;
      }
    }
    const out = join(staged, 'build');
    try {
      childProcess().execFileSync('bash', [recipe, out], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new BuiltinError(`building the busybox image failed: ${stderr || (err as Error).message}`);
    }
    const config = configFromSimple(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')));
    renameSync(join(out, 'rootfs'), join(staged, 'diff'));
    rmSync(out, { recursive: true, force: true });
    return storeDirectoryImage(layout, staged, config, BUILTIN_TAG);
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
}
