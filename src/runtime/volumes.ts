// The pod's volumes on the host, prepared before any process starts:
// emptyDir is a directory of the pod; hostPath is checked against its type
// exactly as the kubelet does. Everything created here is recorded so a
// failed start can put the host back as it was.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { HostPathType, Volume } from '../spec/types.js';
import type { PreparedVolume } from '../plan/container.js';

export class VolumeError extends Error {
  override name = 'VolumeError';
}

export interface PreparedVolumes {
  volumes: Map<string, PreparedVolume>;
  /** Host paths created for hostPath *OrCreate types, to remove on rollback. */
  created: string[];
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

const TYPE_CHECKS: Record<Exclude<HostPathType, '' | 'DirectoryOrCreate' | 'FileOrCreate'>, { test: (s: Stats) => boolean; what: string }> = {
  Directory: { test: (s) => s.isDirectory(), what: 'a directory' },
  File: { test: (s) => s.isFile(), what: 'a file' },
  Socket: { test: (s) => s.isSocket(), what: 'a UNIX socket' },
  CharDevice: { test: (s) => s.isCharacterDevice(), what: 'a character device' },
  BlockDevice: { test: (s) => s.isBlockDevice(), what: 'a block device' },
};

function prepareHostPath(index: number, volume: Volume & { hostPath: NonNullable<Volume['hostPath']> }, created: string[]): PreparedVolume {
  const { path, type = '' } = volume.hostPath;
  const field = `spec.volumes[${index}].hostPath`;
  let stats = statOrNull(path);
  if (type === 'DirectoryOrCreate' && !stats) {
    const first = mkdirSync(path, { recursive: true, mode: 0o755 });
    if (first) created.push(first);
    stats = statOrNull(path);
  } else if (type === 'FileOrCreate' && !stats) {
    if (!existsSync(dirname(path))) {
      throw new VolumeError(`${field}.path: ${dirname(path)} does not exist; FileOrCreate does not create parent directories`);
    }
    closeSync(openSync(path, 'a', 0o644));
    created.push(path);
    stats = statOrNull(path);
  }
  if (!stats) {
    throw new VolumeError(
      `${field}.path: ${path} does not exist on the host; create it, or set ${field}.type to DirectoryOrCreate or FileOrCreate`,
    );
  }
  if (type in TYPE_CHECKS) {
    const check = TYPE_CHECKS[type as keyof typeof TYPE_CHECKS];
    if (!check.test(stats)) throw new VolumeError(`${field}.path: ${path} is not ${check.what}, as type ${type} requires`);
  }
  return { hostPath: path, kind: stats.isDirectory() ? 'dir' : 'file' };
}

export function prepareVolumes(volumes: readonly Volume[], emptyDirPath: (name: string) => string): PreparedVolumes {
  const out: PreparedVolumes = { volumes: new Map(), created: [] };
  try {
    volumes.forEach((volume, index) => {
      if (volume.hostPath) {
        out.volumes.set(volume.name, prepareHostPath(index, { ...volume, hostPath: volume.hostPath }, out.created));
      } else if (volume.emptyDir) {
        const dir = emptyDirPath(volume.name);
        // The kubelet makes emptyDir world-writable: any uid may use it.
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o777);
        out.volumes.set(volume.name, { hostPath: dir, kind: 'dir' });
      } else {
        throw new VolumeError(`spec.volumes[${index}] (${volume.name}): no supported source; use emptyDir or hostPath`);
      }
    });
  } catch (err) {
    removeCreated(out.created);
    throw err;
  }
  return out;
}

/** Undo what prepareVolumes created on the host (only what it created). */
export function removeCreated(created: readonly string[]): void {
  for (const path of [...created].reverse()) rmSync(path, { recursive: true, force: true });
}
