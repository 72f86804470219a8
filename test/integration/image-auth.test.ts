// A registry that requires a token (distribution's own token auth: JWTs
// signed by a key whose certificate it trusts), with a token server
// written here that wants a user name and password: anonymous pulls are
// refused with a 401 that names the cause; credentials from
// $REGISTRY_AUTH_FILE (containers' auth.json) get the token.
import { execFileSync } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullImage } from '../../src/image/pull.js';
import { findLocalImage, resolveImage } from '../../src/image/store.js';
import { isRoot } from './helpers.js';
import { hasRegistryTools, ociImage, push, registriesConf, startRegistry, tarOf, type TestRegistry } from './registry-harness.js';

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

describe.skipIf(!isRoot || !hasRegistryTools)('token auth (distribution token auth, a token server of the test)', () => {
  let work: string;
  let open: TestRegistry;
  let secured: TestRegistry;
  let tokenServer: Server;
  const requests: Array<{ auth: string | undefined; scope: string | null }> = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'peapod-auth-'));
    const key = join(work, 'key.pem');
    const cert = join(work, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=peapod-test-token'], { stdio: 'ignore' });
    const der = new X509Certificate(readFileSync(cert)).raw.toString('base64');
    const signer = readFileSync(key);
    tokenServer = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push({ auth: req.headers.authorization, scope: url.searchParams.get('scope') });
      if (req.headers.authorization !== `Basic ${Buffer.from('alice:s3cret').toString('base64')}`) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end();
        return;
      }
      const [, name, actions] = (url.searchParams.get('scope') ?? '').split(':');
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der] }));
      const claims = b64url(JSON.stringify({ iss: 'peapod-test', sub: 'alice', aud: 'test-registry', exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access: [{ type: 'repository', name, actions: (actions ?? '').split(',') }] }));
      const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(signer);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${b64url(signature)}` }));
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
    const realm = `http://127.0.0.1:${(tokenServer.address() as { port: number }).port}/token`;
    // Pushed to an open registry; served by a second one on the same storage that wants tokens.
    open = await startRegistry();
    const layout = join(work, 'oci');
    ociImage(layout, 'app', [tarOf(resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox').rootfs, join(work, 'base.tar'))], ['--config.cmd', 'sh']);
    push(layout, 'app', `${open.host}/private/app:1`);
    secured = await startRegistry({ data: open.data, token: { realm, service: 'test-registry', issuer: 'peapod-test', rootCertBundle: cert } });
    registriesConf(work, [{ prefix: 'private.test', location: secured.host }]);
  });

  afterAll(async () => {
    await secured?.stop();
    await open?.stop();
    await new Promise((r) => tokenServer?.close(r));
    rmSync(work, { recursive: true, force: true });
  });

  const env = (auth?: object): NodeJS.ProcessEnv => {
    const file = join(work, 'auth.json');
    if (auth) writeFileSync(file, JSON.stringify(auth));
    return { ...process.env, CONTAINERS_REGISTRIES_CONF: join(work, 'registries.conf'), REGISTRY_AUTH_FILE: auth ? file : join(work, 'none.json'), HOME: work, XDG_RUNTIME_DIR: '', XDG_CONFIG_HOME: '' };
  };

  it('without credentials: a 401 naming the registry and what is missing; nothing stored', async () => {
    const dir = mkdtempSync(join(work, 'store-'));
    await expect(pullImage(dir, 'private.test/private/app:1', { env: env() })).rejects.toThrow(
      /^image "private.test\/private\/app:1": pulling private.test\/private\/app:1: 127.0.0.1:\d+: 401 Unauthorized from the token server 127.0.0.1:\d+: it wants credentials \(none found in \$REGISTRY_AUTH_FILE, containers auth.json or ~\/.docker\/config.json\)$/,
    );
    expect(findLocalImage(dir, 'private.test/private/app:1')).toBeUndefined();
  });

  it('with wrong credentials: refused, naming the user and the file', async () => {
    const dir = mkdtempSync(join(work, 'store-'));
    await expect(pullImage(dir, 'private.test/private/app:1', { env: env({ auths: { [secured.host]: { auth: Buffer.from('alice:wrong').toString('base64') } } }) })).rejects.toThrow(
      /the credentials for alice in .*auth\.json were refused/,
    );
  });

  it("with credentials in $REGISTRY_AUTH_FILE: a bearer token for the repository's pull scope, and the image", async () => {
    const dir = mkdtempSync(join(work, 'store-'));
    const seen = requests.length;
    const result = await pullImage(dir, 'private.test/private/app:1', { env: env({ auths: { [secured.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }) });
    expect(result.fetched).toBe(1);
    expect(requests.slice(seen)).toContainEqual({ auth: `Basic ${Buffer.from('alice:s3cret').toString('base64')}`, scope: 'repository:private/app:pull' });
    expect(findLocalImage(dir, 'private.test/private/app:1')).toBeDefined();
  });
});
