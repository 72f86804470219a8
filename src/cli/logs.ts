// `peapod logs`: reads the containers' CRI-format log files, as kubectl
// logs does through the kubelet: -c, -f (across restarts), --previous,
// --tail, --timestamps, --since.
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { CriParser, LogChain, type LogLine } from '../runtime/log-reader.js';
import { logFiles } from '../runtime/logs.js';
import { runtimePaths } from '../runtime/paths.js';
import { viewPod } from '../node/pods-view.js';
import { readStoredPod, type StoredPod } from '../node/store.js';
import { isDaemonPod } from '../node/state.js';
import { intFlag, parseArgs, stringFlag, UsageError, type Command } from './args.js';

/** "10s", "5m", "1h30m" -> milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new UsageError(`invalid duration "${text}": use a number with a unit, like 30s, 5m or 1h`);
  return total;
}

function chooseContainer(stored: StoredPod, wanted: string | undefined): { name: string; restartCount: number } {
  const pod = stored.pod ?? stored.record?.pod;
  const app = pod?.spec.containers.map((c) => c.name) ?? [];
  const init = pod?.spec.initContainers?.map((c) => c.name) ?? [];
  const statuses = [...(stored.pod?.status.initContainerStatuses ?? []), ...(stored.pod?.status.containerStatuses ?? [])];
  const restartCount = (name: string): number => statuses.find((s) => s.name === name)?.restartCount ?? 0;
  if (wanted) {
    if (![...app, ...init].includes(wanted)) throw new Error(`container ${wanted} is not valid for pod ${stored.name}`);
    return { name: wanted, restartCount: restartCount(wanted) };
  }
  if (app.length === 1 && app[0]) return { name: app[0], restartCount: restartCount(app[0]) };
  const initPart = init.length > 0 ? ` or one of the init containers: [${init.join(' ')}]` : '';
  throw new UsageError(`a container name must be specified for pod ${stored.name}, choose one of: [${app.join(' ')}]${initPart}`);
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    container: { value: true, alias: 'c' },
    follow: { value: false, alias: 'f' },
    previous: { value: false, alias: 'p' },
    tail: { value: true },
    timestamps: { value: false },
    since: { value: true },
    root: { value: true },
  });
  const [name, ...extra] = args.positionals;
  if (!name || extra.length > 0) throw new UsageError(`usage: ${logsCommand.synopsis}`);
  const paths = runtimePaths({ root: stringFlag(args, 'root') });
  const stored = await viewPod(paths, name);
  const { name: container, restartCount } = chooseContainer(stored, stringFlag(args, 'container'));
  let instance = restartCount;
  if (args.flags.has('previous')) {
    if (restartCount === 0) throw new Error(`previous terminated container "${container}" in pod "${name}" not found`);
    instance = restartCount - 1;
  }
  const tailText = stringFlag(args, 'tail');
  const tail = tailText === undefined || tailText === '-1' ? undefined : intFlag(args, 'tail');
  const sinceText = stringFlag(args, 'since');
  const since = sinceText === undefined ? undefined : Date.now() - parseDuration(sinceText);
  const stamps = args.flags.has('timestamps');
  const print = (lines: LogLine[]): void => {
    const kept = since === undefined ? lines : lines.filter((l) => Date.parse(l.time) >= since);
    if (kept.length > 0) process.stdout.write(kept.map((l) => (stamps ? `${l.time} ${l.text}` : l.text)).join('\n') + '\n');
  };

  const file = (n: number): string => stored.paths.log(container, n);
  const follow = args.flags.has('follow') && !args.flags.has('previous');
  if (logFiles(file(instance)).length === 0 && !follow) {
    throw new Error(`no logs for container "${container}" of pod "${name}" (it has not started, or the pod is gone)`);
  }
  const lost = (message: string): boolean => process.stderr.write(`peapod: ${message}\n`);
  const parser = new CriParser();
  let chain = new LogChain(file(instance), lost);
  // What is there now, through every rotated file, oldest first; then --tail of it.
  const initial: LogLine[] = [];
  chain.read((text) => {
    for (const line of parser.push(text)) initial.push(line);
  });
  print(tail === undefined ? initial : initial.slice(Math.max(initial.length - tail, 0)));
  if (!follow) {
    chain.close();
    return 0;
  }

  // Follow: this instance through its rotations, then each restart's, until the pod is gone.
  const emit = (text: string): void => print(parser.push(text));
  const wake = wakeOnChange(dirname(file(instance)));
  try {
    for (;;) {
      chain.read(emit);
      if (existsSync(file(instance + 1))) {
        // A new instance: this one has ended, and its last lines are read before moving on.
        chain.read(emit);
        chain.close();
        chain = new LogChain(file(++instance), lost);
        continue;
      }
      // Whether the pod still runs, from its files (never a wait on the daemon, busy with this very
      // output: the reader must keep up with the rotations); a daemon's pod runs while no daemon does.
      const now = readStoredPod(paths, name);
      if (!now || !(now.live || isDaemonPod(now.record))) {
        chain.read(emit);
        return 0;
      }
      await wake();
    }
  } finally {
    chain.close();
    wake.stop();
  }
}

/**
 * Resolves at the next change in the log directory (inotify: a new file, a
 * rename, a write), or after 100 ms at the latest, so that a rotation is
 * seen at once, not at the next poll.
 */
function wakeOnChange(dir: string): { (): Promise<void>; stop(): void } {
  let notify: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  const arm = (): void => {
    if (watcher) return;
    try {
      watcher = watch(dir, { persistent: false }, () => notify?.());
      watcher.on('error', () => watcher?.close());
    } catch {
      // Not there yet (the container has not started): polling until it is.
    }
  };
  const wait = (): Promise<void> => {
    arm();
    return new Promise((resolve) => {
      const timer = setTimeout(done, 100);
      function done(): void {
        clearTimeout(timer);
        notify = undefined;
        resolve();
      }
      notify = done;
    });
  };
  return Object.assign(wait, { stop: () => watcher?.close() });
}

export const logsCommand: Command = {
  name: 'logs',
  synopsis: 'peapod logs NAME [-c C] [-f] [--previous] [--tail N]',
  summary: 'print a container’s output',
  help: `usage: peapod logs NAME [-c CONTAINER] [-f] [--previous] [--tail N] [--timestamps] [--since DURATION] [--root DIR]

Prints a container's output from its CRI log file. -c is needed when the
pod has several containers. -f follows the output, across restarts, until
the pod is gone; --previous shows the instance before the current one;
--tail N the last N lines; --since 5m the lines of the last five minutes;
--timestamps prefixes each line with its RFC 3339 time.`,
  run,
};
