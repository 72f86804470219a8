// The image config a pod needs: what it runs (Entrypoint, Cmd), with what
// (Env, WorkingDir, User), how it stops (StopSignal), what it says about
// itself (ExposedPorts, Labels). And the image's User as the runtime applies
// it: a name looked up in the image's /etc/passwd and /etc/group, as
// containerd and runc do, when the pod sets no runAsUser.
import type { FsView } from '../plan/scoped-path.js';
import { scopedJoin } from '../plan/scoped-path.js';
import type { ImageConfigDoc } from './manifest.js';

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  /** The signal that asks the program to stop (OCI StopSignal), SIGTERM if unset. */
  stopSignal?: string;
  /** OCI User: "uid", "name", "uid:gid", "name:group". */
  user?: string;
  /** "80/tcp", ... */
  exposedPorts?: string[];
  labels?: Record<string, string>;
}

export class ImageUserError extends Error {
  override name = 'ImageUserError';
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** From an OCI or Docker image config document. */
export function configFromDoc(doc: ImageConfigDoc): ImageConfig {
  const c = doc.config ?? {};
  return {
    entrypoint: list(c.Entrypoint),
    cmd: list(c.Cmd),
    env: list(c.Env),
    workingDir: typeof c.WorkingDir === 'string' && c.WorkingDir !== '' ? c.WorkingDir : '/',
    ...(c.StopSignal ? { stopSignal: c.StopSignal } : {}),
    ...(c.User ? { user: c.User } : {}),
    ...(c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0 ? { exposedPorts: Object.keys(c.ExposedPorts).sort() } : {}),
    ...(c.Labels && Object.keys(c.Labels).length > 0 ? { labels: { ...c.Labels } } : {}),
  };
}

/** peapod's own config.json (lower-case keys: the built-in busybox recipe and directory images). */
export function configFromSimple(raw: unknown): ImageConfig {
  const o = (raw ?? {}) as Record<string, unknown>;
  return configFromDoc({
    config: {
      Entrypoint: list(o.entrypoint),
      Cmd: list(o.cmd),
      Env: list(o.env),
      ...(typeof o.workingDir === 'string' ? { WorkingDir: o.workingDir } : {}),
      ...(typeof o.stopSignal === 'string' ? { StopSignal: o.stopSignal } : {}),
      ...(typeof o.user === 'string' ? { User: o.user } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [] },
  });
}

/** The OCI config document for an ImageConfig (for images peapod makes itself). */
export function docFromConfig(config: ImageConfig, diffIds: string[], platform: { os: string; architecture: string }): ImageConfigDoc {
  return {
    ...platform,
    created: new Date().toISOString(),
    config: {
      Entrypoint: config.entrypoint.length > 0 ? config.entrypoint : null,
      Cmd: config.cmd,
      Env: config.env,
      WorkingDir: config.workingDir,
      ...(config.stopSignal ? { StopSignal: config.stopSignal } : {}),
      ...(config.user ? { User: config.user } : {}),
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
}

function lookup(fs: FsView, rootfs: string, file: string, name: string, field: number): number | undefined {
  const text = fs.readFile?.(scopedJoin(rootfs, file, fs)) ?? null;
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && /^\d+$/.test(f[field] ?? '')) return Number(f[field]);
  }
  return undefined;
}

/** "name:group" -> uid and gid, names resolved in the image; throws naming what is missing. */
export function resolveImageUser(user: string, rootfs: string, fs: FsView, image: string): { uid: number; gid?: number } {
  const [u = '', g] = user.split(':');
  const uid = /^\d+$/.test(u) ? Number(u) : lookup(fs, rootfs, '/etc/passwd', u, 2);
  if (uid === undefined) throw new ImageUserError(`image "${image}" runs as user "${u}", which is not in its /etc/passwd; set securityContext.runAsUser`);
  if (g === undefined || g === '') return { uid };
  const gid = /^\d+$/.test(g) ? Number(g) : lookup(fs, rootfs, '/etc/group', g, 2);
  if (gid === undefined) throw new ImageUserError(`image "${image}" runs as group "${g}", which is not in its /etc/group; set securityContext.runAsGroup`);
  return { uid, gid };
}
