// The registry client against a registry that misbehaves on purpose (a
// small HTTP server on loopback): oversized manifests and configs,
// a digest header that lies, basic auth, a redirect to blob storage (which
// must not get the registry's credentials), an image for another machine.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_LIMIT } from '../../src/image/manifest.js';
import { pullImage } from '../../src/image/pull.js';
import { Registry } from '../../src/image/registry.js';

const digest = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('registry client against a hostile registry (loopback)', () => {
  let server: Server;
  let storage: Server;
  let host: string;
  let work: string;
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const storageSaw: Array<string | undefined> = [];
  const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'peapod-registry-unit-'));
    storage = createServer((req, res) => {
      storageSaw.push(req.headers.authorization);
      res.writeHead(200, { 'Content-Length': String(config.length) }).end(config);
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    const storageHost = `127.0.0.1:${(storage.address() as { port: number }).port}`;
    server = createServer((req, res) => {
      if (req.url === '/v2/') return void res.writeHead(200).end('{}');
      // Everything under basic/ wants a password.
      if (req.url?.startsWith('/v2/basic/') && req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) {
        return void res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="r"' }).end();
      }
      if (req.url === `/v2/basic/app/blobs/${digest(config)}`) return void res.writeHead(307, { Location: `http://${storageHost}/blob?signed=1` }).end();
      const route = routes.get(req.url ?? '');
      if (route) return route(req, res);
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    writeFileSync(join(work, 'registries.conf'), `[[registry]]\nprefix = "fake.test"\nlocation = "${host}"\ninsecure = true\n`);
  });

  afterAll(async () => {
    server.closeAllConnections();
    storage.closeAllConnections();
    await new Promise((r) => server.close(r));
    await new Promise((r) => storage.close(r));
    rmSync(work, { recursive: true, force: true });
  });

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, CONTAINERS_REGISTRIES_CONF: join(work, 'registries.conf'), REGISTRY_AUTH_FILE: join(work, 'auth.json') });

  it('refuses a manifest over 4 MiB, and a config over 8 MiB before fetching it', async () => {
    routes.set('/v2/big/manifests/1', (_req, res) => res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }).end(Buffer.alloc(5 * 1024 * 1024, 0x20)));
    await expect(pullImage(mkdtempSync(join(work, 's-')), 'fake.test/big:1', { env: env() })).rejects.toThrow(/the manifest of .*big:1 is (5242880 bytes, )?over the limit of 4194304/);
    const reg = new Registry(host, true, env());
    await expect(reg.smallBlob('x', { mediaType: '', digest: digest('x'), size: CONFIG_LIMIT + 1 }, CONFIG_LIMIT, 'the image config')).rejects.toThrow(`the image config is ${CONFIG_LIMIT + 1} bytes, over the limit of ${CONFIG_LIMIT}`);
  });

  it('refuses a manifest whose bytes are not the digest the registry states', async () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length }, layers: [] }));
    routes.set('/v2/liar/manifests/1', (_req, res) => res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Docker-Content-Digest': digest('something else') }).end(body));
    await expect(new Registry(host, true, env()).manifest('liar', '1')).rejects.toThrow(/digest mismatch: the registry says sha256:[a-f0-9]+, the bytes are sha256:/);
  });

  it('answers basic auth with credentials from the auth file, follows a redirect to storage without them', async () => {
    writeFileSync(join(work, 'auth.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from('u:p').toString('base64') } } }));
    const got = await new Registry(host, true, env()).smallBlob('basic/app', { mediaType: '', digest: digest(config), size: config.length }, CONFIG_LIMIT, 'the config');
    expect(got.equals(config)).toBe(true);
    expect(storageSaw).toEqual([undefined]);
    rmSync(join(work, 'auth.json'));
    await expect(new Registry(host, true, env()).smallBlob('basic/app', { mediaType: '', digest: digest(config), size: config.length }, CONFIG_LIMIT, 'the config')).rejects.toThrow(
      /401 Unauthorized: it wants a user name and password, and none is in/,
    );
  });

  it('refuses an image built for another machine, naming both platforms', async () => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length }, layers: [] }));
    routes.set('/v2/arm/manifests/1', (_req, res) => res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest));
    routes.set(`/v2/arm/blobs/${digest(config)}`, (_req, res) => res.writeHead(200).end(config));
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'arm64' } }] }));
    routes.set('/v2/armindex/manifests/1', (_req, res) => res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }).end(index));
    const store = mkdtempSync(join(work, 's-'));
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    if (arch === 'arm64') return;
    await expect(pullImage(store, 'fake.test/arm:1', { env: env() })).rejects.toThrow(`the image is for linux/arm64 only, and this machine is linux/${arch}`);
    await expect(pullImage(store, 'fake.test/armindex:1', { env: env() })).rejects.toThrow(`no manifest for linux/${arch} in the index (it has linux/arm64)`);
  });
});
