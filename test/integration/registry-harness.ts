// Real parts for the image tests: Debian's docker-registry (distribution
// 2.8) on a free loopback port, images made by umoci from the busybox
// layer and pushed by skopeo, and a small HTTP proxy in front of the
// registry that counts requests and can drop a connection mid-blob.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasRegistryTools = ['docker-registry', 'skopeo', 'umoci', 'setfattr'].every((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface TestRegistry {
  host: string;
  dir: string;
  /** Its storage directory. */
  data: string;
  /** Where distribution keeps blobs (to damage one on purpose). */
  blobFile(digest: string): string;
  stop(): Promise<void>;
}

export interface TokenAuth {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
}

/** A registry on a free port; `data` reuses another's storage (to serve what was pushed there). */
export async function startRegistry(opts: { token?: TokenAuth; data?: string } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'peapod-registry-'));
  const data = opts.data ?? join(dir, 'data');
  const port = await freePort();
  const auth = opts.token
    ? `auth:\n  token:\n    realm: ${opts.token.realm}\n    service: ${opts.token.service}\n    issuer: ${opts.token.issuer}\n    rootcertbundle: ${opts.token.rootCertBundle}\n`
    : '';
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${data}}\n  delete: {enabled: true}\nhttp: {addr: 127.0.0.1:${port}}\n${auth}`,
  );
  // Its log (every 404 of a push's HEAD checks) stays out of the test output.
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await answers(`http://127.0.0.1:${port}/v2/`))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`docker-registry did not answer on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    dir,
    data,
    blobFile: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return join(data, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A tar of `dir` (GNU tar, numeric owners), as a layer for umoci. */
export function tarOf(dir: string, out: string): string {
  execFileSync('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-C', dir, '-cf', out, '.']);
  return out;
}

/** An OCI image in `layout` at `tag`: the layer tars in order, then `umoci config` flags. */
export function ociImage(layout: string, tag: string, layers: string[], config: string[] = []): void {
  execFileSync('sh', ['-c', `[ -e "$0/index.json" ] || umoci init --layout "$0"`, layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:${tag}`], { stdio: 'pipe' });
  for (const l of layers) execFileSync('umoci', ['raw', 'add-layer', '--no-history', '--image', `${layout}:${tag}`, l], { stdio: 'pipe' });
  if (config.length > 0) execFileSync('umoci', ['config', '--no-history', '--image', `${layout}:${tag}`, ...config], { stdio: 'pipe' });
}

/** skopeo copy from the layout to the registry (Docker schema 2 with format v2s2). */
export function push(layout: string, tag: string, dest: string, format?: 'v2s2' | 'oci', all = false): void {
  execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', ...(format ? ['--format', format] : []), ...(all ? ['--all'] : []), `oci:${layout}:${tag}`, `docker://${dest}`]);
}

/** A registries.conf sending `prefix` to `location` (plain HTTP), with mirrors first. */
export function registriesConf(dir: string, entries: Array<{ prefix: string; location: string; mirrors?: string[] }>, search = ['docker.io']): string {
  const path = join(dir, 'registries.conf');
  const body = entries
    .map(
      (e) =>
        `[[registry]]\nprefix = "${e.prefix}"\nlocation = "${e.location}"\ninsecure = true\n` +
        (e.mirrors ?? []).map((m) => `[[registry.mirror]]\nlocation = "${m}"\ninsecure = true\n`).join(''),
    )
    .join('\n');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path, `unqualified-search-registries = ${JSON.stringify(search)}\n\n${body}`);
  return path;
}

export interface ProxyRequest {
  method: string;
  url: string;
  range?: string;
}

export interface TestProxy {
  host: string;
  requests: ProxyRequest[];
  /** Blob GETs (not HEAD) seen for a digest. */
  blobGets(digest?: string): ProxyRequest[];
  /** The next GET of this blob is cut after `bytes` bytes of body. */
  dropNext(digest: string, bytes: number): void;
  /** Blob bodies are sent slowly (for a pull to be caught half-way). */
  throttle(bytesPerTick: number): void;
  stop(): Promise<void>;
}

/** A forwarding proxy to `target` (host:port) that records every request. */
export async function startProxy(target: string): Promise<TestProxy> {
  const requests: ProxyRequest[] = [];
  const drops = new Map<string, number>();
  let rate = 0;
  const server: Server = createServer((req, res) => {
    const entry: ProxyRequest = { method: req.method ?? 'GET', url: req.url ?? '', ...(req.headers.range ? { range: String(req.headers.range) } : {}) };
    requests.push(entry);
    const up = request(`http://${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: target } }, (upRes: IncomingMessage) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      const digest = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '')?.[1];
      const cut = digest && req.method === 'GET' ? drops.get(digest) : undefined;
      if (cut !== undefined && digest) drops.delete(digest);
      let sent = 0;
      let chain = Promise.resolve();
      upRes.on('data', (chunk: Buffer) => {
        if (cut !== undefined && sent + chunk.length >= cut) {
          res.write(chunk.subarray(0, cut - sent));
          upRes.destroy();
          res.socket?.destroy();
          return;
        }
        sent += chunk.length;
        if (rate > 0 && digest) {
          upRes.pause();
          chain = chain.then(async () => {
            for (let i = 0; i < chunk.length; i += rate) {
              if (res.destroyed) return;
              res.write(chunk.subarray(i, i + rate));
              await new Promise((r) => setTimeout(r, 20));
            }
            upRes.resume();
          });
        } else res.write(chunk);
      });
      upRes.on('end', () => void chain.then(() => res.end()));
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    blobGets: (digest) => requests.filter((r) => r.method === 'GET' && /\/blobs\//.test(r.url) && (!digest || r.url.endsWith(digest))),
    dropNext: (digest, bytes) => void drops.set(digest, bytes),
    throttle: (n) => void (rate = n),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
