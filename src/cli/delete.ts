// `peapod delete pod NAME`: a graceful stop through the pod's supervisor
// (the seed's termination), or, when the supervisor is dead, reclaiming
// what it left.
import { requestDelete } from '../runtime/control.js';
import { runtimePaths } from '../runtime/paths.js';
import { reclaimPod } from '../runtime/stale.js';
import { getStoredPod } from '../runtime/store.js';
import { intFlag, parseArgs, stringFlag, UsageError, type Command } from './args.js';

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
  for (const name of names) {
    const stored = getStoredPod(paths, name);
    if (stored.live && stored.record?.control) {
      await requestDelete(
        stored.record.control,
        { ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}), ...(args.flags.has('force') ? { force: true } : {}) },
        waitFlag === 'true',
      );
    } else {
      await reclaimPod(paths, name);
    }
    process.stdout.write(`pod "${name}" deleted\n`);
  }
  return 0;
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
reclaimed directly.`,
  run,
};
