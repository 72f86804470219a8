// `peapod cri`: the node daemon of a state root in the foreground, as
// `peapod daemon` runs it, with the CRI server's settings as flags: the
// daemon serves the Container Runtime Interface on <state root>/cri.sock,
// and the CRI's pods are its pods, outliving it as every pod of it does.
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';
import { criFlags, criSettings, foreground } from './daemon.js';

const USAGE = 'usage: peapod cri [--socket PATH] [--sandbox-image IMAGE] [--streaming-port N] [--root DIR]';

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { ...criFlags('socket'), root: { value: true } });
  if (args.positionals.length > 0) throw new UsageError(`cri takes no arguments besides flags: ${args.positionals.join(' ')}\n${USAGE}`);
  return foreground(stringFlag(args, 'root'), undefined, criSettings(args, 'socket'));
}

export const criCommand: Command = {
  name: 'cri',
  synopsis: 'peapod cri [--socket PATH]',
  summary: 'the node daemon in the foreground, serving the CRI (runtime.v1) for the kubelet, crictl and critest',
  help: `${USAGE}

Runs the node daemon of the state root in the foreground (as \`peapod
daemon\` does, with the settings of its CRI server as flags). It serves
Kubernetes' Container Runtime Interface, runtime.v1 RuntimeService and
ImageService, over gRPC on a unix socket only root can use:
<state root>/cri.sock (/run/peapod/cri.sock by default). A kubelet runs
pods through it with --container-runtime-endpoint=unix:///run/peapod/cri.sock,
and crictl talks to it with --runtime-endpoint the same. Exec, attach and
port-forward URLs point to a streaming server on 127.0.0.1 (SPDY/3.1 and
WebSocket).

The CRI's pods are the daemon's: Ctrl-C, SIGTERM or a crash stops the
daemon and leaves them running; the next daemon (this command again, or
\`peapod daemon\`, or any command that starts one) takes them over with the
same ids. RemovePodSandbox removes them. One daemon per root: when one
already runs, this says so and exits 1 (that one serves the CRI already).
A CRI client never starts the daemon: for a kubelet, run this (or \`peapod
daemon\`) from a service manager (the README has a systemd unit).

  --socket PATH          the gRPC socket (default <state root>/cri.sock)
  --sandbox-image IMAGE  the sandbox's program: that image's entrypoint, a static
                         binary (default: peapod's own pause; $PEAPOD_SANDBOX_IMAGE)
  --streaming-port N     the streaming server's port on 127.0.0.1 (default: any free one)
  --root DIR             state root (default /run/peapod; $PEAPOD_ROOT)`,
  run,
};
