// registries.conf as podman and CRI-O read it (containers-registries.conf(5),
// version 2): `unqualified-search-registries`, `[[registry]]` with `prefix`,
// `location`, `insecure`, `blocked`, and `[[registry.mirror]]` tried in
// order before the registry itself. This is how a machine without internet
// sends docker.io, registry.k8s.io or gcr.io to a local registry.
// CONTAINERS_REGISTRIES_CONF names the file instead of the default, as for podman.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { DOCKER_HUB, repoName, type Reference } from './reference.js';

export const DEFAULT_REGISTRIES_CONF = '/etc/containers/registries.conf';

export class RegistriesConfError extends Error {
  override name = 'RegistriesConfError';
}

export interface Endpoint {
  /** host[:port] and any path prefix the location adds (location = "host/mirror/path"). */
  location: string;
  /** Plain HTTP or an unverified certificate are allowed. */
  insecure: boolean;
}

export interface MirrorEntry extends Endpoint {
  /** "digest-only": used for pulls by digest only (a tag may differ on a mirror). */
  pullFromMirror: 'all' | 'digest-only' | 'tag-only';
}

export interface RegistryEntry extends Endpoint {
  prefix: string;
  blocked: boolean;
  mirrors: MirrorEntry[];
}

export interface RegistriesConf {
  /** Where short names are looked for, in order. */
  search: string[];
  registries: RegistryEntry[];
  /** The files read, for messages. */
  files: string[];
}

/** Where one pull of `ref` may come from, in the order to try. */
export interface PullSource {
  /** The reference as this endpoint names it (its host and path). */
  host: string;
  repository: string;
  insecure: boolean;
  mirror: boolean;
}

const EMPTY: RegistriesConf = { search: [DOCKER_HUB], registries: [], files: [] };

type Table = Record<string, unknown>;

function str(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new RegistriesConfError(`${where} must be a string`);
  return v;
}

function bool(v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new RegistriesConfError(`${where} must be true or false`);
  return v;
}

function endpoint(t: Table, where: string): Endpoint {
  return { location: (str(t.location, `${where}.location`) ?? '').replace(/^https?:\/\//, '').replace(/\/+$/, ''), insecure: bool(t.insecure, `${where}.insecure`) };
}

function parseV2(doc: Table, file: string): Partial<RegistriesConf> {
  const out: Partial<RegistriesConf> = {};
  const search = doc['unqualified-search-registries'];
  if (search !== undefined) {
    if (!Array.isArray(search) || search.some((s) => typeof s !== 'string')) {
      throw new RegistriesConfError(`${file}: unqualified-search-registries must be a list of registry hosts, e.g. ["docker.io"]`);
    }
    out.search = search as string[];
  }
  const list = doc.registry ?? [];
  if (!Array.isArray(list)) throw new RegistriesConfError(`${file}: registry must be written [[registry]] (a list of tables)`);
  out.registries = list.map((r: unknown, i: number) => {
    const where = `${file}: [[registry]] #${i + 1}`;
    const t = r as Table;
    const own = endpoint(t, where);
    const prefix = (str(t.prefix, `${where}.prefix`) ?? own.location).replace(/^https?:\/\//, '');
    if (prefix === '') throw new RegistriesConfError(`${where}: set prefix or location (e.g. prefix = "docker.io")`);
    const mirrors = (Array.isArray(t.mirror) ? t.mirror : []).map((m: unknown, j: number) => {
      const mw = `${where} mirror #${j + 1}`;
      const mt = m as Table;
      const e = endpoint(mt, mw);
      if (e.location === '') throw new RegistriesConfError(`${mw}: a mirror needs a location`);
      const pull = str(mt['pull-from-mirror'], `${mw}.pull-from-mirror`) ?? 'all';
      if (!['all', 'digest-only', 'tag-only'].includes(pull)) throw new RegistriesConfError(`${mw}: pull-from-mirror must be "all", "digest-only" or "tag-only"`);
      return { ...e, pullFromMirror: bool(t['mirror-by-digest-only'], `${where}.mirror-by-digest-only`) ? 'digest-only' : (pull as MirrorEntry['pullFromMirror']) };
    });
    return { prefix, location: own.location || prefix, insecure: own.insecure, blocked: bool(t.blocked, `${where}.blocked`), mirrors };
  });
  return out;
}

/** Version 1 (`[registries.search] registries = [...]`, insecure, block): still found on older hosts. */
function parseV1(doc: Table, file: string): Partial<RegistriesConf> {
  const section = doc.registries as Record<string, { registries?: unknown }>;
  const names = (k: string): string[] => {
    const v = section[k]?.registries ?? [];
    if (!Array.isArray(v)) throw new RegistriesConfError(`${file}: [registries.${k}] registries must be a list`);
    return v.map(String);
  };
  const entries = new Map<string, RegistryEntry>();
  const entry = (host: string): RegistryEntry => {
    const e = entries.get(host) ?? { prefix: host, location: host, insecure: false, blocked: false, mirrors: [] };
    entries.set(host, e);
    return e;
  };
  for (const h of names('insecure')) entry(h).insecure = true;
  for (const h of names('block')) entry(h).blocked = true;
  return { search: names('search'), registries: [...entries.values()] };
}

function parseFile(path: string): Partial<RegistriesConf> {
  let doc: Table;
  try {
    doc = parseToml(readFileSync(path, 'utf8')) as Table;
  } catch (err) {
    const e = err as Error & { line?: number; column?: number };
    const at = e.line !== undefined ? `:${e.line}:${e.column ?? 0}` : '';
    throw new RegistriesConfError(`${path}${at}: ${e.message.split('\n')[0]}`);
  }
  if (doc.registries !== undefined && typeof doc.registries === 'object' && !Array.isArray(doc.registries)) {
    if (doc.registry !== undefined || doc['unqualified-search-registries'] !== undefined) {
      throw new RegistriesConfError(`${path}: mixes version 1 ([registries.search]) and version 2 ([[registry]]) syntax; use one`);
    }
    return parseV1(doc, path);
  }
  return parseV2(doc, path);
}

/**
 * The configuration in force: $CONTAINERS_REGISTRIES_CONF alone when set,
 * else /etc/containers/registries.conf and then, in name order, the files
 * of registries.conf.d beside it (a later file's entry for a prefix
 * replaces an earlier one's). No file: docker.io for short names, nothing else.
 */
export function loadRegistriesConf(env: NodeJS.ProcessEnv = process.env): RegistriesConf {
  const named = env.CONTAINERS_REGISTRIES_CONF;
  const files: string[] = [];
  if (named) {
    if (!existsSync(named)) throw new RegistriesConfError(`CONTAINERS_REGISTRIES_CONF names ${named}, which does not exist`);
    files.push(named);
  } else {
    if (existsSync(DEFAULT_REGISTRIES_CONF)) files.push(DEFAULT_REGISTRIES_CONF);
    const dropIns = `${DEFAULT_REGISTRIES_CONF}.d`;
    if (existsSync(dropIns)) files.push(...readdirSync(dropIns).filter((f) => f.endsWith('.conf')).sort().map((f) => join(dropIns, f)));
  }
  const conf: RegistriesConf = { ...EMPTY, registries: [], files };
  const byPrefix = new Map<string, RegistryEntry>();
  for (const f of files) {
    const part = parseFile(f);
    if (part.search) conf.search = part.search;
    for (const r of part.registries ?? []) byPrefix.set(r.prefix, r);
  }
  conf.registries = [...byPrefix.values()];
  return conf;
}

/** Whether `prefix` covers `name` (at a path boundary; `*.example.com` for any subdomain). */
function prefixMatches(prefix: string, name: string): number {
  if (prefix.startsWith('*.')) {
    const host = name.split('/')[0] ?? '';
    return host.endsWith(prefix.slice(1)) ? prefix.length : -1;
  }
  if (name === prefix || name.startsWith(`${prefix}/`)) return prefix.length;
  return -1;
}

/** The [[registry]] entry for a repository: the longest matching prefix. */
export function registryFor(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  let bestLength = -1;
  for (const r of conf.registries) {
    const n = prefixMatches(r.prefix, name);
    if (n > bestLength) {
      best = r;
      bestLength = n;
    }
  }
  return best;
}

function rewrite(location: string, prefix: string, name: string): { host: string; repository: string } {
  // A wildcard prefix keeps the name's own host; a location replaces the prefix.
  const rest = prefix.startsWith('*.') ? name : name.slice(prefix.length);
  const full = prefix.startsWith('*.') ? name : `${location}${rest}`;
  const slash = full.indexOf('/');
  return { host: full.slice(0, slash), repository: full.slice(slash + 1) };
}

/** Loopback is plain HTTP without asking (docker's rule for 127.0.0.0/8 and localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, '');
  return h === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '[::1]';
}

/**
 * Where to pull `ref` from: its mirrors in order (those allowed for a tag
 * or a digest), then the registry's location. Refused when blocked.
 */
export function pullSources(conf: RegistriesConf, ref: Reference): PullSource[] {
  const name = repoName(ref);
  const entry = registryFor(conf, name);
  if (entry?.blocked) throw new RegistriesConfError(`registry ${entry.prefix} is blocked in ${conf.files.join(', ') || 'registries.conf'}`);
  const byDigest = ref.digest !== undefined;
  const out: PullSource[] = [];
  for (const m of entry?.mirrors ?? []) {
    if (m.pullFromMirror === 'digest-only' && !byDigest) continue;
    if (m.pullFromMirror === 'tag-only' && byDigest) continue;
    const at = rewrite(m.location, entry?.prefix ?? '', name);
    out.push({ ...at, insecure: m.insecure || isLoopbackHost(at.host), mirror: true });
  }
  const own = entry ? rewrite(entry.location, entry.prefix, name) : { host: ref.domain, repository: ref.path };
  // Docker Hub's API is not served at docker.io itself.
  if (own.host === DOCKER_HUB) own.host = 'registry-1.docker.io';
  out.push({ ...own, insecure: (entry?.insecure ?? false) || isLoopbackHost(own.host), mirror: false });
  return out;
}
