// `peapod delete pod NAME`: a graceful stop through the pod's supervisor
// (the seed's termination), or, when the supervisor is dead, reclaiming
// what it left. Whether it is dead is the kernel's to say; if it dies while
// the pod is stopping, the pod went down without its grace period, and this
// says so.
import { controlSocketPath, requestDelete, SupervisorGoneError } from '../node/control.js';
import { runtimePaths, type RuntimePaths } from '../runtime/paths.js';
import { reclaimPod } from '../node/stale.js';
import { PodNotFoundError, readStoredPod } from '../node/store.js';
import { intFlag, parseArgs, stringFlag, UsageError, type Command } from './args.js';

interface DeleteOptions {
  gracePeriodSeconds?: number;
  force?: boolean;
  wait: boolean;
}

/** Deletes one pod; true when it went as asked, false when it went some other way (said on stderr). */
async function deletePod(paths: RuntimePaths, name: string, options: DeleteOptions, again = true): Promise<boolean> {
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

Asks the pod's supervisor for a graceful stop: preStop hooks, SIGTERM to
every container, SIGKILL to what is left when the grace period (default:
the pod's terminationGracePeriodSeconds, else 30 s; at least 2 s) runs out,
then pause, then teardown. Returns when the pod is gone, unless
--wait=false. --force kills at once. A pod whose supervisor died is
reclaimed directly; if the supervisor dies during the delete, the pod went
down without the rest of its grace period: that is said, what it left is
reclaimed, and the exit code is 1.`,
  run,
};
