// `peapod logs`: reads the containers' CRI-format log files, as kubectl
// logs does through the kubelet: -c, -f (across restarts), --previous,
// --tail, --timestamps, --since.
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { logFiles } from '../runtime/logs.js';
import { runtimePaths } from '../runtime/paths.js';
import { getStoredPod, readStoredPod, type StoredPod } from '../runtime/store.js';
import { intFlag, parseArgs, stringFlag, UsageError, type Command } from './args.js';

export interface LogLine {
  time: string;
  stream: string;
  text: string;
}

/** Parses CRI records, joining partial (P) records with the final (F) one. */
export class CriParser {
  private partial = '';
  private rest = '';

  push(chunk: string): LogLine[] {
    const out: LogLine[] = [];
    const data = this.rest + chunk;
    const lines = data.split('\n');
    this.rest = lines.pop() ?? '';
    for (const record of lines) {
      const m = /^(\S+) (stdout|stderr) ([PF]) ?(.*)$/.exec(record);
      if (!m) continue;
      if (m[3] === 'P') {
        this.partial += m[4];
        continue;
      }
      out.push({ time: m[1] as string, stream: m[2] as string, text: this.partial + (m[4] as string) });
      this.partial = '';
    }
    return out;
  }
}

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

/** The file's bytes from `offset`; nothing when it was just rotated away (the caller lists again). */
function readFrom(path: string, offset: number): { text: string; size: number } {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && offset > 0) return { text: '', size: offset };
    throw err;
  }
  if (size <= offset) return { text: '', size: offset };
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return { text: buf.toString('utf8'), size };
  } finally {
    closeSync(fd);
  }
}

/** The bytes from `offset` of the file at `path` if it is still inode `ino` (read through one fd, so a rename cannot swap it). */
function readInode(path: string, ino: number, offset: number): { text: string; size: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (st.ino !== ino) return null;
    if (st.size <= offset) return { text: '', size: offset };
    const buf = Buffer.alloc(st.size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return { text: buf.toString('utf8'), size: st.size };
  } finally {
    closeSync(fd);
  }
}

function inode(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -1;
  }
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
  const stored = getStoredPod(paths, name);
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
  if (logFiles(file(instance)).length === 0 && !args.flags.has('follow')) {
    throw new Error(`no logs for container "${container}" of pod "${name}" (it has not started, or the pod is gone)`);
  }
  let parser = new CriParser();
  // Rotated files first, oldest to newest, then the live one.
  let initial: LogLine[] = [];
  let current = { ino: -1, offset: 0 };
  // A rotation between listing the files and reading them renames one: list again.
  for (let attempt = 0; ; attempt++) {
    try {
      const lines: LogLine[] = [];
      const fresh = new CriParser();
      for (const path of logFiles(file(instance))) {
        const chunk = readFrom(path, 0);
        for (const line of fresh.push(chunk.text)) lines.push(line);
        if (path === file(instance)) current = { ino: statSync(path).ino, offset: chunk.size };
      }
      initial = lines;
      parser = fresh;
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 5) throw err;
    }
  }
  print(tail === undefined ? initial : initial.slice(Math.max(initial.length - tail, 0)));
  if (!args.flags.has('follow') || args.flags.has('previous')) return 0;

  // Follow: new lines of this instance (through rotations), then of each restart, until the pod is gone.
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    current = followOnce(file(instance), current, (text) => print(parser.push(text)));
    if (existsSync(file(instance + 1))) {
      instance++;
      current = { ino: -1, offset: 0 };
      continue;
    }
    const now = readStoredPod(paths, name);
    if (!now || !now.live) return 0;
  }
}

/**
 * One look at a log and its rotated files: everything after what was read
 * (the file with inode `seen.ino`, up to `seen.offset`), across however many
 * rotations happened since, in order. Files are followed by inode, since
 * rotation renames them; one renamed between listing and reading waits for
 * the next look.
 */
export function followOnce(live: string, seen: { ino: number; offset: number }, emit: (text: string) => void): { ino: number; offset: number } {
  const files = logFiles(live).map((path) => ({ path, ino: inode(path) }));
  let at = seen.ino === -1 ? files.length - 1 : files.findIndex((f) => f.ino === seen.ino);
  // The file last read was rotated out of existence (max files): go on from the oldest left.
  if (at < 0) at = 0;
  let now = seen;
  for (let i = at; i < files.length; i++) {
    const f = files[i] as { path: string; ino: number };
    const chunk = readInode(f.path, f.ino, f.ino === seen.ino ? seen.offset : 0);
    if (!chunk) return now;
    emit(chunk.text);
    now = { ino: f.ino, offset: chunk.size };
  }
  return now;
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
