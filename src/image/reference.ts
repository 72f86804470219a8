// Image references as the ecosystem writes them (the grammar of
// distribution's `reference` package, applied as the kubelet and podman
// apply it): `nginx` is docker.io/library/nginx:latest, a first component
// with a dot, a colon or "localhost" is a registry host, tags and sha256
// digests. An image ID (`sha256:<64 hex>`) is accepted wherever a reference
// is, as the CRI passes IDs.

export class ReferenceError extends Error {
  override name = 'ReferenceError';
}

export const DOCKER_HUB = 'docker.io';

export interface Reference {
  /** The registry host, with its port: docker.io, 127.0.0.1:5000. */
  domain: string;
  /** The repository within it: library/nginx. */
  path: string;
  tag?: string;
  /** sha256:<hex>, when pulled by digest. */
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;
const DOMAIN = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const ID = /^(?:sha256:)?([a-f0-9]{64})$/;
const NAME_MAX = 255;

/** `sha256:<64 hex>` (or the bare 64 hex digits): an image ID, not a name. */
export function asImageId(text: string): string | undefined {
  const m = ID.exec(text);
  return m ? `sha256:${m[1]}` : undefined;
}

export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

/** Whether `ref` names a registry host in its first component (as docker decides it). */
function splitDomain(name: string): { domain: string | undefined; rest: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: undefined, rest: name };
  const first = name.slice(0, slash);
  const isHost = /[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first;
  return isHost ? { domain: first, rest: name.slice(slash + 1) } : { domain: undefined, rest: name };
}

/**
 * Parses a reference, keeping what was written: `domain` is undefined for a
 * short name (`nginx`, `library/nginx`), which the caller qualifies
 * (registries.conf's unqualified-search-registries, docker.io by default).
 */
export function parseReference(text: string): { domain: string | undefined; path: string; tag?: string; digest?: string } {
  const bad = (why: string): ReferenceError => new ReferenceError(`invalid image reference "${text}": ${why}`);
  if (text === '') throw bad('it is empty');
  if (text !== text.trim()) throw bad('it has leading or trailing white space');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`"${digest}" is not a digest (sha256: and 64 hex digits)`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag (letters, digits, _ . -; at most 128)`);
  }
  if (rest.length > NAME_MAX) throw bad(`the name is longer than ${NAME_MAX} characters`);
  const { domain, rest: path } = splitDomain(rest);
  if (domain !== undefined && !DOMAIN.test(domain)) throw bad(`"${domain}" is not a registry host`);
  if (path === '') throw bad('it has no repository name');
  for (const c of path.split('/')) {
    if (c.toLowerCase() !== c) throw bad('repository names must be lowercase');
    if (!COMPONENT.test(c)) throw bad(`"${c}" is not a valid name component (lowercase letters, digits, separators . _ __ -)`);
  }
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Docker Hub's own spellings, and its implicit `library/`. */
export function qualify(parsed: ReturnType<typeof parseReference>, domain: string): Reference {
  const host = domain === 'index.docker.io' || domain === 'registry-1.docker.io' ? DOCKER_HUB : domain;
  const path = host === DOCKER_HUB && !parsed.path.includes('/') ? `library/${parsed.path}` : parsed.path;
  return { domain: host, path, ...(parsed.tag !== undefined ? { tag: parsed.tag } : {}), ...(parsed.digest !== undefined ? { digest: parsed.digest } : {}) };
}

/** A reference with its registry; short names go to docker.io (the kubelet's normalisation). */
export function normalize(text: string): Reference {
  const parsed = parseReference(text);
  return qualify(parsed, parsed.domain ?? DOCKER_HUB);
}

/** With neither tag nor digest, `latest` (as docker and the kubelet default it). */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

export function repoName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** docker.io/library/nginx:latest, name@sha256:..., or name:tag@sha256:... */
export function formatReference(ref: Reference): string {
  return `${repoName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** How the store keys a reference: `name@digest` when it has one, else `name:tag`. */
export function refKey(ref: Reference): string {
  return ref.digest !== undefined ? `${repoName(ref)}@${ref.digest}` : `${repoName(ref)}:${ref.tag ?? 'latest'}`;
}
