// `peapod daemon`: the node daemon of a state root, in the foreground (for
// systemd, for tests, for watching it). Every command starts it on demand
// anyway; this is for those who want it started at boot or want its output,
// and for the kubelet, which expects its runtime up: the daemon serves the
// CRI on <state root>/cri.sock (`peapod cri` is this with the CRI's flags).
//
// The daemon itself runs under a reaper of its own, detached (see
// node/daemon.ts): this process starts them, relays SIGINT, SIGTERM and
// SIGHUP to the daemon, and exits as the daemon does. Stopping the daemon
// never stops its pods.
import { closeSync, writeSync } from 'node:fs';
import { pidfdOpen, watchEnd } from '../native/addon.js';
import { ask, launchDaemon, reachDaemon } from '../node/daemon-client.js';
import { lockHeld } from '../node/daemon-lock.js';
import { Daemon, DaemonRunningError } from '../node/daemon.js';
import { daemonPaths } from '../node/daemon-paths.js';
import { daemonServers, type CriSettings } from '../node/daemon-servers.js';
import { readReaperLog } from '../node/reaper-logs.js';
import { runtimePaths } from '../runtime/paths.js';
import { processStartTime } from '../runtime/proc.js';
import { parseArgs, stringFlag, UsageError, type Command, type FlagSpec, type Parsed } from './args.js';

const USAGE = 'usage: peapod daemon [--root DIR] [--pod-infra-binary PATH] [--cri-socket PATH] [--sandbox-image IMAGE] [--streaming-port N] | peapod daemon --stop [--root DIR]';

/** The flags that set the CRI server (`socket`: the name of the one for its socket, `--cri-socket` here, `--socket` for `peapod cri`). */
export function criFlags(socket: string): Record<string, FlagSpec> {
  return { [socket]: { value: true }, 'sandbox-image': { value: true }, 'streaming-port': { value: true } };
}

export function criSettings(args: Parsed, socket: string): CriSettings {
  const port = stringFlag(args, 'streaming-port');
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) > 65535)) throw new UsageError(`--streaming-port ${port}: a TCP port is a whole number from 0 to 65535 (0: any free one)`);
  const path = stringFlag(args, socket);
  const image = stringFlag(args, 'sandbox-image');
  return { ...(path ? { socket: path } : {}), ...(image ? { sandboxImage: image } : {}), ...(port !== undefined ? { streamingPort: Number(port) } : {}) };
}

/** The daemon proper, under its reaper: serves until stopped, then exits (its pods keep running). */
async function serve(root: string | undefined, readyFd: number | undefined, idle: string | undefined, pauseBinary: string | undefined, cri: CriSettings): Promise<number> {
  const tell = (line: string): boolean => {
    if (readyFd === undefined) return false;
    try {
      writeSync(readyFd, `${line}\n`);
      closeSync(readyFd);
      return true;
    } catch {
      // Whoever started it is gone: nothing to tell.
      return false;
    }
  };
  let daemon: Daemon;
  const paths = runtimePaths({ root });
  try {
    daemon = await Daemon.start({
      paths,
      servers: daemonServers(cri),
      ...(idle !== undefined ? { idleExitSeconds: Number(idle) } : {}),
      ...(pauseBinary ? { pauseBinary } : {}),
    });
  } catch (err) {
    // Another daemon won a race to start: whoever started this one may use that one.
    const told = err instanceof DaemonRunningError && err.serving ? tell(`running ${err.serving.pid ?? 0}\t${err.message}`) : tell(`error ${(err as Error).message}`);
    // Whoever was told says it (`peapod daemon` in the foreground shares this terminal: once is enough).
    if (told) return 1;
    throw err;
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void daemon.stop());
  process.stderr.write(`peapod daemon: pid ${process.pid} serving ${daemon.dp.socket}; its pods outlive it\n`);
  tell(`ready ${process.pid}`);
  await daemon.done;
  // The adopted pods' pidfd watches would keep the loop alive: the state is written, the pods run on.
  process.exit(0);
}

/** Asks the daemon to stop (its pods keep running), and waits until it has. */
async function stop(root: string | undefined): Promise<number> {
  const paths = runtimePaths({ root });
  const socket = await reachDaemon(paths, false);
  if (!socket) {
    process.stderr.write(`peapod: no daemon runs for ${paths.state}\n`);
    return 0;
  }
  await ask(socket, { op: 'shutdown' });
  const lock = daemonPaths(paths).lock;
  for (const deadline = Date.now() + 10_000; lockHeld(lock); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline) throw new Error(`the daemon of ${paths.state} was asked to stop 10 s ago and still runs`);
  }
  process.stderr.write(`peapod: the daemon of ${paths.state} stopped; its pods keep running\n`);
  return 0;
}

/** In the foreground: starts the daemon and stays until it ends, passing signals on. */
export async function foreground(root: string | undefined, pauseBinary: string | undefined, cri: CriSettings): Promise<number> {
  const paths = runtimePaths({ root });
  const launched = await launchDaemon(paths, { foreground: true, ...(pauseBinary ? { pauseBinary } : {}), cri });
  const startTime = processStartTime(launched.pid) ?? 0;
  const relay = (sig: NodeJS.Signals): void => {
    try {
      process.kill(launched.pid, sig);
    } catch {
      // Gone already.
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, relay);
  await new Promise<void>((resolve) => {
    let fd: number;
    try {
      fd = pidfdOpen(launched.pid);
    } catch {
      resolve();
      return;
    }
    watchEnd(fd, resolve);
  });
  // Its reaper recorded how it ended (it is the reaper's child, not ours).
  await new Promise((r) => setTimeout(r, 50));
  const exit = readReaperLog(launched.reaperLog).exits.get(`${launched.pid}:${startTime}`);
  if (exit?.signal !== undefined) {
    process.stderr.write(`peapod: the daemon (pid ${launched.pid}) was killed by signal ${exit.signal}; its pods keep running, and the next daemon takes them over\n`);
    return 128 + exit.signal;
  }
  return exit?.code ?? 0;
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    root: { value: true },
    stop: { value: false },
    'pod-infra-binary': { value: true },
    // Internal: the daemon itself, as its reaper starts it.
    serve: { value: false },
    'ready-fd': { value: true },
    'idle-exit': { value: true },
    ...criFlags('cri-socket'),
  });
  if (args.positionals.length > 0) throw new UsageError(USAGE);
  const root = stringFlag(args, 'root');
  const pauseBinary = stringFlag(args, 'pod-infra-binary');
  const cri = criSettings(args, 'cri-socket');
  if (args.flags.has('serve')) {
    const fd = stringFlag(args, 'ready-fd');
    return serve(root, fd === undefined ? undefined : Number(fd), stringFlag(args, 'idle-exit'), pauseBinary, cri);
  }
  if (args.flags.has('stop')) return stop(root);
  return foreground(root, pauseBinary, cri);
}

export const daemonCommand: Command = {
  name: 'daemon',
  synopsis: 'peapod daemon [--stop]',
  summary: 'the node daemon that holds the detached pods (in the foreground)',
  help: `${USAGE}

Runs the node daemon of the state root in the foreground: it holds every
pod started with \`run -d\`, and \`get\`, \`describe\`, \`logs\`, \`exec\`,
\`delete\`, \`top\` and \`inspect\` ask it. Any of those commands starts it
when it is not running (it then stops after PEAPOD_DAEMON_IDLE seconds, 30 by
default, with no pod to hold), so running it by hand is only for a service
manager (see the README's systemd unit) or to watch what it says.

It also serves Kubernetes' Container Runtime Interface (runtime.v1) on
<state root>/cri.sock, root's alone, for a kubelet, crictl or critest (see
\`peapod cri --help\`); the CRI's sandboxes are its pods too.

Its pods outlive it: stopped (Ctrl-C, SIGTERM, --stop) or killed, it leaves
every pod running, and the next daemon takes them over, with the exit codes
of containers that ended meanwhile and a deletion under way started again
with its full grace period. One daemon per root: a second one says which
one runs, and exits 1.

  --root DIR               state root (default /run/peapod; $PEAPOD_ROOT)
  --pod-infra-binary PATH  the pause binary for every pod
  --cri-socket PATH        the CRI's gRPC socket (default <state root>/cri.sock)
  --sandbox-image IMAGE    the CRI sandboxes' program: that image's entrypoint, a
                           static binary (default: peapod's own pause; $PEAPOD_SANDBOX_IMAGE)
  --streaming-port N       the CRI streaming server's port on 127.0.0.1 (default: any free one)
  --stop                   ask the running daemon to stop (its pods keep running)`,
  run,
};
