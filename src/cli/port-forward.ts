// `peapod port-forward POD [LOCAL:]REMOTE...`: kubectl's port-forward. It
// listens on the host's loopback and carries each connection to the port
// on the pod's own localhost, inside its network namespace; Ctrl-C closes
// everything and exits 0.
import { Forwarder, parsePortPair, type ForwardListener } from '../network/port-forward.js';
import { runtimePaths, type RuntimePaths } from '../runtime/paths.js';
import { isSameProcess } from '../runtime/proc.js';
import { viewPod } from '../node/pods-view.js';
import { isDaemonPod } from '../node/state.js';
import { readStoredPod, type StoredPod } from '../node/store.js';
import { parseArgs, stringFlag, UsageError, type Command } from './args.js';

const USAGE = 'usage: peapod port-forward POD [LOCAL:]REMOTE... [--address ADDR[,ADDR]] [--root DIR]';

/** Its pause, while the pod runs (a pod of the node daemon runs on while no daemon does). */
function runningPause(stored: StoredPod | null): number | null {
  const pause = stored?.record?.sandbox;
  if (!stored || !(stored.live || isDaemonPod(stored.record)) || !pause || !isSameProcess(pause.pid, pause.startTime)) return null;
  return pause.pid;
}

/** The pod's network namespace as it is now: pause may have been replaced since we started. */
function netnsOf(paths: RuntimePaths, name: string): string {
  const pause = runningPause(readStoredPod(paths, name));
  if (pause === null) throw new Error(`pod "${name}" is not running`);
  return `/proc/${pause}/ns/net`;
}

const show = (l: ForwardListener): string => `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`;

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { address: { value: true }, root: { value: true } });
  const [target, ...specs] = args.positionals;
  if (!target || specs.length === 0) throw new UsageError(USAGE);
  const name = target.replace(/^(pods?|po)\//, '');
  const pairs = specs.map(parsePortPair);
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const stored = await viewPod(paths, name);
  if (!stored.live) throw new Error(`pod "${name}" is not running (phase ${stored.pod?.status.phase ?? 'Unknown'}); port-forward needs a running pod`);
  netnsOf(paths, name);
  // kubectl's default "localhost": both loopbacks, IPv6 only where the host has it.
  const given = stringFlag(args, 'address');
  const addresses = (given ?? 'localhost').split(',').flatMap((a) => (a === 'localhost' ? ['127.0.0.1', '::1'] : [a]));
  const forwarder = new Forwarder({
    netnsPath: () => netnsOf(paths, name),
    onConnection: (l) => process.stdout.write(`Handling connection for ${l.port}\n`),
    onError: (l, err) => process.stderr.write(`peapod: an error occurred forwarding ${l.port} -> ${l.remote}: ${err.message}\n`),
  });
  for (const pair of pairs) {
    let local = pair.local;
    for (const address of addresses) {
      try {
        // Every address of one pair listens on the same port (the first one's, when any was asked).
        const l = await forwarder.listen(address, { local, remote: pair.remote });
        local = l.port;
        process.stdout.write(`Forwarding from ${show(l)} -> ${pair.remote}\n`);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (given === undefined && address === '::1' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
        await forwarder.close();
        throw new Error(`unable to listen on ${address}:${local}: ${(err as Error).message}`);
      }
    }
  }
  return new Promise((resolve) => {
    const stop = (code: number): void => {
      clearInterval(watch);
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, onSignal);
      void forwarder.close().then(() => resolve(code));
    };
    const onSignal = (): void => stop(0);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
    // kubectl ends when the pod does.
    const watch = setInterval(() => {
      if (runningPause(readStoredPod(paths, name)) !== null) return;
      process.stderr.write(`peapod: lost connection to pod "${name}": it is no longer running\n`);
      stop(1);
    }, 1000);
  });
}

export const portForwardCommand: Command = {
  name: 'port-forward',
  synopsis: 'peapod port-forward NAME [LOCAL:]REMOTE...',
  summary: "forward local ports to a pod's ports",
  help: `${USAGE}

Listens on the host's loopback (127.0.0.1 and ::1, or --address) and
forwards each connection to REMOTE on the pod's own localhost, inside its
network namespace, as kubectl port-forward does. LOCAL defaults to REMOTE;
":REMOTE" takes any free local port. Many connections may be open at once.
Ctrl-C closes every connection and exits 0; it exits 1 when the pod ends.

  --address ADDR[,ADDR]   where to listen (default localhost: 127.0.0.1 and ::1)
  --root DIR              state root (default /run/peapod; $PEAPOD_ROOT)`,
  run,
};
