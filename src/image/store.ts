// The image store: an image is a directory holding `rootfs/` (never written
// once built) and `config.json` (entrypoint, cmd, env, workingDir), the part
// of an OCI image config a pod needs. Other images can be imported by laying
// out the same two things under the store.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package.js';
import { makeDir, MODE } from '../runtime/modes.js';

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  /** The signal that asks the program to stop (OCI StopSignal), SIGTERM if unset. */
  stopSignal?: string;
}

export interface Image {
  ref: string;
  dir: string;
  rootfs: string;
  config: ImageConfig;
}

export class ImageError extends Error {
  override name = 'ImageError';
}

/** `busybox`, `busybox:1.36`, `docker.io/library/busybox:latest` -> `busybox`, tag. */
export function parseImageRef(ref: string): { name: string; tag: string } {
  let rest = ref.trim();
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  // Drop a registry host and Docker Hub's implicit "library/".
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0] ?? '')) parts.shift();
  if (parts.length > 1 && parts[0] === 'library') parts.shift();
  return { name: parts.join('/'), tag };
}

/** The directory an image lives in: `<store>/<name>` for latest, `<name>_<tag>` otherwise. */
export function imageDir(store: string, ref: string): string {
  const { name, tag } = parseImageRef(ref);
  const base = name.replaceAll('/', '_');
  return join(store, tag === 'latest' ? base : `${base}_${tag}`);
}

const BUILTIN = 'busybox';
const recipe = join(packageRoot, 'rootfs', 'busybox', 'build.sh');

/** Reads an image's config.json (entrypoint, cmd, env, workingDir, stopSignal). */
export function readImageConfig(path: string, ref: string): ImageConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ImageError(`image "${ref}": cannot read ${path}: ${(err as Error).message}`);
  }
  const o = (raw ?? {}) as Partial<Record<keyof ImageConfig, unknown>>;
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  return {
    entrypoint: list(o.entrypoint),
    cmd: list(o.cmd),
    env: list(o.env),
    workingDir: typeof o.workingDir === 'string' && o.workingDir !== '' ? o.workingDir : '/',
    ...(typeof o.stopSignal === 'string' && o.stopSignal !== '' ? { stopSignal: o.stopSignal } : {}),
  };
}

/** Builds the busybox image into the store from its recipe in rootfs/. */
export function buildBusybox(store: string): string {
  const dir = join(store, BUILTIN);
  // A store peapod makes is root's alone (the recipe closes the image's own directory too).
  makeDir(store, MODE.rootDir);
  try {
    execFileSync('bash', [recipe, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new ImageError(`building the busybox image failed: ${stderr || (err as Error).message}`);
  }
  return dir;
}

/** Finds an image, building the default busybox image on first use. */
export function resolveImage(store: string, ref: string): Image {
  // Whatever tag is asked for, the built-in busybox is the one peapod builds.
  const builtin = parseImageRef(ref).name === BUILTIN;
  const dir = builtin ? join(store, BUILTIN) : imageDir(store, ref);
  if (!existsSync(join(dir, 'rootfs'))) {
    if (!builtin) {
      throw new ImageError(
        `image "${ref}" not found in ${store}: peapod builds "busybox" itself; ` +
          `for another image, put its root filesystem in ${dir}/rootfs and its config in ${dir}/config.json`,
      );
    }
    buildBusybox(store);
  }
  return { ref, dir, rootfs: join(dir, 'rootfs'), config: readImageConfig(join(dir, 'config.json'), ref) };
}
