// Credentials for registries, from the files podman and docker write
// (`podman login`, `docker login`): $REGISTRY_AUTH_FILE, then
// $XDG_RUNTIME_DIR/containers/auth.json, then
// $XDG_CONFIG_HOME/containers/auth.json (~/.config/...), then
// ~/.docker/config.json. The first file with an entry for the registry
// wins. Credential helpers (credsStore, credHelpers) are not run.
// And the registry's side: parsing a WWW-Authenticate challenge.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_HUB } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
  /** The file they came from, for messages. */
  file: string;
}

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

export function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME || homedir();
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'auth.json'));
  files.push(join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json'));
  return files;
}

/** An auths key as docker writes it (https://index.docker.io/v1/) -> docker.io. */
function normalizeKey(key: string): string {
  let k = key.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (/^(index|registry-1)\.docker\.io(\/v[12])?$/.test(k)) k = DOCKER_HUB;
  return k.replace(/\/v[12]$/, '');
}

function decode(entry: Record<string, unknown>, file: string): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1), file };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password, file };
  return undefined;
}

/**
 * The credentials for `host` and `repository` (containers' auth.json may
 * key by host/namespace: the longest match wins), or undefined.
 */
export function findCredentials(host: string, repository: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const wanted = normalizeKey(host);
  const full = `${wanted}/${repository}`;
  for (const file of authFiles(env)) {
    let doc: { auths?: Record<string, Record<string, unknown>> };
    try {
      doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`cannot read credentials from ${file}: ${(err as Error).message}`);
    }
    let best: { length: number; creds: Credentials } | undefined;
    for (const [key, entry] of Object.entries(doc.auths ?? {})) {
      const k = normalizeKey(key);
      if (k !== wanted && !(full.startsWith(`${k}/`) && k.startsWith(`${wanted}/`))) continue;
      const creds = decode(entry, file);
      if (creds && (!best || k.length > best.length)) best = { length: k.length, creds };
    }
    if (best) return best.creds;
  }
  return undefined;
}

/** `Bearer realm="https://auth/token",service="registry",scope="repository:x:pull"` (RFC 7235's auth-param list). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = (m[1] as string).toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = m[2] as string;
  re.lastIndex = 0;
  let p: RegExpExecArray | null;
  while (re.lastIndex < rest.length && (p = re.exec(rest)) !== null) {
    params[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme, params };
}

export function basicAuth(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}
