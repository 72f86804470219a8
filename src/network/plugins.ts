// Finding a plugin binary by its type in the plugin directories, in order:
// /opt/cni/bin (where upstream releases go) and /usr/lib/cni (Debian's
// containernetworking-plugins), or what PEAPOD_CNI_PATH / the options say.
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { CniPluginError } from './types.js';

export const DEFAULT_PLUGIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni'];

/** The plugin's path, or null. */
export function lookupPlugin(type: string, dirs: readonly string[]): string | null {
  for (const dir of dirs) {
    const path = join(dir, type);
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not here: the next directory.
    }
  }
  return null;
}

/** The plugin's path; throws with libcni's wording when no directory has it. */
export function findPlugin(type: string, dirs: readonly string[]): string {
  const path = lookupPlugin(type, dirs);
  if (path === null) throw new CniPluginError(`failed to find plugin "${type}" in path [${dirs.join(' ')}]`, type);
  return path;
}
