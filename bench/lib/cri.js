// The CRI rows: RunPodSandbox + CreateContainer + StartContainer through a
// CRI socket, as a kubelet or crictl makes those calls, for peapod's CRI
// server (started here, in this process, on a root of its own) and, when
// Debian's containerd is installed, for containerd (started here with a
// config and socket of its own, restrict_oom_score_adj = true: this host
// lacks CAP_SYS_RESOURCE). Both pull the same image, from the cri-tools
// kit's local registry (../shared/cri-tools: start-registry.sh,
// make-images.sh), and run host-network pods, so neither waits for CNI
// (up.lib.net measures the network). Teardown (stop, remove) is not timed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Proc, REPO } from './context.js';
import { now, sleep } from './proc.js';

export const CRI_REGISTRY = process.env.CRI_REGISTRY ?? '127.0.0.1:5000';
export const CRI_IMAGE = `${CRI_REGISTRY}/e2e-test-images/busybox:1.29-2`;

/** The kit's registry answers with the image both runtimes pull. */
export function criRegistryServes() {
  const r = spawnSync('curl', ['-sf', '--max-time', '3', `http://${CRI_REGISTRY}/v2/e2e-test-images/busybox/tags/list`], { stdio: 'ignore' });
  return r.status === 0;
}

export function containerdInstalled() {
  return spawnSync('sh', ['-c', 'command -v containerd && command -v runc'], { stdio: 'ignore' }).status === 0;
}

async function dist(file) {
  return import(pathToFileURL(join(REPO, 'dist', file)).href);
}

function client(grpcDefs, socket) {
  const creds = grpcDefs.grpc.credentials.createInsecure();
  const rt = new grpcDefs.RuntimeServiceClient(`unix://${socket}`, creds);
  const im = new grpcDefs.ImageServiceClient(`unix://${socket}`, creds);
  const call = (c, method, req) =>
    new Promise((resolve, reject) => c[method](req, { deadline: Date.now() + 120_000 }, (err, reply) => (err ? reject(err) : resolve(reply))));
  return { runtime: (m, r = {}) => call(rt, m, r), image: (m, r = {}) => call(im, m, r), close: () => (rt.close(), im.close()) };
}

function containerdConfig(dir) {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."registry.k8s.io"]
    endpoint = ["http://${CRI_REGISTRY}"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."${CRI_REGISTRY}"]
    endpoint = ["http://${CRI_REGISTRY}"]
`;
}

export async function criSetup(ctx, cases) {
  const { loadCri } = await dist('cri/grpc.js');
  const defs = loadCri();
  const state = { defs, seq: 0 };
  if (cases.some((c) => c.id === 'cri.peapod')) {
    const [{ startCriServer }, { RuntimeService }, { runtimePaths }] = await Promise.all([dist('cri/server.js'), dist('runtime/runtime-service.js'), dist('runtime/paths.js')]);
    const paths = runtimePaths({ root: join(ctx.work, 'cri-root') });
    state.runtime = new RuntimeService({ paths, logRotation: { maxBytes: Number.MAX_SAFE_INTEGER, maxFiles: 2 } });
    state.server = await startCriServer({ runtime: state.runtime, paths, socket: join(ctx.work, 'cri.sock') });
    state.peapod = client(defs, state.server.socket);
    await state.peapod.image('PullImage', { image: { image: CRI_IMAGE } });
  }
  if (cases.some((c) => c.id === 'cri.containerd')) {
    // containerd's cgroupfs parent, left behind by it: removed at the end if this run made it.
    state.k8sCgroups = cgroupDirs('k8s.io').filter((d) => !existsSync(d));
    const dir = join(ctx.work, 'containerd');
    mkdirSync(join(dir, 'cni'), { recursive: true });
    writeFileSync(join(dir, 'config.toml'), containerdConfig(dir));
    state.containerdProc = new Proc(ctx.tracker, 'containerd', ['--config', join(dir, 'config.toml'), '--log-level', 'error']);
    const socket = join(dir, 'containerd.sock');
    for (let i = 0; i < 150 && !existsSync(socket); i++) await sleep(100);
    if (!existsSync(socket)) throw new Error('containerd did not open its socket in 15 s');
    state.containerd = client(defs, socket);
    await state.containerd.runtime('Version', { version: 'v1' });
    await state.containerd.image('PullImage', { image: { image: CRI_IMAGE } });
    await state.containerd.image('PullImage', { image: { image: 'registry.k8s.io/pause:3.6' } });
  }
  return state;
}

export async function criTeardown(ctx, state) {
  state.peapod?.close();
  if (state.server) await state.server.close();
  if (state.runtime) {
    for (const s of state.runtime.listPodSandbox()) await state.runtime.removePodSandbox(s.id);
    state.runtime.close();
  }
  state.containerd?.close();
  if (state.containerdProc) {
    state.containerdProc.kill('SIGTERM');
    await state.containerdProc.exited;
  }
  for (const d of state.k8sCgroups ?? []) {
    try {
      rmdirSync(d);
    } catch {
      // Not made, or not empty: left as it is.
    }
  }
}

/** `name` under the root of every cgroup hierarchy of this host. */
function cgroupDirs(name) {
  try {
    return readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h, name));
  } catch {
    return [];
  }
}

/** RunPodSandbox + CreateContainer + StartContainer, timed; then the pod stopped and removed. */
async function podThroughCri(ctx, state, c) {
  const name = ctx.name('cri');
  const config = {
    metadata: { name, uid: `${name}-uid`, namespace: 'bench', attempt: 0 },
    // On the host's network a pod has the host's name: runc refuses to set one.
    linux: { securityContext: { namespaceOptions: { network: 'NODE' } } },
  };
  const t0 = now();
  const { podSandboxId } = await c.runtime('RunPodSandbox', { config });
  const container = { metadata: { name: 'sleep', attempt: 0 }, image: { image: CRI_IMAGE }, command: ['sleep', '1000'], linux: {} };
  const { containerId } = await c.runtime('CreateContainer', { podSandboxId, config: container, sandboxConfig: config });
  await c.runtime('StartContainer', { containerId });
  const ms = now() - t0;
  await c.runtime('StopPodSandbox', { podSandboxId });
  await c.runtime('RemovePodSandbox', { podSandboxId });
  return ms;
}

export const criPeapod = (ctx, state) => podThroughCri(ctx, state, state.peapod);
export const criContainerd = (ctx, state) => podThroughCri(ctx, state, state.containerd);
