// `peapod run -f FILE`: the pod in the foreground. Logs stream as
// "[container] line"; Ctrl-C (or SIGTERM) is a graceful delete, a second
// Ctrl-C kills at once. The exit code is 0 only if every container exited 0.
import { formatIssue, readPodFile } from '../manifest/index.js';
import { PodWorker } from '../kubelet/pod-worker.js';

import { runtimePaths } from '../runtime/paths.js';
import { removeInPlace } from '../runtime/discard.js';
import { reclaimStalePods } from '../node/stale.js';
import { backoffFromEnv } from '../kubelet/backoff.js';
import type { DaemonReply } from '../node/daemon-protocol.js';
import { intFlag, parseArgs, stringFlag, UsageError, type Command } from './args.js';

export const RUN_USAGE = `usage: peapod run -f FILE [-d] [--root DIR] [--grace-period SECONDS] [--backoff-base SECONDS] [--backoff-cap SECONDS] [--pod-infra-binary PATH] [--strict]`;

function prefixLines(out: NodeJS.WriteStream): (container: string, stream: string, line: string) => void {
  return (container, stream, line) => {
    (stream === 'stderr' ? process.stderr : out).write(`[${container}] ${line}\n`);
  };
}

const FLAGS = {
  filename: { value: true, alias: 'f' },
  root: { value: true },
  'grace-period': { value: true },
  'pod-infra-binary': { value: true },
  'backoff-base': { value: true },
  'backoff-cap': { value: true },
  'node-allocatable': { value: true },
  strict: { value: false },
  detach: { value: false, alias: 'd' },
} as const;

/**
 * `run -d`: the pod goes to the node daemon of the root (started now if it
 * does not run), which holds it from then on; this prints its name once it
 * runs, or why it could not start.
 */
async function runDetached(args: ReturnType<typeof parseArgs>, file: string): Promise<number> {
  if (stringFlag(args, 'pod-infra-binary')) throw new UsageError('--pod-infra-binary is the daemon\'s to choose for every pod: `peapod daemon --pod-infra-binary PATH`');
  const { pods, warnings } = readPodFile(file, { strict: args.flags.has('strict') });
  for (const w of warnings) process.stderr.write(`${formatIssue(w, file)}\n`);
  if (pods.length !== 1) throw new UsageError(`run starts one pod, and ${file} holds ${pods.length}; put each pod in its own file`);
  const pod = pods[0]!;
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const backoff = backoffFromEnv({
    ...process.env,
    ...(stringFlag(args, 'backoff-base') ? { PEAPOD_BACKOFF_BASE: stringFlag(args, 'backoff-base') } : {}),
    ...(stringFlag(args, 'backoff-cap') ? { PEAPOD_BACKOFF_CAP: stringFlag(args, 'backoff-cap') } : {}),
  });
  const allocatable = stringFlag(args, 'node-allocatable') ?? process.env.PEAPOD_NODE_ALLOCATABLE;
  // The daemon's client (and what it imports) for run -d only: run -f starts the pod in this process.
  const { ask, DaemonGoneError, daemonEnd, reachDaemon } = await import('../node/daemon-client.js');
  const socket = (await reachDaemon(paths, true)) as string;
  let reply: DaemonReply;
  try {
    reply = await ask(socket, { op: 'run', pod, settings: { backoff, ...(allocatable ? { nodeAllocatable: allocatable } : {}) } });
  } catch (err) {
    if (!(err instanceof DaemonGoneError)) throw err;
    // As a shell says it: killed by a signal is not an exit code.
    const how = await daemonEnd(paths);
    const name = pod.metadata.name;
    throw new Error(
      `the peapod daemon ${how ?? 'went away'} before pod "${name}" started; the next daemon (any peapod command starts it) removes what was made of it: \`peapod get pod ${name}\` says why, \`peapod delete pod ${name}\` removes it`,
    );
  }
  if ('error' in reply) throw new Error(reply.error);
  process.stdout.write(`pod/${pod.metadata.name}\n`);
  return 0;
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  const file = stringFlag(args, 'filename');
  if (!file) throw new UsageError(`run needs a manifest: -f FILE\n${RUN_USAGE}`);
  if (args.positionals.length > 0) throw new UsageError(`run takes no arguments besides flags: ${args.positionals.join(' ')}\n${RUN_USAGE}`);
  const grace = intFlag(args, 'grace-period');
  if (args.flags.has('detach')) return runDetached(args, file);

  // Signals first: a Ctrl-C during start stops the pod as soon as it exists.
  let interrupts = 0;
  let runtime: PodWorker | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    // This process exits once the pod is gone: what is left of it goes in place, without detours.
    removeInPlace();
    if (!runtime) return;
    if (interrupts === 1) {
      const seconds = grace ?? runtime.pod.spec.terminationGracePeriodSeconds ?? 30;
      say(`\n${sig}: stopping pod/${runtime.name} (grace period ${seconds}s; Ctrl-C again to kill now)\n`);
      void runtime.stop(grace === undefined ? {} : { gracePeriodSeconds: grace });
    } else {
      say(`${sig}: killing pod/${runtime.name} now\n`);
      void runtime.stop({ force: true });
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  const say = (text: string): void => {
    process.stderr.write(text);
  };

  const { pods, warnings } = readPodFile(file, { strict: args.flags.has('strict') });
  for (const w of warnings) say(`${formatIssue(w, file)}\n`);
  if (pods.length !== 1) {
    throw new UsageError(`run starts one pod, and ${file} holds ${pods.length}; put each pod in its own file`);
  }
  const pod = pods[0]!;
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const stale = await reclaimStalePods(paths);
  for (const u of stale.unreadable) say(`peapod: pod "${u.name}" left as it is: its record cannot be read (${u.reason}) and no peapod supervises it; \`peapod delete pod ${u.name}\` removes it\n`);
  const pauseBinary = stringFlag(args, 'pod-infra-binary');
  const backoff = backoffFromEnv({
    ...process.env,
    ...(stringFlag(args, 'backoff-base') ? { PEAPOD_BACKOFF_BASE: stringFlag(args, 'backoff-base') } : {}),
    ...(stringFlag(args, 'backoff-cap') ? { PEAPOD_BACKOFF_CAP: stringFlag(args, 'backoff-cap') } : {}),
  });
  const allocatable = stringFlag(args, 'node-allocatable');
  runtime = await PodWorker.start(pod, {
    paths,
    backoff,
    ...(allocatable ? { nodeAllocatable: allocatable } : {}),
    onLog: prefixLines(process.stdout),
    onEvent: (e) => {
      // What a user watching the pod needs to know: restarts, hooks, failures.
      if (e.type === 'Warning' || e.reason === 'SandboxChanged' || e.reason === 'DeadlineExceeded') {
        const who = e.fieldPath ? ` ${e.fieldPath}` : '';
        say(`event ${e.type} ${e.reason}${who}: ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}\n`);
      }
    },
    ...(pauseBinary ? { pauseBinary } : {}),
  });
  say(`pod/${runtime.name} running (pause pid ${runtime.sandbox.pid}); Ctrl-C stops it\n`);
  if (interrupts > 0) {
    interrupts = 0;
    onSignal('SIGINT');
  }

  const result = await runtime.done;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal);
  for (const c of result.containers) {
    const how = (c.exit.signal !== undefined ? `killed by signal ${c.exit.signal}` : `exited ${c.exit.code}`) + (c.reason ? ` (${c.reason})` : '');
    const restarts = c.restartCount > 0 ? ` after ${c.restartCount} restart${c.restartCount > 1 ? 's' : ''}` : '';
    say(`container ${c.name} ${how}${restarts}\n`);
  }
  // Stopped on request, a pod is simply deleted; ended on its own, it has a phase.
  const reason = result.status.reason ? ` (${result.status.reason})` : '';
  // (Evicted or past its deadline, it was ended by the runtime: that has a phase too.)
  const requested = interrupts > 0 || (runtime.isTerminating && !result.status.reason);
  say(requested ? `pod/${runtime.name} deleted\n` : `pod/${runtime.name} ${result.status.phase}${reason}, deleted\n`);
  return result.exitCode;
}

export const runCommand: Command = {
  name: 'run',
  synopsis: 'peapod run -f pod.yaml [-d] [--grace-period N]',
  summary: 'run a pod (in the foreground; -d: held by the node daemon)',
  help: `${RUN_USAGE}

Runs the pod in the manifest. In the foreground its output streams as
"[container] line"; Ctrl-C (or SIGTERM) deletes it gracefully, a second
Ctrl-C kills it at once. The exit code is 0 when every container exited 0.

  -f, --filename FILE       the Pod manifest (YAML or JSON)
  -d, --detach              hand the pod to the node daemon (started if it does not run): return once the pod runs, print its name
  --root DIR                state root (default /run/peapod; $PEAPOD_ROOT)
  --grace-period N          seconds between SIGTERM and SIGKILL (default: the pod's terminationGracePeriodSeconds, else 30)
  --backoff-base S          crash-loop back-off base in seconds (default 10; $PEAPOD_BACKOFF_BASE)
  --backoff-cap S           crash-loop back-off cap in seconds (default 300; $PEAPOD_BACKOFF_CAP)
  --node-allocatable LIST   what this node offers pods, e.g. memory=2Gi,cpu=2 (default: the host's; $PEAPOD_NODE_ALLOCATABLE)
  --pod-infra-binary PATH   the pause binary to use
  --strict                  refuse fields peapod does not implement instead of warning`,
  run,
};
