// The pod's volumes on the host, prepared before any process starts:
// emptyDir is a directory of the pod (or, with medium: Memory, a tmpfs of the
// pod's size limit); hostPath is checked against its type exactly as the
// kubelet does. Everything created here is recorded so a failed start can
// put the host back as it was.
import { chmodSync, chownSync, closeSync, existsSync, rmSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { mount, umount } from '../native/addon.js';
import type { PreparedVolume } from './types.js';
import { bytes, QuantityError } from '../manifest/quantity.js';
import type { HostPathType, Volume } from '../manifest/types.js';
import { makeDir, MODE, octal, openWithMode } from '../runtime/modes.js';

export class VolumeError extends Error {
  override name = 'VolumeError';
}

export interface PreparedVolumes {
  volumes: Map<string, PreparedVolume>;
  /** Host paths created for hostPath *OrCreate types, to remove on rollback. */
  created: string[];
  /** tmpfs mounted for medium: Memory (under the pod's directory: its teardown unmounts them). */
  mounted: string[];
}

export interface VolumeOptions {
  /** spec.securityContext.fsGroup: emptyDir volumes belong to this group (setgid, group-writable). */
  fsGroup?: number | undefined;
}

function noSource(index: number, volume: Volume): VolumeError {
  return new VolumeError(`spec.volumes[${index}] (${volume.name}): no supported source; use emptyDir or hostPath`);
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

function describeKind(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFile()) return 'a file';
  if (s.isSocket()) return 'a UNIX socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isFIFO()) return 'a FIFO';
  return 'something else';
}

function prepareHostPath(index: number, volume: Volume & { hostPath: NonNullable<Volume['hostPath']> }, created: string[]): PreparedVolume {
  const { path, type = '' } = volume.hostPath;
  const field = `spec.volumes[${index}].hostPath`;
  if (!path.startsWith('/')) throw new VolumeError(`${field}.path: must be an absolute path on the host, got ${JSON.stringify(path)}`);
  let stats = statOrNull(path);
  if (type === 'DirectoryOrCreate' && !stats) {
    const first = makeDir(path, MODE.hostPathDir);
    if (first) created.push(first);
    stats = statOrNull(path);
  } else if (type === 'FileOrCreate' && !stats) {
    if (!existsSync(dirname(path))) {
      throw new VolumeError(`${field}.path: ${dirname(path)} does not exist; FileOrCreate does not create parent directories`);
    }
    try {
      closeSync(openWithMode(path, 'ax', MODE.hostPathFile));
      created.push(path);
    } catch (err) {
      // Made by someone else meanwhile: theirs, not ours to remove.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    stats = statOrNull(path);
  }
  if (!stats) {
    throw new VolumeError(
      `${field}.path: ${path} does not exist on the host; create it, or set ${field}.type to DirectoryOrCreate or FileOrCreate`,
    );
  }
  const wanted = type === 'DirectoryOrCreate' ? 'Directory' : type === 'FileOrCreate' ? 'File' : type;
  if (wanted in TYPE_CHECKS) {
    const check = TYPE_CHECKS[wanted as keyof typeof TYPE_CHECKS];
    if (!check.test(stats)) {
      throw new VolumeError(`${field}.path: ${path} is ${describeKind(stats)}, not ${check.what}, as type ${type} requires`);
    }
  }
  return hostPathVolume(path, type, stats);
}

/**
 * What a hostPath volume is to its containers: a directory or a file, and
 * its mode (for directories made on the way to a subPath). From what is
 * there; when nothing is yet (explain), from what the type would make.
 */
function hostPathVolume(path: string, type: HostPathType, stats: Stats | null): PreparedVolume {
  if (stats) return { hostPath: path, kind: stats.isDirectory() ? 'dir' : 'file', mode: stats.mode & 0o7777 };
  if (type === 'File' || type === 'FileOrCreate') return { hostPath: path, kind: 'file', ...(type === 'FileOrCreate' ? { mode: MODE.hostPathFile } : {}) };
  return { hostPath: path, kind: 'dir', ...(type === 'DirectoryOrCreate' ? { mode: MODE.hostPathDir } : {}) };
}

const emptyDirVolume = (dir: string): PreparedVolume => ({ hostPath: dir, kind: 'dir', mode: MODE.emptyDir });

function memoryLimit(index: number, sizeLimit: string | undefined): string {
  if (sizeLimit === undefined || sizeLimit === '') return '';
  let n: number;
  try {
    n = bytes(sizeLimit);
  } catch (err) {
    if (err instanceof QuantityError) throw new VolumeError(`spec.volumes[${index}].emptyDir.sizeLimit: ${err.message}`);
    throw err;
  }
  if (n <= 0) throw new VolumeError(`spec.volumes[${index}].emptyDir.sizeLimit: must be more than 0, got ${JSON.stringify(sizeLimit)}`);
  // tmpfs counts in pages; round up so the limit is never below what was asked.
  return `,size=${Math.ceil(n / 4096) * 4096}`;
}

function prepareEmptyDir(index: number, volume: Volume & { emptyDir: NonNullable<Volume['emptyDir']> }, dir: string, options: VolumeOptions, mounted: string[]): PreparedVolume {
  makeDir(dirname(dir), MODE.podDir);
  makeDir(dir, MODE.emptyDir);
  if (volume.emptyDir.medium === 'Memory') {
    // The kubelet's memory-backed emptyDir: a tmpfs whose size is the limit,
    // so a write past it fails with ENOSPC. Its pages count to whoever writes them.
    mount('tmpfs', dir, 'tmpfs', ['nosuid', 'nodev'], `mode=${octal(MODE.emptyDir)}${memoryLimit(index, volume.emptyDir.sizeLimit)}`);
    mounted.push(dir);
  }
  let mode: number = MODE.emptyDir;
  if (options.fsGroup !== undefined) {
    // The kubelet's SetVolumeOwnership: the group owns it, and new files
    // inherit the group through the setgid bit.
    chownSync(dir, 0, options.fsGroup);
    mode = MODE.emptyDirFsGroup;
  }
  // The kubelet makes emptyDir world-writable: any uid of the pod may use
  // it. Host users cannot: the pod's directory is closed to them.
  chmodSync(dir, mode);
  return emptyDirVolume(dir);
}

export function prepareVolumes(
  volumes: readonly Volume[],
  emptyDirPath: (name: string) => string,
  options: VolumeOptions = {},
): PreparedVolumes {
  const out: PreparedVolumes = { volumes: new Map(), created: [], mounted: [] };
  try {
    volumes.forEach((volume, index) => {
      if (volume.hostPath) {
        out.volumes.set(volume.name, prepareHostPath(index, { ...volume, hostPath: volume.hostPath }, out.created));
      } else if (volume.emptyDir) {
        out.volumes.set(volume.name, prepareEmptyDir(index, { ...volume, emptyDir: volume.emptyDir }, emptyDirPath(volume.name), options, out.mounted));
      } else {
        throw noSource(index, volume);
      }
    });
  } catch (err) {
    for (const dir of [...out.mounted].reverse()) umount(dir, true);
    removeCreated(out.created);
    throw err;
  }
  return out;
}

/**
 * The volumes as prepareVolumes would leave them, without making anything
 * (for explain): the same description of each, from what is on the host now.
 */
export function describeVolumes(volumes: readonly Volume[], emptyDirPath: (name: string) => string): Map<string, PreparedVolume> {
  const out = new Map<string, PreparedVolume>();
  volumes.forEach((volume, index) => {
    if (volume.hostPath) out.set(volume.name, hostPathVolume(volume.hostPath.path, volume.hostPath.type ?? '', statOrNull(volume.hostPath.path)));
    else if (volume.emptyDir) out.set(volume.name, emptyDirVolume(emptyDirPath(volume.name)));
    else throw noSource(index, volume);
  });
  return out;
}

/** Undo what prepareVolumes created on the host (only what it created). */
export function removeCreated(created: readonly string[]): void {
  for (const path of [...created].reverse()) rmSync(path, { recursive: true, force: true });
}
