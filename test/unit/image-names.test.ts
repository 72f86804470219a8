// Image references, registries.conf, credentials files, challenges,
// platform selection, pull-policy defaults and the overlay's lowerdir: the
// pure parts of pulling, against the ecosystem's own rules.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCredentials, parseChallenge } from '../../src/image/auth.js';
import { chainIds, sha256 } from '../../src/image/digest.js';
import { defaultPullPolicy } from '../../src/kubelet/image-manager.js';
import { MOUNT_DATA_MAX, overlayRootSteps } from '../../src/image/lowerdir.js';
import { checkConfigPlatform, parseManifest, selectPlatform, type IndexDoc } from '../../src/image/manifest.js';
import { asImageId, formatReference, normalize, withDefaultTag } from '../../src/image/reference.js';
import { loadRegistriesConf, pullSources } from '../../src/image/registries-conf.js';

const dir = mkdtempSync(join(tmpdir(), 'peapod-names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('references (docker and the kubelet normalise them so)', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.25', 'docker.io/library/nginx:1.25'],
    ['bitnami/nginx', 'docker.io/bitnami/nginx:latest'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx:latest'],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    ['localhost/app', 'localhost/app:latest'],
    ['127.0.0.1:5000/a/b/c:v1', '127.0.0.1:5000/a/b/c:v1'],
    [`nginx@sha256:${'a'.repeat(64)}`, `docker.io/library/nginx@sha256:${'a'.repeat(64)}`],
    [`nginx:1@sha256:${'a'.repeat(64)}`, `docker.io/library/nginx:1@sha256:${'a'.repeat(64)}`],
  ])('%s -> %s', (text, want) => {
    expect(formatReference(withDefaultTag(normalize(text)))).toBe(want);
  });

  it.each([
    ['', /it is empty/],
    ['UPPER/Case', /repository names must be lowercase/],
    ['a//b', /"" is not a valid name component/],
    ['nginx:bad tag', /is not a valid tag/],
    ['nginx@sha256:abc', /is not a digest/],
    [' nginx', /white space/],
    ['-nginx', /is not a valid name component/],
  ])('refuses %j', (text, why) => {
    expect(() => normalize(text)).toThrow(why);
  });

  it('takes image IDs (what the CRI passes) as IDs', () => {
    expect(asImageId(`sha256:${'b'.repeat(64)}`)).toBe(`sha256:${'b'.repeat(64)}`);
    expect(asImageId('b'.repeat(64))).toBe(`sha256:${'b'.repeat(64)}`);
    expect(asImageId('nginx')).toBeUndefined();
  });

  it('defaults imagePullPolicy as the API server does', () => {
    expect(defaultPullPolicy('nginx')).toBe('Always');
    expect(defaultPullPolicy('nginx:latest')).toBe('Always');
    expect(defaultPullPolicy('nginx:1.25')).toBe('IfNotPresent');
    expect(defaultPullPolicy(`nginx@sha256:${'a'.repeat(64)}`)).toBe('IfNotPresent');
  });

  it('chain IDs as the OCI image spec defines them', () => {
    const [a, b] = [sha256('a'), sha256('b')];
    expect(chainIds([a, b])).toEqual([a, sha256(`${a} ${b}`)]);
  });
});

describe('registries.conf (containers-registries.conf(5))', () => {
  it('sends a prefix to its location, mirrors first, and keeps the search list', () => {
    const path = file(
      'v2.conf',
      `unqualified-search-registries = ["quay.io", "docker.io"]

[[registry]]
prefix = "docker.io"
location = "127.0.0.1:5000"
insecure = true

[[registry.mirror]]
location = "mirror.example:5001/hub"

[[registry.mirror]]
location = "127.0.0.1:5002"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "registry.k8s.io"
location = "localhost:5000/k8s"

[[registry]]
prefix = "blocked.example"
blocked = true
`,
    );
    const conf = loadRegistriesConf({ CONTAINERS_REGISTRIES_CONF: path });
    expect(conf.search).toEqual(['quay.io', 'docker.io']);
    expect(pullSources(conf, withDefaultTag(normalize('nginx')))).toEqual([
      { host: 'mirror.example:5001', repository: 'hub/library/nginx', insecure: false, mirror: true },
      { host: '127.0.0.1:5000', repository: 'library/nginx', insecure: true, mirror: false },
    ]);
    expect(pullSources(conf, normalize(`nginx@sha256:${'a'.repeat(64)}`)).map((s) => s.host)).toEqual(['mirror.example:5001', '127.0.0.1:5002', '127.0.0.1:5000']);
    expect(pullSources(conf, withDefaultTag(normalize('registry.k8s.io/pause:3.9')))).toEqual([{ host: 'localhost:5000', repository: 'k8s/pause', insecure: true, mirror: false }]);
    expect(pullSources(conf, withDefaultTag(normalize('gcr.io/x/y')))).toEqual([{ host: 'gcr.io', repository: 'x/y', insecure: false, mirror: false }]);
    expect(() => pullSources(conf, withDefaultTag(normalize('blocked.example/x')))).toThrow(/registry blocked.example is blocked in .*v2.conf/);
    // Docker Hub without an entry: its API host.
    expect(pullSources({ ...conf, registries: [] }, withDefaultTag(normalize('nginx')))[0]?.host).toBe('registry-1.docker.io');
  });

  it('reads version 1, and names the file and line of a syntax error', () => {
    const v1 = loadRegistriesConf({ CONTAINERS_REGISTRIES_CONF: file('v1.conf', '[registries.search]\nregistries = ["docker.io"]\n[registries.insecure]\nregistries = ["10.0.0.1:5000"]\n') });
    expect(v1.search).toEqual(['docker.io']);
    expect(v1.registries[0]).toMatchObject({ prefix: '10.0.0.1:5000', insecure: true });
    expect(() => loadRegistriesConf({ CONTAINERS_REGISTRIES_CONF: file('bad.conf', '[[registry]]\nprefix = \n') })).toThrow(/bad\.conf:2:\d+: /);
    expect(() => loadRegistriesConf({ CONTAINERS_REGISTRIES_CONF: join(dir, 'nope.conf') })).toThrow(/CONTAINERS_REGISTRIES_CONF names .*nope.conf, which does not exist/);
  });
});

describe('credentials (podman login, docker login)', () => {
  it('takes the first file with an entry, docker.io under any of its spellings, the longest namespace', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const authFile = file('auth.json', JSON.stringify({ auths: { 'example.test': { auth: b64('a:1') }, 'example.test/team': { auth: b64('b:2') } } }));
    const home = mkdtempSync(join(dir, 'home-'));
    const docker = join(home, '.docker');
    mkdirSync(docker);
    writeFileSync(join(docker, 'config.json'), JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') } } }));
    const env = { REGISTRY_AUTH_FILE: authFile, HOME: home };
    expect(findCredentials('example.test', 'x/y', env)).toMatchObject({ username: 'a', password: '1' });
    expect(findCredentials('example.test', 'team/app', env)).toMatchObject({ username: 'b', password: '2' });
    expect(findCredentials('registry-1.docker.io', 'library/nginx', env)).toMatchObject({ username: 'hub', file: join(docker, 'config.json') });
    expect(findCredentials('other.test', 'x', env)).toBeUndefined();
  });

  it('parses WWW-Authenticate challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
    expect(parseChallenge('Negotiate')).toBeUndefined();
  });
});

describe('platforms', () => {
  const index = (platforms: Array<[string, string, string?]>): IndexDoc => ({
    kind: 'index',
    manifests: platforms.map(([os, architecture, variant], i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${String(i).repeat(64)}`, size: 1, platform: { os, architecture, ...(variant ? { variant } : {}) } })),
  });

  it("picks this machine's entry, arm64 with or without v8", () => {
    const i = index([['linux', 'arm', 'v7'], ['linux', 'amd64'], ['linux', 'arm64', 'v8'], ['windows', 'amd64']]);
    expect(selectPlatform(i, { os: 'linux', architecture: 'amd64' }).digest).toBe(`sha256:${'1'.repeat(64)}`);
    expect(selectPlatform(i, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest).toBe(`sha256:${'2'.repeat(64)}`);
    expect(selectPlatform(index([['linux', 'arm64']]), { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest).toBe(`sha256:${'0'.repeat(64)}`);
  });

  it('names what an index offers when nothing fits, and refuses a single manifest built for another machine', () => {
    expect(() => selectPlatform(index([['linux', 'arm64', 'v8'], ['linux', 'arm', 'v7']]), { os: 'linux', architecture: 'amd64' })).toThrow('no manifest for linux/amd64 in the index (it has linux/arm64/v8, linux/arm/v7)');
    expect(() => checkConfigPlatform({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }, { os: 'linux', architecture: 'amd64' })).toThrow('the image is for linux/arm64 only, and this machine is linux/amd64');
  });

  it('refuses schema 1 and unknown layer types with the reason', () => {
    expect(() => parseManifest(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'), 'application/vnd.docker.distribution.manifest.v1+prettyjws')).toThrow(/Docker schema 1/);
    const weird = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'x', digest: `sha256:${'a'.repeat(64)}`, size: 2 }, layers: [{ mediaType: 'application/x-squashfs', digest: `sha256:${'b'.repeat(64)}`, size: 3 }] };
    expect(() => parseManifest(Buffer.from(JSON.stringify(weird)), undefined)).toThrow('layers[0] has media type "application/x-squashfs", which is not a layer peapod can unpack (tar, tar+gzip, tar+zstd)');
  });
});

describe("the overlay's lowerdir", () => {
  const dirs = { rootfs: '/var/lib/peapod/pods/p/containers/c/rootfs', upper: '/var/lib/peapod/pods/p/containers/c/upper', work: '/var/lib/peapod/pods/p/containers/c/work' };

  it('lists the layers top first; a chain too long for a page goes by short names from the l/ directory', () => {
    const few = overlayRootSteps({ rootfs: '/s/layers/b/diff', layers: ['/s/layers/b/diff', '/s/layers/a/diff'], links: { dir: '/s/l', names: ['bb', 'aa'] } }, dirs);
    expect(few).toEqual([{ op: 'mount', source: 'overlay', target: dirs.rootfs, fstype: 'overlay', flags: [], data: `lowerdir=/s/layers/b/diff:/s/layers/a/diff,upperdir=${dirs.upper},workdir=${dirs.work}` }]);
    const layers = Array.from({ length: 150 }, (_, i) => `/var/lib/peapod/images/layers/${String(i).padStart(64, '0')}/diff`);
    const names = layers.map((_, i) => String(i).padStart(20, '0'));
    const many = overlayRootSteps({ rootfs: layers[0] as string, layers, links: { dir: '/var/lib/peapod/images/l', names } }, dirs);
    expect(many[0]).toEqual({ op: 'chdir', path: '/var/lib/peapod/images/l' });
    const data = many[1]?.op === 'mount' ? many[1].data ?? '' : '';
    expect(data.startsWith(`lowerdir=${names[0]}:${names[1]}:`)).toBe(true);
    expect(data.length).toBeLessThanOrEqual(MOUNT_DATA_MAX);
    const tooMany = Array.from({ length: 400 }, (_, i) => String(i).padStart(20, '0'));
    expect(() => overlayRootSteps({ rootfs: 'x', layers: tooMany.map((n) => `/x/${n}/a-long-path-to-the-layer`), links: { dir: '/x', names: tooMany } }, dirs)).toThrow(/the image has 400 layers: too many for one overlay mount/);
  });
});
