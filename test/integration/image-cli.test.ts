// The image commands as a user runs them: pull (progress, the ID), images,
// load (docker save archive, OCI archive, OCI layout), rmi, image prune;
// a pull killed half-way leaves no layer; a pod whose image cannot be
// pulled waits in ErrImagePull with a one-line message naming it.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/image/store.js';
import { freshRootPerTest, isRoot, waitFor, type TestRoot } from './helpers.js';
import { hasRegistryTools, ociImage, push, registriesConf, startProxy, startRegistry, tarOf, type TestProxy, type TestRegistry } from './registry-harness.js';

const bin = join(process.cwd(), 'bin', 'peapod.js');
const execFileP = promisify(execFile);
const run = isRoot && hasRegistryTools;

describe.skipIf(!run)('image commands (root, docker-registry, umoci, skopeo)', () => {
  let work: string;
  let registry: TestRegistry;
  let proxy: TestProxy;
  let layout: string;
  let env: NodeJS.ProcessEnv;
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  // Asynchronous: the proxy the commands talk to runs in this process.
  const peapod = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [bin, ...args, '--root', root.dir], { env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'peapod-image-cli-'));
    registry = await startRegistry();
    proxy = await startProxy(registry.host);
    env = { ...process.env, CONTAINERS_REGISTRIES_CONF: registriesConf(work, [{ prefix: 'example.test', location: proxy.host }]), PEAPOD_IMAGES: '' };
    layout = join(work, 'oci');
    const base = tarOf(resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox').rootfs, join(work, 'base.tar'));
    const big = join(work, 'big');
    mkdirSync(big);
    // Incompressible, so a throttled pull of it takes a while.
    writeFileSync(join(big, 'noise'), randomBytes(3_000_000));
    ociImage(layout, 'small', [base], ['--config.cmd', 'sh']);
    ociImage(layout, 'big', [base, tarOf(big, join(work, 'big.tar'))], ['--config.cmd', 'sh']);
    push(layout, 'small', `${registry.host}/test/small:1`);
    push(layout, 'big', `${registry.host}/test/big:1`);
  });

  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('pull shows each layer and prints the ID; images lists it; rmi removes it and its layers', async () => {
    const pulled = (await peapod(['pull', 'example.test/test/small:1']));
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    const id = pulled.stdout.trim();
    expect((await peapod(['pull', 'example.test/test/small:1'])).stdout).toBe(`${id}\n`);
    const listed = (await peapod(['images']));
    expect(listed.stdout).toMatch(new RegExp(`^REPOSITORY\\s+TAG\\s+IMAGE ID\\s+CREATED\\s+SIZE\\nexample.test/test/small\\s+1\\s+${id.slice(7, 19)}\\s+`));
    const json = JSON.parse((await peapod(['images', '-o', 'json'])).stdout) as Array<{ id: string; repoTags: string[]; repoDigests: string[] }>;
    expect(json).toEqual([expect.objectContaining({ id, repoTags: ['example.test/test/small:1'], repoDigests: [expect.stringMatching(/^example\.test\/test\/small@sha256:/)] })]);
    const removed = (await peapod(['rmi', 'example.test/test/small:1']));
    expect(removed.stdout).toBe(`Untagged: example.test/test/small:1\nDeleted: ${id} (1 layer)\n`);
    expect((await peapod(['images', '-q'])).stdout).toBe('');
    expect(readdirSync(join(root.dir, 'images', 'layers'))).toEqual([]);
    expect((await peapod(['rmi', 'example.test/test/small:1']))).toMatchObject({ code: 1, stderr: expect.stringMatching(/image "example.test\/test\/small:1" not found/) });
  });

  it('pull prints plain progress lines when stderr is not a terminal', async () => {
    const child = spawn(process.execPath, [bin, 'pull', 'example.test/test/small:1', '--root', root.dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise((r) => child.on('exit', r));
    expect(stderr).toMatch(/^Pulling example\.test\/test\/small:1 from 127\.0\.0\.1:\d+ \(1 layer\)\n[a-f0-9]{12}: Downloading [\d.]+[kM]B\n[a-f0-9]{12}: Extracting\n[a-f0-9]{12}: Pull complete\nPulled example.test\/test\/small:1: 1 layer fetched/);
  });

  it('loads a docker save archive, an OCI archive and an OCI layout', async () => {
    const docker = join(work, 'docker.tar');
    const oci = join(work, 'oci.tar');
    rmSync(docker, { force: true });
    rmSync(oci, { force: true });
    execFileSync('skopeo', ['copy', '--quiet', `oci:${layout}:small`, `docker-archive:${docker}:example.test/saved/small:2`]);
    execFileSync('skopeo', ['copy', '--quiet', `oci:${layout}:big`, `oci-archive:${oci}:v1`]);
    expect((await peapod(['load', '-i', docker])).stdout).toBe('Loaded image: example.test/saved/small:2\n');
    expect((await peapod(['load', '-i', oci])).stdout).toBe('Loaded image: localhost/oci:v1\n');
    const dir = join(work, 'layout-copy');
    rmSync(dir, { recursive: true, force: true });
    execFileSync('skopeo', ['copy', '--quiet', `oci:${layout}:small`, `oci:${dir}:example.test/from/layout:3`]);
    expect((await peapod(['load', '-i', dir])).stdout).toBe('Loaded image: example.test/from/layout:3\n');
    const tags = (JSON.parse((await peapod(['images', '-o', 'json'])).stdout) as Array<{ repoTags: string[] }>).flatMap((i) => i.repoTags).sort();
    expect(tags).toEqual(['example.test/from/layout:3', 'example.test/saved/small:2', 'localhost/oci:v1']);
    // The busybox base of both images is stored once.
    expect(readdirSync(join(root.dir, 'images', 'layers'))).toHaveLength(2);
    const notArchive = join(work, 'not-an-archive');
    writeFileSync(notArchive, 'hello');
    expect((await peapod(['load', '-i', notArchive]))).toMatchObject({ code: 1, stderr: expect.stringMatching(/not-an-archive is not a tar archive peapod can read/) });
  });

  it('a pull killed half-way leaves no layer; the next pull completes and clears what it left', async () => {
    proxy.throttle(16 * 1024);
    const child = spawn(process.execPath, [bin, 'pull', 'example.test/test/big:1', '--root', root.dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const tmp = join(root.dir, 'images', 'tmp');
    // Half-way: part of the big file is in a staging directory.
    const partial = (): number => {
      for (const d of existsSync(tmp) ? readdirSync(tmp) : []) {
        const f = join(tmp, d, 'diff', 'noise');
        if (existsSync(f)) return statSync(f).size;
      }
      return 0;
    };
    await waitFor('the big layer to be half-way', () => /Downloading 3\.\d+MB/.test(stderr) && partial() > 100_000, 20_000);
    expect(partial()).toBeLessThan(3_000_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    proxy.throttle(0);
    expect(readdirSync(join(root.dir, 'images', 'layers')).length).toBeLessThanOrEqual(1);
    expect((await peapod(['images', '-q'])).stdout).toBe('');
    expect(readdirSync(tmp).length).toBeGreaterThan(0);
    const pulled = (await peapod(['pull', 'example.test/test/big:1']));
    expect(pulled.code).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(join(root.dir, 'images', 'layers'))).toHaveLength(2);
  });

  it('two peapod processes pulling one image at once fetch each layer once (a lock per layer)', async () => {
    proxy.throttle(64 * 1024);
    const before = proxy.blobGets().length;
    const [a, b] = await Promise.all([peapod(['pull', '-q', 'example.test/test/big:1']), peapod(['pull', '-q', 'example.test/test/big:1'])]);
    proxy.throttle(0);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout).toBe(b.stdout);
    // Two layers and a config; each process fetches the config itself (it is small and not a layer).
    const layerGets = proxy.blobGets().slice(before).map((r) => r.url.split('/').pop());
    const counts = new Map<string, number>();
    for (const d of layerGets) counts.set(d as string, (counts.get(d as string) ?? 0) + 1);
    expect([...counts.values()].sort()).toEqual([1, 1, 2]);
  });

  it('rmi refuses an image a running pod uses; image prune removes untagged images and unused layers', async () => {
    expect((await peapod(['pull', 'example.test/test/small:1'])).code).toBe(0);
    expect((await peapod(['pull', 'example.test/test/big:1'])).code).toBe(0);
    const file = join(root.dir, 'p.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata: {name: user}\nspec:\n  containers:\n  - {name: c, image: "example.test/test/small:1", command: [sleep, "30"]}\n');
    expect((await peapod(['run', '-f', file, '-d'])).code).toBe(0);
    expect((await peapod(['rmi', 'example.test/test/small:1']))).toMatchObject({ code: 1, stderr: expect.stringMatching(/is used by pod user; delete the pod first, or --force/) });
    // Untagged, the big image is what prune takes; its own layer goes with it, the shared base stays.
    const big = (await peapod(['images', '-q'])).stdout.split('\n').filter(Boolean);
    expect(big).toHaveLength(2);
    const bigId = (JSON.parse((await peapod(['images', '-o', 'json'])).stdout) as Array<{ id: string; repoTags: string[] }>).find((i) => i.repoTags[0]?.includes('big'))?.id as string;
    rmSync(join(root.dir, 'images', 'refs', encodeURIComponent('example.test/test/big:1')));
    const pruned = (await peapod(['image', 'prune']));
    expect(pruned.stdout).toMatch(new RegExp(`^Deleted: ${bigId}\\nTotal reclaimed space: 3\\.\\d+MB\\n$`));
    expect(readdirSync(join(root.dir, 'images', 'layers'))).toHaveLength(1);
    expect((await peapod(['image', 'prune', '--all'])).stdout).toBe('Total reclaimed space: 0B\n');
    expect((await peapod(['delete', 'pod', 'user', '--force'])).code).toBe(0);
    expect((await peapod(['image', 'prune', '--all'])).stdout).toMatch(/^Deleted: sha256:[a-f0-9]{64}\nTotal reclaimed space: /);
    expect(readdirSync(join(root.dir, 'images', 'layers'))).toEqual([]);
  });

  it('a pod whose image cannot be pulled waits in ErrImagePull, its message one line naming the image and the cause', async () => {
    const file = join(root.dir, 'p.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata: {name: nopull}\nspec:\n  containers:\n  - {name: c, image: "127.0.0.1:1/nothing:1.0"}\n');
    expect((await peapod(['run', '-f', file, '-d'])).code).toBe(0);
    // The supervisor writes pod.json; read it as `get` does.
    const podFile = join(root.dir, 'pods', 'nopull', 'pod.json');
    await waitFor('ErrImagePull', () => /"reason": "(ErrImagePull|ImagePullBackOff)"/.test(existsSync(podFile) ? readFileSync(podFile, 'utf8') : ''), 10_000);
    const pod = JSON.parse((await peapod(['get', 'pod', 'nopull', '-o', 'json'])).stdout) as { status: { phase: string } };
    expect(pod.status.phase).toBe('Pending');
    expect((await peapod(['get', 'pods'])).stdout).toMatch(/nopull\s+0\/1\s+(ErrImagePull|ImagePullBackOff)/);
    expect((await peapod(['describe', 'pod', 'nopull'])).stdout).toContain('Failed to pull image "127.0.0.1:1/nothing:1.0": pulling 127.0.0.1:1/nothing:1.0: cannot reach registry 127.0.0.1:1: connection refused');
    expect((await peapod(['delete', 'pod', 'nopull', '--force'])).code).toBe(0);
  });
});
