// Pods whose images come from a real registry: the seed's pod with
// `image: nginx` and `image: debian` unchanged (docker.io sent to a local
// registry by registries.conf), the image config applied, the waiting
// reasons and events of pulls that fail, two pods pulling one image at
// once, and an image of 150 layers (a lowerdir list longer than a page).
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docFromConfig } from '../../src/image/config.js';
import { chainIds, sha256 } from '../../src/image/digest.js';
import { StoreLayout } from '../../src/image/layout.js';
import { hostPlatform } from '../../src/image/manifest.js';
import { findLocalImage, resolveImage } from '../../src/image/store.js';
import { unpackLayer } from '../../src/image/unpack.js';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import type { Pod } from '../../src/manifest/types.js';
import { execIn, freshRootPerTest, isRoot, waitFor, type TestRoot } from './helpers.js';
import { containerPid, start } from './pods.js';
import { hasRegistryTools, ociImage, push, registriesConf, startProxy, startRegistry, tarOf, type TestProxy, type TestRegistry } from './registry-harness.js';

const run = isRoot && hasRegistryTools;

function waiting(runtime: PodWorker, name: string): { reason?: string; message?: string } | undefined {
  const s = runtime.computeStatus();
  return [...(s.initContainerStatuses ?? []), ...(s.containerStatuses ?? [])].find((c) => c.name === name)?.state.waiting;
}

function stateOf(runtime: PodWorker, name: string): { running?: unknown; terminated?: { exitCode: number } } {
  const s = runtime.computeStatus();
  return (s.containerStatuses ?? []).find((c) => c.name === name)?.state ?? {};
}

describe.skipIf(!run)('pods with pulled images (root, docker-registry, umoci, skopeo)', () => {
  let work: string;
  let registry: TestRegistry;
  let proxy: TestProxy;
  let conf: string;
  let layout: string;
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));
  const freshStore = (): void => {
    root.paths = { ...root.paths, images: join(root.dir, 'images') };
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'peapod-image-pod-'));
    registry = await startRegistry();
    proxy = await startProxy(registry.host);
    conf = registriesConf(work, [
      { prefix: 'docker.io', location: proxy.host },
      { prefix: 'example.test', location: proxy.host },
    ]);
    process.env.CONTAINERS_REGISTRIES_CONF = conf;
    layout = join(work, 'oci');
    const base = tarOf(resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox').rootfs, join(work, 'base.tar'));
    const nginx = join(work, 'nginx');
    mkdirSync(join(nginx, 'usr/share/nginx/html'), { recursive: true });
    writeFileSync(join(nginx, 'usr/share/nginx/html/index.html'), 'the image default page\n');
    ociImage(layout, 'nginx', [base, tarOf(nginx, join(work, 'nginx.tar'))], [
      '--config.cmd', 'httpd', '--config.cmd', '-f', '--config.cmd', '-p', '--config.cmd', '80', '--config.cmd', '-h', '--config.cmd', '/usr/share/nginx/html',
      '--config.env', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', '--config.exposedports', '80/tcp', '--config.stopsignal', 'SIGQUIT',
    ]);
    const debian = join(work, 'debian');
    mkdirSync(join(debian, 'etc'), { recursive: true });
    writeFileSync(join(debian, 'etc/debian_version'), '12.0\n');
    ociImage(layout, 'debian', [base, tarOf(debian, join(work, 'debian.tar'))], ['--config.cmd', 'sh', '--config.env', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin']);
    const app = join(work, 'app');
    mkdirSync(join(app, 'app'), { recursive: true });
    writeFileSync(join(app, 'app/motd'), 'from the app layer\n');
    ociImage(layout, 'app', [base, tarOf(app, join(work, 'app.tar'))], [
      '--config.entrypoint', '/bin/sh', '--config.entrypoint', '-c',
      '--config.cmd', 'echo uid=$(id -u) gid=$(id -g) cwd=$(pwd) greeting=$GREETING; cat motd; sleep 30',
      '--config.env', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', '--config.env', 'GREETING=hello',
      '--config.workingdir', '/app', '--config.user', 'www-data',
    ]);
    push(layout, 'nginx', `${registry.host}/library/nginx:latest`);
    push(layout, 'debian', `${registry.host}/library/debian:latest`);
    push(layout, 'app', `${registry.host}/test/app:1`);
  });

  afterAll(async () => {
    delete process.env.CONTAINERS_REGISTRIES_CONF;
    await proxy?.stop();
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("runs the seed's pod unchanged: image: nginx and image: debian, pulled, sharing their base layer", async () => {
    freshStore();
    const data = join(root.dir, 'data');
    mkdirSync(data);
    const seed: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'two-containers' },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: 'shared-data', hostPath: { path: data } }],
        containers: [
          { name: 'nginx-container', image: 'nginx', volumeMounts: [{ name: 'shared-data', mountPath: '/usr/share/nginx/html' }] },
          { name: 'debian-container', image: 'debian', volumeMounts: [{ name: 'shared-data', mountPath: '/pod-data' }], command: ['/bin/sh'], args: ['-c', 'echo Hello from the debian container > /pod-data/index.html'] },
        ],
      },
    };
    const s = await start(root, seed, { backoff: { baseSeconds: 0.2, capSeconds: 1, resetSeconds: 600 } });
    await waitFor('debian-container to finish', () => stateOf(s.runtime, 'debian-container').terminated !== undefined, 30_000);
    expect(stateOf(s.runtime, 'debian-container').terminated?.exitCode).toBe(0);
    await waitFor('nginx-container to run', () => stateOf(s.runtime, 'nginx-container').running !== undefined, 30_000);
    const nginx = containerPid(s, 'nginx-container');
    root.pids.add(nginx);
    let page = '';
    for (let i = 0; i < 50 && !page.includes('Hello'); i++) {
      page = (await execIn(nginx, ['wget', '-qO-', 'http://localhost/index.html'])).stdout;
      if (!page.includes('Hello')) await new Promise((r) => setTimeout(r, 100));
    }
    expect(page).toBe('Hello from the debian container\n');
    // The container's root is an overlay of the image's two layers.
    const overlay = readFileSync(`/proc/${nginx}/mountinfo`, 'utf8').split('\n').find((l) => / \/ \/ /.test(l) || l.split(' ')[4] === '/');
    expect(overlay).toMatch(/ - overlay overlay .*lowerdir=[^,]*:[^,]*,/);
    const status = s.runtime.computeStatus();
    const nginxStatus = status.containerStatuses?.find((c) => c.name === 'nginx-container');
    // As the kubelet reports it: the repository's digest of the image pulled.
    expect(nginxStatus?.imageID).toMatch(/^docker\.io\/library\/nginx@sha256:[a-f0-9]{64}$/);
    const events = s.runtime.events.events.map((e) => `${e.reason} ${e.message}`);
    expect(events).toContain('Pulling Pulling image "nginx"');
    expect(events.some((e) => /^Pulled Successfully pulled image "debian" in [\d.]+s \([\d.]+s including waiting\)\. Image size: \d+ bytes\.$/.test(e))).toBe(true);
    // Two images, three layers: the busybox base is stored once.
    expect(new StoreLayout(root.paths.images).layers()).toHaveLength(3);
    await s.runtime.stop({ force: true });
  });

  it("applies the image's config: Entrypoint, Cmd, Env, WorkingDir, and User resolved in its /etc/passwd", async () => {
    freshStore();
    const s = await start(root, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app' }, spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'example.test/test/app:1' }] } });
    await waitFor('the app to print', () => (s.logs.get('app') ?? []).length >= 2, 30_000);
    expect(s.logs.get('app')).toEqual(['uid=33 gid=33 cwd=/app greeting=hello', 'from the app layer']);
    await s.runtime.stop({ force: true });
    // By its ID (as the CRI names images), the same image; an ID not here waits, it cannot be pulled.
    const image = findLocalImage(root.paths.images, 'example.test/test/app:1');
    const id = image?.id as string;
    const byId = await start(root, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'by-id' }, spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: id }, { name: 'absent', image: `sha256:${'0'.repeat(64)}` }] } });
    await waitFor('the app to print', () => (byId.logs.get('app') ?? []).length >= 2, 30_000);
    // status.imageID names it as the kubelet does: by its repository digest.
    expect(byId.runtime.computeStatus().containerStatuses?.find((c) => c.name === 'app')?.imageID).toBe(image?.repoDigests[0]);
    expect(image?.repoDigests[0]).toMatch(/^example\.test\/test\/app@sha256:[a-f0-9]{64}$/);
    expect(waiting(byId.runtime, 'absent')).toEqual({ reason: 'ErrImagePull', message: `image ID sha256:${'0'.repeat(64)} is not on this machine, and an ID cannot be pulled: name the image by reference` });
    await byId.runtime.stop({ force: true });
  });

  it('waits with the kubelet reasons: ErrImagePull then ImagePullBackOff (retried), ErrImageNeverPull, InvalidImageName', async () => {
    freshStore();
    const s = await start(
      root,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'waits' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            { name: 'missing', image: 'example.test/nothing/here:1' },
            { name: 'never', image: 'example.test/test/app:1', imagePullPolicy: 'Never' },
            { name: 'invalid', image: 'UPPER/Case' },
          ],
        },
      },
      { backoff: { baseSeconds: 0.3, capSeconds: 1, resetSeconds: 600 } },
    );
    await waitFor('ErrImagePull', () => waiting(s.runtime, 'missing')?.reason === 'ErrImagePull', 10_000);
    expect(waiting(s.runtime, 'missing')?.message).toMatch(/example.test\/nothing\/here:1: .*not found/);
    await waitFor('ImagePullBackOff', () => waiting(s.runtime, 'missing')?.reason === 'ImagePullBackOff', 10_000);
    expect(waiting(s.runtime, 'missing')?.message).toBe('Back-off pulling image "example.test/nothing/here:1"');
    await waitFor('a second pull after the back-off', () => (s.runtime.events.events.find((e) => e.reason === 'Pulling')?.count ?? 0) >= 2, 10_000);
    expect(waiting(s.runtime, 'never')).toEqual({ reason: 'ErrImageNeverPull', message: 'Container image "example.test/test/app:1" is not present with pull policy of Never' });
    expect(waiting(s.runtime, 'invalid')?.reason).toBe('InvalidImageName');
    expect(s.runtime.computeStatus().phase).toBe('Pending');
    expect(s.runtime.events.events.some((e) => e.type === 'Warning' && e.reason === 'Failed' && e.message.startsWith('Failed to pull image "example.test/nothing/here:1": '))).toBe(true);
    await s.runtime.stop({ force: true });
  });

  it('two pods pulling one image at once download each layer once', async () => {
    freshStore();
    const before = proxy.blobGets().length;
    const pod = (name: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'debian', command: ['sleep', '30'] }] } });
    const [a, b] = await Promise.all([start(root, pod('first')), start(root, pod('second'))]);
    await waitFor('both to run', () => stateOf(a.runtime, 'c').running !== undefined && stateOf(b.runtime, 'c').running !== undefined, 30_000);
    // Two layers and the config: three blobs, each fetched once.
    expect(proxy.blobGets().length - before).toBe(3);
    await Promise.all([a.runtime.stop({ force: true }), b.runtime.stop({ force: true })]);
  });

  it('runs an image of 150 layers (a lowerdir list longer than a page of mount data)', async () => {
    freshStore();
    const store = new StoreLayout(root.paths.images);
    store.init();
    const tars = [tarOf(resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox').rootfs, join(work, 'base.tar'))];
    for (let i = 0; i < 149; i++) {
      const d = join(work, 'many', String(i));
      mkdirSync(join(d, 'layers'), { recursive: true });
      writeFileSync(join(d, 'layers', String(i)), `${i}\n`);
      tars.push(tarOf(d, join(work, 'many', `${i}.tar`)));
    }
    const diffIds = tars.map((t) => sha256(readFileSync(t)));
    const chains = chainIds(diffIds);
    for (const [i, t] of tars.entries()) await unpackLayer(store, { chainId: chains[i]!, diffId: diffIds[i]! }, createReadStream(t), 'none', `layer ${i}`);
    const config = Buffer.from(JSON.stringify(docFromConfig({ entrypoint: [], cmd: ['sh'], env: ['PATH=/bin'], workingDir: '/' }, diffIds, hostPlatform())));
    const id = sha256(config);
    store.writeBlob(id, config);
    store.saveImage({ id, layers: chains, size: 0, storedAt: new Date().toISOString() });
    store.setRef('example.test/many:1', id);
    const image = findLocalImage(root.paths.images, 'example.test/many:1');
    expect(image?.layers.join(':').length).toBeGreaterThan(4096);
    const s = await start(root, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'many' }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'example.test/many:1', command: ['sh', '-c', 'ls /layers | wc -l; cat /layers/0 /layers/148'] }] } });
    await waitFor('the listing', () => (s.logs.get('c') ?? []).length >= 3, 20_000);
    expect(s.logs.get('c')).toEqual(['149', '0', '148']);
    await s.runtime.done;
  });
});
