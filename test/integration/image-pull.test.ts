// Pulls from a real registry (Debian's docker-registry on loopback) of
// images made by umoci and pushed by skopeo: OCI and Docker schema 2
// media types, an index, whiteouts and opaque directories, layers shared
// between images, a dropped connection, a damaged blob, a mirror that is
// down. What is checked is what is on disk afterwards.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreLayout } from '../../src/image/layout.js';
import { pullImage } from '../../src/image/pull.js';
import { findLocalImage, ImageStore, resolveImage } from '../../src/image/store.js';
import { isRoot } from './helpers.js';
import { hasRegistryTools, ociImage, push, registriesConf, startProxy, startRegistry, tarOf, type TestProxy, type TestRegistry } from './registry-harness.js';

const run = isRoot && hasRegistryTools;

describe.skipIf(!run)('pull from a real registry (root, docker-registry, umoci, skopeo)', () => {
  let work: string;
  let registry: TestRegistry;
  let proxy: TestProxy;
  let layout: string;
  let base: string;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, CONTAINERS_REGISTRIES_CONF: join(work, 'registries.conf') });
  const store = (): string => mkdtempSync(join(work, 'store-'));

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'peapod-pull-'));
    registry = await startRegistry();
    proxy = await startProxy(registry.host);
    registriesConf(work, [{ prefix: 'example.test', location: `${proxy.host}` }]);
    layout = join(work, 'oci');
    // The base layer: the built-in busybox, as a tar.
    base = tarOf(resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox').rootfs, join(work, 'base.tar'));
    const l2 = join(work, 'l2');
    mkdirSync(join(l2, 'app'), { recursive: true });
    mkdirSync(join(l2, 'data'), { recursive: true });
    mkdirSync(join(l2, 'etc'), { recursive: true });
    writeFileSync(join(l2, 'app', 'hello.txt'), 'hello from layer 2\n');
    writeFileSync(join(l2, 'etc', 'motd'), 'to be deleted\n');
    writeFileSync(join(l2, 'data', 'a'), 'a');
    writeFileSync(join(l2, 'data', 'b'), 'b');
    const l3 = join(work, 'l3');
    mkdirSync(join(l3, 'etc'), { recursive: true });
    mkdirSync(join(l3, 'data'), { recursive: true });
    writeFileSync(join(l3, 'etc', '.wh.motd'), '');
    writeFileSync(join(l3, 'data', '.wh..wh..opq'), '');
    writeFileSync(join(l3, 'data', 'c'), 'c');
    ociImage(layout, 'app', [base, tarOf(l2, join(work, 'l2.tar')), tarOf(l3, join(work, 'l3.tar'))], [
      '--config.entrypoint', '/bin/sh',
      '--config.cmd', '-c',
      '--config.cmd', 'echo hi',
      '--config.env', 'GREETING=hello',
      '--config.workingdir', '/app',
      '--config.user', 'www-data',
      '--config.exposedports', '8080/tcp',
      '--config.label', 'org.example=yes',
      '--config.stopsignal', 'SIGQUIT',
    ]);
    push(layout, 'app', `${registry.host}/test/app:1`);
    push(layout, 'app', `${registry.host}/test/app-docker:1`, 'v2s2');
  });

  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('pulls an OCI image: three layers, whiteouts and an opaque directory as overlayfs reads them, the config', async () => {
    const dir = store();
    const result = await pullImage(dir, 'example.test/test/app:1', { env: env() });
    expect(result.ref).toBe('example.test/test/app:1');
    expect(result.fetched).toBe(3);
    const image = findLocalImage(dir, 'example.test/test/app:1');
    expect(image?.id).toBe(result.id);
    expect(image?.repoTags).toEqual(['example.test/test/app:1']);
    expect(image?.repoDigests[0]).toMatch(/^example\.test\/test\/app@sha256:[a-f0-9]{64}$/);
    expect(image?.layers).toHaveLength(3);
    const fs = image!.fs;
    const at = (p: string): string => join(image!.rootfs, p);
    expect(fs.readFile?.(at('/app/hello.txt'))).toBe('hello from layer 2\n');
    expect(fs.exists(at('/etc/motd'))).toBe(false);
    expect(fs.exists(at('/etc/passwd'))).toBe(true);
    expect(fs.exists(at('/data/a'))).toBe(false);
    expect(fs.exists(at('/data/c'))).toBe(true);
    expect(fs.isFile(at('/bin/sh'))).toBe(true);
    // On disk, the top layer holds an overlayfs whiteout and an opaque mark.
    const top = image!.layers[0] as string;
    const wh = lstatSync(join(top, 'etc', 'motd'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(execFileSync('getfattr', ['-n', 'trusted.overlay.opaque', '--only-values', join(top, 'data')]).toString()).toBe('y');
    expect(image!.config).toMatchObject({
      entrypoint: ['/bin/sh'],
      cmd: ['-c', 'echo hi'],
      workingDir: '/app',
      user: 'www-data',
      stopSignal: 'SIGQUIT',
      exposedPorts: ['8080/tcp'],
      labels: { 'org.example': 'yes' },
    });
    expect(image!.config.env).toContain('GREETING=hello');
    // The staging area is empty again.
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });

  it('pulls Docker schema 2 media types', async () => {
    const dir = store();
    const result = await pullImage(dir, 'example.test/test/app-docker:1', { env: env() });
    expect(result.record.manifest?.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(findLocalImage(dir, 'example.test/test/app-docker:1')?.fs.exists(join(findLocalImage(dir, 'example.test/test/app-docker:1')!.rootfs, 'app/hello.txt'))).toBe(true);
  });

  it('fetches only the layers the store lacks: a second image on the same base downloads its own layer', async () => {
    const dir = store();
    const extra = join(work, 'extra');
    mkdirSync(extra, { recursive: true });
    writeFileSync(join(extra, 'nginx.conf'), 'server {}\n');
    ociImage(layout, 'debian', [base]);
    ociImage(layout, 'nginx', [base, tarOf(extra, join(work, 'extra.tar'))]);
    push(layout, 'debian', `${registry.host}/library/debian:latest`);
    push(layout, 'nginx', `${registry.host}/library/nginx:latest`);
    const baseDigest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:debian`]).toString()).layers[0].digest as string;
    const before = proxy.blobGets(baseDigest).length;
    await pullImage(dir, 'example.test/library/debian', { env: env() });
    expect(proxy.blobGets(baseDigest).length).toBe(before + 1);
    const second = await pullImage(dir, 'example.test/library/nginx', { env: env() });
    expect(second.fetched).toBe(1);
    expect(second.present).toBe(1);
    expect(proxy.blobGets(baseDigest).length).toBe(before + 1);
    expect(new StoreLayout(dir).layers()).toHaveLength(2);
  });

  it('resumes a blob whose connection drops, with Range', async () => {
    const dir = store();
    const manifest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:app`]).toString()) as { layers: Array<{ digest: string }> };
    const first = manifest.layers[0]!.digest;
    proxy.dropNext(first, 100_000);
    const seen = proxy.requests.length;
    await pullImage(dir, 'example.test/test/app:1', { env: env() });
    const gets = proxy.requests.slice(seen).filter((r) => r.url.endsWith(first));
    expect(gets).toHaveLength(2);
    // Resumed from what had arrived (the proxy cut the body at 100000 bytes; fewer may have got through).
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1]?.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(100_000);
    expect(findLocalImage(dir, 'example.test/test/app:1')).toBeDefined();
  });

  it('refuses a blob whose bytes do not match its digest, and stores nothing', async () => {
    const dir = store();
    const damaged = join(work, 'damaged');
    mkdirSync(damaged, { recursive: true });
    writeFileSync(join(damaged, 'f'), 'x'.repeat(5000));
    ociImage(layout, 'damaged', [tarOf(damaged, join(work, 'damaged.tar'))]);
    push(layout, 'damaged', `${registry.host}/test/damaged:1`);
    const digest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:damaged`]).toString()).layers[0].digest as string;
    const file = registry.blobFile(digest);
    const bytes = readFileSync(file);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0xff;
    writeFileSync(file, bytes);
    await expect(pullImage(dir, 'example.test/test/damaged:1', { env: env() })).rejects.toThrow(
      /^image "example.test\/test\/damaged:1": pulling example.test\/test\/damaged:1: .*digest mismatch/,
    );
    const l = new StoreLayout(dir);
    expect(l.layers()).toEqual([]);
    expect(l.images()).toEqual([]);
    expect([...l.refs().keys()]).toEqual([]);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    // Truncated: the registry has fewer bytes than the manifest says.
    truncateSync(file, 100);
    await expect(pullImage(dir, 'example.test/test/damaged:1', { env: env() })).rejects.toThrow(/truncated|digest mismatch/);
    expect(l.layers()).toEqual([]);
  });

  it('falls back from a mirror that is down to the registry', async () => {
    const dir = store();
    const conf = join(work, 'mirror');
    registriesConf(conf, [{ prefix: 'mirrored.test', location: registry.host, mirrors: ['127.0.0.1:1'] }]);
    const result = await pullImage(dir, 'mirrored.test/test/app:1', { env: { ...process.env, CONTAINERS_REGISTRIES_CONF: join(conf, 'registries.conf') } });
    expect(result.from).toBe(registry.host);
    expect(findLocalImage(dir, 'mirrored.test/test/app:1')).toBeDefined();
  });

  it("resolves an index (pushed by skopeo --all) to this machine's manifest", async () => {
    const dir = store();
    // An index over the app image and an arm64 twin of it, written into the layout by hand.
    execFileSync('umoci', ['config', '--no-history', '--image', `${layout}:app`, '--tag', 'app-arm64', '--architecture', 'arm64'], { stdio: 'pipe' });
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number; mediaType: string; annotations?: Record<string, string> }> };
    const byTag = (tag: string) => index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)!;
    const host = process.arch === 'x64' ? 'amd64' : process.arch;
    const multi = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: byTag('app-arm64').mediaType, digest: byTag('app-arm64').digest, size: byTag('app-arm64').size, platform: { os: 'linux', architecture: 'arm64' } },
        { mediaType: byTag('app').mediaType, digest: byTag('app').digest, size: byTag('app').size, platform: { os: 'linux', architecture: host } },
      ],
    }));
    const digest = `sha256:${createHash('sha256').update(multi).digest('hex')}`;
    writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), multi);
    index.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: multi.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
    push(layout, 'multi', `${registry.host}/test/multi:1`, undefined, true);
    const result = await pullImage(dir, 'example.test/test/multi:1', { env: env() });
    expect(result.record.manifest?.digest).toBe(byTag('app').digest);
    const image = findLocalImage(dir, 'example.test/test/multi:1')!;
    expect(image.repoDigests).toEqual([`example.test/test/multi@${digest}`]);
    expect(image.fs.readFile?.(join(image.rootfs, 'app/hello.txt'))).toBe('hello from layer 2\n');
  });

  it('a full disk: one line naming the image and the cause, nothing half-stored', async () => {
    const dir = store();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600k', 'tmpfs', dir]);
    try {
      await expect(pullImage(dir, 'example.test/test/app:1', { env: env() })).rejects.toThrow(/^image "example.test\/test\/app:1": pulling example.test\/test\/app:1: layer sha256:[a-f0-9]{64}: ENOSPC: no space left on device[^\n]*$/);
      const l = new StoreLayout(dir);
      expect(l.images()).toEqual([]);
      expect([...l.refs().keys()]).toEqual([]);
      expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
      // Layers that arrived whole stay for the next try (as containerd keeps content); prune takes them.
      for (const c of l.layers()) expect(l.layer(c)?.chainId).toBe(c);
      expect(l.layers().length).toBeLessThan(3);
      new ImageStore(dir).removeUnusedLayers();
      expect(l.layers()).toEqual([]);
    } finally {
      execFileSync('umount', [dir]);
    }
  });

  it('names the image and the cause when nothing answers', async () => {
    const dir = store();
    await expect(pullImage(dir, '127.0.0.1:1/nothing:1', { env: env() })).rejects.toThrow(/^image "127.0.0.1:1\/nothing:1": pulling 127.0.0.1:1\/nothing:1: cannot reach registry 127.0.0.1:1: connection refused$/);
    await expect(pullImage(dir, 'example.test/test/missing:1', { env: env() })).rejects.toThrow(/missing:1 not found/);
    await expect(pullImage(dir, 'Bad//Name', { env: env() })).rejects.toMatchObject({ waitingReason: 'InvalidImageName' });
    expect(existsSync(join(dir, 'layers')) ? readdirSync(join(dir, 'layers')) : []).toEqual([]);
  });
});
