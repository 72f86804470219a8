// `peapod delete pod NAME`: a graceful stop (the seed's termination) by
// whoever holds the pod: the node daemon for its pods (started first if it
// does not run), else the pod's own supervisor (`run -f`), or, when that is
// dead, reclaiming what it left. Whether it is dead is the kernel's to say;
// if it dies while the pod is stopping, the pod went down without its
// grace period, and this says so. A daemon that dies meanwhile takes
// nothing with it: the next one ends the pod with its full grace period.
import { controlSocketPath, requestDelete, SupervisorGoneError } from '../node/control.js';
import { podPaths, runtimePaths, type RuntimePaths } from '../runtime/paths.js';
import { ask, DaemonGoneError, reachDaemon } from '../node/daemon-client.js';
import type { DaemonReply } from '../node/daemon-protocol.js';
import { isDaemonPod, readRecordFile } from '../node/state.js';
import { reclaimPod } from '../node/stale.js';
import { PodNotFoundError, readStoredPod } from '../node/store.js';
import { intFlag, parseArgs, stringFlag, UsageError, type Command } from './args.js';

interface DeleteOptions {
  gracePeriodSeconds?: number;
  force?: boolean;
  wait: boolean;
}

/** Through the daemon when the pod is its; 'not-mine' when it is not (or no daemon runs and it is not a daemon's pod). */
async function deleteThroughDaemon(paths: RuntimePaths, name: string, options: DeleteOptions, again = true): Promise<boolean | 'not-mine'> {
  const read = readRecordFile(podPaths(paths, name).recordFile);
  const socket = await reachDaemon(paths, 'value' in read && isDaemonPod(read.value));
  if (!socket) return 'not-mine';
  const { wait, ...request } = options;
  let reply: DaemonReply;
  try {
    reply = await ask(socket, { op: 'delete', name, ...request, wait }, (r) => wait && 'accepted' in r);
  } catch (err) {
    if (!(err instanceof DaemonGoneError) || !again) throw err;
    // Its pods outlive it: the next daemon takes this one over and ends it with its full grace period.
    process.stderr.write(`peapod: ${err.message}${err.accepted ? ` while pod "${name}" was being deleted` : ''}; a new daemon takes the pod over${err.accepted ? ' and ends it with its full grace period' : ''}\n`);
    const retry = await deleteThroughDaemon(paths, name, options, false).catch((e: unknown) => {
      // Gone in the meantime: deleted.
      if (e instanceof PodNotFoundError) return true;
      throw e;
    });
    return retry;
  }
  if ('error' in reply) {
    if (reply.notMine) return 'not-mine';
    if (reply.notFound) throw new PodNotFoundError(name);
    throw new Error(reply.error);
  }
  return true;
}

/** Deletes one pod; true when it went as asked, false when it went some other way (said on stderr). */
async function deletePod(paths: RuntimePaths, name: string, options: DeleteOptions, again = true): Promise<boolean> {
  const byDaemon = await deleteThroughDaemon(paths, name, options);
  if (byDaemon !== 'not-mine') return byDaemon;
  const stored = readStoredPod(paths, name);
  if (!stored) throw new PodNotFoundError(name);
  if (stored.live) {
    const { wait, ...request } = options;
    try {
      await requestDelete(stored.record?.control ?? controlSocketPath(stored.paths, paths.state), request, wait);
      return true;
    } catch (err) {
      if (!(err instanceof SupervisorGoneError)) throw err;
      const found = await reclaimPod(paths, name, { unreadable: true });
      if (found.kind === 'live') throw new Error(`pod "${name}": ${err.message}, and it still runs; try again`);
      if (!err.accepted) return true;
      process.stderr.write(`peapod: pod "${name}": ${err.message}: the pod was killed with it, without the rest of its grace period; what it left was reclaimed\n`);
      return false;
    }
  }
  const found = await reclaimPod(paths, name, { unreadable: true });
  // Started again meanwhile, under the same name: that one is asked to stop.
  if (found.kind === 'live') {
    if (!again) throw new Error(`pod "${name}" was started again while it was being deleted; try again`);
    return deletePod(paths, name, options, false);
  }
  return true;
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    'grace-period': { value: true },
    force: { value: false },
    wait: { value: true },
    root: { value: true },
  });
  const [kind, ...names] = args.positionals;
  if (!kind || !['pod', 'pods', 'po'].includes(kind) || names.length === 0) throw new UsageError(`usage: ${deleteCommand.synopsis}`);
  const waitFlag = stringFlag(args, 'wait') ?? 'true';
  if (waitFlag !== 'true' && waitFlag !== 'false') throw new UsageError(`--wait takes true or false, not "${waitFlag}"`);
  const grace = intFlag(args, 'grace-period');
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  let code = 0;
  for (const name of names) {
    const options: DeleteOptions = { wait: waitFlag === 'true', ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}), ...(args.flags.has('force') ? { force: true } : {}) };
    if (!(await deletePod(paths, name, options))) code = 1;
    process.stdout.write(`pod "${name}" deleted\n`);
  }
  return code;
}

export const deleteCommand: Command = {
  name: 'delete',
  synopsis: 'peapod delete pod NAME [--grace-period N] [--force] [--wait=false]',
  summary: 'stop a pod gracefully and remove it',
  help: `usage: peapod delete pod NAME... [--grace-period N] [--force] [--wait=true|false] [--root DIR]

Asks whoever holds the pod (the node daemon, or the pod's own \`run -f\`)
for a graceful stop: preStop hooks, SIGTERM to every container, SIGKILL to
what is left when the grace period (default: the pod's
terminationGracePeriodSeconds, else 30 s; at least 2 s) runs out, then
pause, then teardown. Returns when the pod is gone, unless
--wait=false. --force kills at once. A pod whose supervisor died is
reclaimed directly; if the supervisor dies during the delete, the pod went
down without the rest of its grace period: that is said, what it left is
reclaimed, and the exit code is 1. A node daemon that dies during the
delete takes nothing with it: a new daemon takes the pod over and ends it
with its full grace period.`,
  run,
};
