// The CRI server: runtime.v1's RuntimeService and ImageService over gRPC
// on a unix socket (root's only, 0600), and the streaming server the
// Exec/Attach/PortForward URLs point to, on loopback. Started by the node
// daemon on its shared runtime (node/daemon-servers.ts), with startCriServer.
import { chmodSync, existsSync, lstatSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type * as GrpcModule from '@grpc/grpc-js';
import { networkOptionsFromEnv, type NetworkOptions } from '../network/options.js';
import { makeOwnDir, MODE } from '../runtime/modes.js';
import type { RuntimePaths } from '../runtime/paths.js';
import type { RuntimeService } from '../runtime/runtime-service.js';
import { statusOf } from './errors.js';
import { loadCri, type Grpc } from './grpc.js';
import { CriImages, type AuthConfig } from './image-handlers.js';
import { CriRuntime } from './runtime-handlers.js';
import { sandboxBinary } from './sandbox-image.js';
import { StreamingServer } from './streaming/server.js';
import type { WireContainerConfig, WirePodSandboxConfig, WireResources } from './wire.js';

export interface CriServerOptions {
  /** The runtime layer the CRI drives (a daemon's own, shared with its pods). */
  runtime: RuntimeService;
  paths: RuntimePaths;
  /** The gRPC socket (default `<state root>/cri.sock`). */
  socket?: string;
  /** The sandbox image (containerd's sandbox_image): unset, peapod's own static pause. */
  sandboxImage?: string;
  /** The pod network's settings, for Status (default: from the environment, as the runtime's). */
  network?: NetworkOptions;
  /** Where the streaming server listens (default 127.0.0.1, a free port). */
  streaming?: { address?: string; port?: number };
  /** The cgroup parent of pods whose request names none (default `peapod`). */
  cgroupParent?: string;
  /** peapod's version, for Version. */
  version?: string;
}

export interface CriServer {
  socket: string;
  /** The streaming server's base URL. */
  streamingUrl: string;
  close(): Promise<void>;
}

export class CriSocketInUseError extends Error {
  override name = 'CriSocketInUseError';
}

/** A socket left by a server that died is removed; one that answers is another server's. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new CriSocketInUseError(`${path} exists and is not a socket; move it away`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  if (alive) throw new CriSocketInUseError(`${path}: another CRI server is listening there; stop it first`);
  rmSync(path, { force: true });
}

type Handler = (call: GrpcModule.ServerUnaryCall<Record<string, unknown>, unknown>, callback: GrpcModule.sendUnaryData<unknown>) => void;

function unary(grpc: Grpc, fn: (req: Record<string, unknown>) => unknown): Handler {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (reply) => callback(null, reply ?? {}),
        (err: unknown) => callback(statusOf(err, grpc)),
      );
  };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const bool = (v: unknown): boolean => v === true;
const obj = <T>(v: unknown): T | null => (v && typeof v === 'object' ? (v as T) : null);

export async function startCriServer(options: CriServerOptions): Promise<CriServer> {
  const cri = loadCri();
  const { grpc } = cri;
  const socket = options.socket ?? join(options.paths.state, 'cri.sock');
  makeOwnDir(dirname(socket), MODE.rootDir);
  await clearStaleSocket(socket);

  const streaming = new StreamingServer(options.runtime);
  const streamingUrl = await streaming.listen(options.streaming?.address ?? '127.0.0.1', options.streaming?.port ?? 0);
  let binary: Promise<string> | undefined;
  const sandboxImage = options.sandboxImage;
  const runtime = new CriRuntime({
    runtime: options.runtime,
    paths: options.paths,
    imagesDir: options.paths.images,
    network: options.network ?? networkOptionsFromEnv(),
    streaming,
    sandbox: { cgroupParent: options.cgroupParent ?? 'peapod', logRoot: join(options.paths.data, 'cri-logs') },
    version: options.version ?? '0',
    ...(sandboxImage
      ? {
          sandboxBinary: () => {
            binary ??= sandboxBinary(options.paths.images, sandboxImage);
            // A failure is not kept: the next sandbox tries again.
            binary.catch(() => (binary = undefined));
            return binary;
          },
        }
      : {}),
  });
  // What a server before this one left of pods no sandbox holds any more (the runtime's adopted sandboxes stay).
  runtime.removeOrphans();
  const images = new CriImages({
    imagesDir: options.paths.images,
    scratchDir: options.paths.state,
    inUse: () => new Map(options.runtime.listContainers().map((c) => [c.imageRef, c.id])),
  });

  const closers = new Set<() => void>();
  const server = new grpc.Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const u = (fn: (req: Record<string, unknown>) => unknown): Handler => unary(grpc, fn);
  server.addService(cri.runtimeService, {
    Version: u(() => runtime.version()),
    Status: u((r) => runtime.status(bool(r.verbose))),
    RuntimeConfig: u(() => ({ linux: { cgroupDriver: 'CGROUPFS' } })),
    UpdateRuntimeConfig: u((r) => runtime.updateRuntimeConfig(str(obj<{ networkConfig: { podCidr: string } | null }>(r.runtimeConfig)?.networkConfig?.podCidr))),
    RunPodSandbox: u(async (r) => ({ podSandboxId: await runtime.runPodSandbox(obj<WirePodSandboxConfig>(r.config), str(r.runtimeHandler)) })),
    StopPodSandbox: u((r) => runtime.stopPodSandbox(str(r.podSandboxId))),
    RemovePodSandbox: u((r) => runtime.removePodSandbox(str(r.podSandboxId))),
    PodSandboxStatus: u((r) => runtime.podSandboxStatus(str(r.podSandboxId), bool(r.verbose))),
    ListPodSandbox: u((r) => ({ items: runtime.listPodSandbox(obj(r.filter)) })),
    CreateContainer: u((r) => ({ containerId: runtime.createContainer(str(r.podSandboxId), obj<WireContainerConfig>(r.config), obj<WirePodSandboxConfig>(r.sandboxConfig)) })),
    StartContainer: u((r) => runtime.startContainer(str(r.containerId))),
    StopContainer: u((r) => runtime.stopContainer(str(r.containerId), num(r.timeout))),
    RemoveContainer: u((r) => runtime.removeContainer(str(r.containerId))),
    ListContainers: u((r) => ({ containers: runtime.listContainers(obj(r.filter)) })),
    ContainerStatus: u((r) => runtime.containerStatus(str(r.containerId), bool(r.verbose))),
    UpdateContainerResources: u((r) => runtime.updateContainerResources(str(r.containerId), obj<WireResources>(r.linux))),
    ReopenContainerLog: u((r) => runtime.reopenContainerLog(str(r.containerId))),
    ExecSync: u((r) => runtime.execSync(str(r.containerId), (r.cmd as string[]) ?? [], num(r.timeout))),
    Exec: u((r) => ({ url: runtime.exec({ containerId: str(r.containerId), cmd: (r.cmd as string[]) ?? [], tty: bool(r.tty), stdin: bool(r.stdin), stdout: bool(r.stdout), stderr: bool(r.stderr) }) })),
    Attach: u((r) => ({ url: runtime.attach({ containerId: str(r.containerId), tty: bool(r.tty), stdin: bool(r.stdin), stdout: bool(r.stdout), stderr: bool(r.stderr) }) })),
    PortForward: u((r) => ({ url: runtime.portForward(str(r.podSandboxId), (r.port as number[]) ?? []) })),
    ContainerStats: u((r) => ({ stats: runtime.containerStats(str(r.containerId)) })),
    ListContainerStats: u((r) => ({ stats: runtime.listContainerStats(obj(r.filter)) })),
    PodSandboxStats: u((r) => ({ stats: runtime.podSandboxStats(str(r.podSandboxId)) })),
    ListPodSandboxStats: u((r) => ({ stats: runtime.listPodSandboxStats(obj(r.filter)) })),
    CheckpointContainer: u(() => {
      throw Object.assign(new Error('CheckpointContainer: peapod does not checkpoint containers'), { name: 'CriUnsupportedError' });
    }),
    ListMetricDescriptors: u(() => ({ descriptors: [] })),
    ListPodSandboxMetrics: u(() => ({})),
    GetContainerEvents: (call: GrpcModule.ServerWritableStream<unknown, unknown>) => {
      const stop = runtime.subscribe((event) => call.write(event));
      const close = (): void => {
        stop();
        call.end();
      };
      const end = (): void => (stop(), void closers.delete(close));
      call.on('cancelled', end);
      call.on('error', end);
      // Closing the server ends the stream (the client sees it end, not hang).
      closers.add(close);
    },
  });
  server.addService(cri.imageService, {
    ListImages: u((r) => ({ images: images.list(str(obj<{ image: { image: string } | null }>(r.filter)?.image?.image)) })),
    ImageStatus: u((r) => images.status(str(obj<{ image: string }>(r.image)?.image), bool(r.verbose))),
    PullImage: u(async (r) => ({ imageRef: await images.pull(str(obj<{ image: string }>(r.image)?.image), obj<AuthConfig>(r.auth)) })),
    RemoveImage: u((r) => images.remove(str(obj<{ image: string }>(r.image)?.image))),
    ImageFsInfo: u(() => images.fsInfo()),
  });

  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  chmodSync(socket, MODE.record);
  return {
    socket,
    streamingUrl,
    close: async () => {
      for (const close of closers) close();
      closers.clear();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
      await streaming.close();
      rmSync(socket, { force: true });
    },
  };
}

