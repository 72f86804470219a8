// The images group: pulling a multi-layer image of tens of MB from a local
// registry (Debian's docker-registry on loopback), side by side with
// `skopeo copy docker://... oci:...` and `podman pull` (when installed),
// each round into an empty store; and unpacking the same layers against
// `tar -xzf`. The image is made once, before any timing: the busybox layer
// plus three layers of 8 MB that gzip cannot shrink.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, REPO } from './context.js';
import { now } from './proc.js';

const REF = 'bench/layers:1';

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** docker-registry, skopeo and umoci are what this group needs (scripts/install-deps.sh installs them). */
export function imageToolsPresent() {
  return ['docker-registry', 'skopeo', 'umoci'].every(have);
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')}: ${(r.stderr || r.error?.message || '').trim().slice(-300)}`);
  return r.stdout;
}

export async function imagesSetup(ctx, cases) {
  const dir = join(ctx.work, 'images');
  mkdirSync(dir, { recursive: true });
  const state = { dir, round: 0 };
  const port = await freePort();
  state.host = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'registry.yml'), `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${dir}/registry}\nhttp: {addr: ${state.host}}\n`);
  state.registry = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    if (spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: 'ignore' }).status === 0) break;
    if (i > 100) throw new Error('docker-registry did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const { resolveImage } = await import(pathToFileURL(join(REPO, 'dist', 'image', 'store.js')).href);
  const layout = join(dir, 'oci');
  const tars = [join(dir, 'base.tar')];
  run('tar', ['--numeric-owner', '-C', resolveImage(ctx.paths.images, 'busybox').rootfs, '-cf', tars[0], '.']);
  for (let i = 0; i < 3; i++) {
    const d = join(dir, `l${i}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `data${i}`), randomBytes(8 * 1024 * 1024));
    tars.push(join(dir, `l${i}.tar`));
    run('tar', ['-C', d, '-cf', tars[i + 1], '.']);
  }
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:1`]);
  for (const t of tars) run('umoci', ['raw', 'add-layer', '--no-history', '--image', `${layout}:1`, t]);
  run('umoci', ['config', '--no-history', '--image', `${layout}:1`, '--config.cmd', 'sh']);
  run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${state.host}/${REF}`]);
  const manifest = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${layout}:1`]));
  const config = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'));
  state.layers = manifest.layers.map((l, i) => ({ blob: join(layout, 'blobs', 'sha256', l.digest.slice(7)), size: l.size, diffId: config.rootfs.diff_ids[i] }));
  state.bytes = manifest.layers.reduce((n, l) => n + l.size, 0);
  writeFileSync(join(dir, 'registries.conf'), `[[registry]]\nprefix = "bench.test"\nlocation = "${state.host}"\ninsecure = true\n`);
  state.env = { ...process.env, CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf') };
  const mod = async (f) => import(pathToFileURL(join(REPO, 'dist', 'image', f)).href);
  state.lib = { ...(await mod('layout.js')), ...(await mod('unpack.js')), ...(await mod('digest.js')) };
  void cases;
  return state;
}

export async function imagesTeardown(_ctx, state) {
  if (state.registry && state.registry.exitCode === null) {
    const exited = new Promise((r) => state.registry.once('exit', r));
    state.registry.kill('SIGTERM');
    await exited;
  }
  rmSync(state.dir, { recursive: true, force: true });
}

/** A fresh directory for one sample, removed after it. */
async function fresh(state, name, body) {
  const dir = join(state.dir, `${name}-${state.round++}`);
  mkdirSync(dir, { recursive: true });
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const pullPeapod = (ctx, state) =>
  fresh(state, 'peapod', async (dir) => (await ctx.timed(process.execPath, [CLI, 'pull', '-q', `bench.test/${REF}`, '--root', dir], { env: { ...state.env, PEAPOD_IMAGES: '' } })).ms);

export const pullSkopeo = (ctx, state) =>
  fresh(state, 'skopeo', async (dir) => (await ctx.timed('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${state.host}/${REF}`, `oci:${dir}:1`])).ms);

export const pullPodman = (ctx, state) =>
  fresh(state, 'podman', async (dir) => {
    const r = await ctx.timed('podman', ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), 'pull', '-q', '--tls-verify=false', `${state.host}/${REF}`], { env: ctx.podman.env, timeoutMs: 120_000 });
    // Its overlay storage may hold mounts: let podman take it down before the directory goes.
    spawnSync('podman', ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), 'system', 'reset', '-f'], { env: ctx.podman.env, stdio: 'ignore' });
    return r.ms;
  });

export const unpackPeapod = (_ctx, state) =>
  fresh(state, 'unpack', async (dir) => {
    const { StoreLayout, unpackLayer, chainIds } = state.lib;
    const layout = new StoreLayout(dir);
    layout.init();
    const chains = chainIds(state.layers.map((l) => l.diffId));
    const t0 = now();
    for (const [i, l] of state.layers.entries()) {
      await unpackLayer(layout, { chainId: chains[i], diffId: l.diffId }, createReadStream(l.blob), 'gzip', `layer ${i}`);
    }
    return now() - t0;
  });

export const unpackTar = (ctx, state) =>
  fresh(state, 'tar', async (dir) => {
    let ms = 0;
    for (const [i, l] of state.layers.entries()) {
      const d = join(dir, String(i));
      mkdirSync(d);
      ms += (await ctx.timed('tar', ['-xzf', l.blob, '-C', d])).ms;
    }
    return ms;
  });
