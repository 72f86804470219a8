// Where peapod's own files are: the package root (found from this module,
// so it works from dist/ and from a bundle), the built pause and addon.
// Kept apart from the addon so that pure layers (plan, image) can name
// these paths without loading native code.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root: the nearest directory up from this module with peapod's package.json (dist/ or a bundle). */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'peapod') return dir;
    } catch {
      // No package.json here: keep climbing.
    }
    if (dirname(dir) === dir) throw new Error(`cannot find peapod's package.json above ${from}`);
  }
}

export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
export const pauseBinary = join(packageRoot, 'build', 'Release', 'pause');
/** The node daemon's parent: a subreaper that records the exits of the pods it inherits (native/reaper.c). */
export const reaperBinary = join(packageRoot, 'build', 'Release', 'peapod-reaper');
export const addonPath = join(packageRoot, 'build', 'Release', 'peapod.node');
