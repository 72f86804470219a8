// A client of the OCI distribution API (registry v2), the part a pull
// uses: GET /v2/ to learn the scheme and the auth, manifests by tag or
// digest with every manifest type in Accept, blobs by digest. Auth is
// anonymous or credentialed bearer tokens from the realm a 401's
// WWW-Authenticate names, or basic auth. Redirects (to blob storage) are
// followed by hand, without the registry's Authorization. A blob whose
// connection drops is resumed with Range; every byte is hashed and the
// digest and size checked before the caller may use the result.
import { setTimeout as sleep } from 'node:timers/promises';
import { basicAuth, findCredentials, parseChallenge, type Credentials } from './auth.js';
import { algorithmOf, DigestError, hasher, sha256, verifyBytes } from './digest.js';
import { discard, HttpError, readBody, request, type HttpResponse } from './http.js';
import { MANIFEST_ACCEPT, MANIFEST_LIMIT, type Descriptor } from './manifest.js';
import { isDigest } from './reference.js';

export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly kind: 'notFound' | 'auth' | 'network' | 'protocol' = 'protocol',
  ) {
    super(message);
  }
}

/** The caller's own failure while consuming a blob (extraction): never retried. */
class SinkError extends Error {
  constructor(readonly inner: unknown) {
    super('sink');
  }
}

const RETRIES = 4;
const REDIRECTS = 5;

export interface FetchedManifest {
  body: Buffer;
  mediaType: string | undefined;
  digest: string;
}

/** A registry's first error message ({"errors":[{"code","message"}]}), if its body has one. */
async function errorText(res: HttpResponse): Promise<string> {
  try {
    const body = await readBody(res, 64 * 1024, 'error body');
    const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    const e = doc.errors?.[0];
    return e ? `${e.code ?? ''}${e.message ? `: ${e.message}` : ''}` : '';
  } catch {
    return '';
  }
}

function retryable(err: unknown): boolean {
  if (err instanceof SinkError || err instanceof DigestError) return false;
  if (err instanceof RegistryError) return err.kind === 'network';
  return true; // a dropped connection, a reset, a timeout, a short body
}

export class Registry {
  private base: string | undefined;
  private readonly tokens = new Map<string, string>();
  private creds: Credentials | undefined | null = null;

  constructor(
    readonly host: string,
    readonly insecure: boolean,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly signal?: AbortSignal,
  ) {}

  private credentials(repo: string): Credentials | undefined {
    if (this.creds === null) this.creds = findCredentials(this.host, repo, this.env);
    return this.creds;
  }

  /** GET /v2/: https first; plain http only for an insecure registry (or loopback). */
  private async origin(): Promise<string> {
    if (this.base) return this.base;
    const schemes = this.insecure ? ['https', 'http'] : ['https'];
    let last: unknown;
    for (const scheme of schemes) {
      try {
        const res = await request(new URL(`${scheme}://${this.host}/v2/`), { insecureTls: this.insecure, ...(this.signal ? { signal: this.signal } : {}) });
        discard(res);
        if (res.status !== 200 && res.status !== 401) throw new RegistryError(`${this.host} answers ${res.status} at /v2/: not a registry`, 'protocol');
        this.base = `${scheme}://${this.host}`;
        return this.base;
      } catch (err) {
        last = err;
        if (err instanceof RegistryError) throw err;
      }
    }
    throw new RegistryError(`cannot reach registry ${this.host}: ${(last as Error).message.replace(`${this.host}: `, '')}`, 'network');
  }

  /** A bearer token for `scope`, from the realm the challenge names. */
  private async token(challenge: Record<string, string>, repo: string): Promise<string> {
    const scope = `repository:${repo}:pull`;
    const realm = challenge.realm;
    if (!realm) throw new RegistryError(`${this.host} asks for a bearer token but names no realm`, 'auth');
    const url = new URL(realm);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', scope);
    const creds = this.credentials(repo);
    const res = await request(url, { headers: creds ? { Authorization: basicAuth(creds) } : {}, insecureTls: this.insecure, ...(this.signal ? { signal: this.signal } : {}) });
    if (res.status === 401 || res.status === 403) {
      discard(res);
      throw new RegistryError(
        `${this.host}: ${res.status} Unauthorized from the token server ${url.host}: ${creds ? `the credentials for ${creds.username} in ${creds.file} were refused` : 'it wants credentials (none found in $REGISTRY_AUTH_FILE, containers auth.json or ~/.docker/config.json)'}`,
        'auth',
      );
    }
    if (res.status !== 200) throw new RegistryError(`${this.host}: the token server ${url.host} answered ${res.status} ${await errorText(res)}`.trim(), 'auth');
    const doc = JSON.parse((await readBody(res, 1024 * 1024, 'token')).toString('utf8')) as { token?: string; access_token?: string };
    const token = doc.token ?? doc.access_token;
    if (!token) throw new RegistryError(`${this.host}: the token server sent no token`, 'auth');
    this.tokens.set(scope, token);
    return token;
  }

  private authHeader(repo: string): Record<string, string> {
    const token = this.tokens.get(`repository:${repo}:pull`);
    if (token) return { Authorization: `Bearer ${token}` };
    const basic = this.tokens.get('basic');
    return basic ? { Authorization: basic } : {};
  }

  /** GET `path` of the registry for `repo`, answering one auth challenge and following redirects. */
  private async get(repo: string, path: string, headers: Record<string, string>): Promise<HttpResponse> {
    const origin = await this.origin();
    for (let attempt = 0; ; attempt++) {
      let url = new URL(`${origin}${path}`);
      let auth = this.authHeader(repo);
      let res: HttpResponse;
      for (let hops = 0; ; hops++) {
        res = await request(url, { headers: { ...headers, ...auth }, insecureTls: this.insecure, ...(this.signal ? { signal: this.signal } : {}) });
        const location = res.headers.location;
        if (![301, 302, 303, 307, 308].includes(res.status) || !location) break;
        discard(res);
        if (hops >= REDIRECTS) throw new RegistryError(`${this.host}: more than ${REDIRECTS} redirects for ${path}`, 'protocol');
        const next = new URL(location, url);
        // The registry's credentials stay with the registry (blob storage gets a signed URL instead).
        if (next.host !== url.host) auth = {};
        url = next;
      }
      if (res.status !== 401 || attempt > 0) {
        if (res.status === 401) {
          discard(res);
          const creds = this.credentials(repo);
          throw new RegistryError(`${this.host}: 401 Unauthorized for ${repo}${creds ? ` with the credentials for ${creds.username} in ${creds.file}` : ' (no credentials found)'}`, 'auth');
        }
        return res;
      }
      const challenge = parseChallenge(res.headers['www-authenticate']);
      discard(res);
      if (challenge?.scheme === 'bearer') await this.token(challenge.params, repo);
      else if (challenge?.scheme === 'basic') {
        const creds = this.credentials(repo);
        if (!creds) throw new RegistryError(`${this.host}: 401 Unauthorized: it wants a user name and password, and none is in $REGISTRY_AUTH_FILE, containers auth.json or ~/.docker/config.json`, 'auth');
        this.tokens.set('basic', basicAuth(creds));
      } else throw new RegistryError(`${this.host}: 401 Unauthorized, with no challenge peapod can answer`, 'auth');
    }
  }

  /** A manifest (or index) by tag or digest, verified: by its digest, or against Docker-Content-Digest. */
  async manifest(repo: string, reference: string): Promise<FetchedManifest> {
    const res = await this.get(repo, `/v2/${repo}/manifests/${reference}`, { Accept: MANIFEST_ACCEPT });
    const name = `${this.host}/${repo}${isDigest(reference) ? '@' : ':'}${reference}`;
    if (res.status === 404) {
      const why = await errorText(res);
      throw new RegistryError(`${name} not found${why ? ` (${why})` : ''}`, 'notFound');
    }
    if (res.status !== 200) {
      const kind = res.status >= 500 || res.status === 429 ? 'network' : 'protocol';
      throw new RegistryError(`${this.host}: ${res.status} for the manifest of ${name} ${await errorText(res)}`.trim(), kind);
    }
    const body = await readBody(res, MANIFEST_LIMIT, `the manifest of ${name}`).catch((err: unknown) => {
      throw new RegistryError((err as Error).message, err instanceof HttpError && err.code === 'ETOOBIG' ? 'protocol' : 'network');
    });
    const mediaType = res.headers['content-type']?.split(';')[0]?.trim();
    if (isDigest(reference)) {
      verifyBytes(body, reference, `the manifest ${reference} of ${repo}`);
      return { body, mediaType, digest: reference };
    }
    const digest = sha256(body);
    const said = res.headers['docker-content-digest'];
    if (typeof said === 'string' && isDigest(said) && algorithmOf(said) === 'sha256' && said !== digest) {
      throw new DigestError(`the manifest of ${repo}:${reference}: digest mismatch: the registry says ${said}, the bytes are ${digest}`);
    }
    return { body, mediaType, digest };
  }

  /** A small blob (a config), whole, verified. */
  async smallBlob(repo: string, desc: Descriptor, limit: number, what: string): Promise<Buffer> {
    if (desc.size > limit) throw new RegistryError(`${what} is ${desc.size} bytes, over the limit of ${limit}`, 'protocol');
    const chunks: Buffer[] = [];
    await this.blob(repo, desc, (c) => void chunks.push(c));
    return Buffer.concat(chunks);
  }

  /**
   * Streams a blob to `sink`, resuming with Range after a dropped
   * connection (up to 4 times); throws unless every byte arrived and the
   * digest matches. `sink` sees each byte once, in order.
   */
  async blob(repo: string, desc: Descriptor, sink: (chunk: Buffer) => void | Promise<void>, onBytes?: (done: number) => void): Promise<void> {
    const hash = hasher(desc.digest);
    let offset = 0;
    let failures = 0;
    for (;;) {
      try {
        const res = await this.get(repo, `/v2/${repo}/blobs/${desc.digest}`, offset > 0 ? { Range: `bytes=${offset}-` } : {});
        if (res.status === 404) {
          discard(res);
          throw new RegistryError(`${this.host}/${repo}: blob ${desc.digest} not found`, 'notFound');
        }
        if (res.status === 416) {
          discard(res);
          throw new DigestError(`blob ${desc.digest}: truncated: the registry has ${offset} bytes of ${desc.size}`);
        }
        if (res.status !== 200 && res.status !== 206) {
          const kind = res.status >= 500 || res.status === 429 ? 'network' : 'protocol';
          throw new RegistryError(`${this.host}: ${res.status} for blob ${desc.digest} ${await errorText(res)}`.trim(), kind);
        }
        // A server that ignores Range sends it all again: skip what we have.
        let skip = res.status === 200 ? offset : 0;
        if (res.status === 206 && !new RegExp(`^bytes ${offset}-`).test(String(res.headers['content-range'] ?? ''))) {
          res.body.destroy();
          throw new RegistryError(`${this.host}: blob ${desc.digest}: asked for bytes from ${offset}, got ${res.headers['content-range']}`, 'protocol');
        }
        for await (let chunk of res.body as AsyncIterable<Buffer>) {
          if (skip > 0) {
            if (chunk.length <= skip) {
              skip -= chunk.length;
              continue;
            }
            chunk = chunk.subarray(skip);
            skip = 0;
          }
          if (offset + chunk.length > desc.size) {
            res.body.destroy();
            throw new DigestError(`blob ${desc.digest}: more bytes than the ${desc.size} its descriptor says`);
          }
          hash.update(chunk);
          offset += chunk.length;
          try {
            await sink(chunk);
          } catch (err) {
            res.body.destroy();
            throw new SinkError(err);
          }
          onBytes?.(offset);
        }
        if (offset === desc.size) break;
        throw new HttpError(`the connection ended after ${offset} of ${desc.size} bytes`, 'ESHORT');
      } catch (err) {
        if (err instanceof SinkError) throw err.inner;
        if (!retryable(err) || ++failures > RETRIES || this.signal?.aborted) {
          if (err instanceof HttpError && err.code === 'ESHORT') throw new DigestError(`blob ${desc.digest}: truncated: ${err.message}`);
          throw err;
        }
        await sleep(100 * 2 ** failures, undefined, this.signal ? { signal: this.signal } : {});
      }
    }
    const got = `${algorithmOf(desc.digest)}:${hash.digest('hex')}`;
    if (got !== desc.digest) throw new DigestError(`blob ${desc.digest}: digest mismatch: the bytes are ${got}`);
  }
}
