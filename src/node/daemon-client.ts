// The CLI's side of the node daemon: asking it, and starting it when it
// does not run (a user never has to). A daemon starts under a reaper of its
// own (native/reaper.c), detached from the command that started it; it
// says "ready" (or why not) on a pipe, and the command goes on.
import { closeSync, existsSync, openSync, renameSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { packageRoot, reaperBinary } from '../package.js';
import { makeOwnDir, MODE } from '../runtime/modes.js';
import { prepareRoots, type RuntimePaths } from '../runtime/paths.js';
import { daemonAnswers } from './daemon-answers.js';
import { lockHeld, lockHolder } from './daemon-lock.js';
import { daemonPaths, type DaemonInfo } from './daemon-paths.js';
import { readJson } from '../runtime/json-file.js';
import { readReaperLog } from './reaper-logs.js';
import type { DaemonReply, DaemonRequest } from './daemon-protocol.js';
import type { CriSettings } from './daemon-servers.js';
import { readJsonLines, writeJsonLine } from './json-lines.js';
import { childProcess } from '../lazy-packages.js';

/** The daemon went away before it answered (killed, or stopped). */
export class DaemonGoneError extends Error {
  override name = 'DaemonGoneError';
  constructor(
    message: string,
    /** It had accepted the request (a delete under way). */
    readonly accepted: boolean,
  ) {
    super(message);
  }
}

/**
 * Sends one request; resolves with the last reply. `more` sees every reply
 * and says whether another is coming (a delete: `accepted`, then `done`).
 */
export function ask(socket: string, request: DaemonRequest, more: (reply: DaemonReply) => boolean = () => false): Promise<DaemonReply> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let accepted = false;
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      conn.destroy();
      fn();
    };
    conn.on('connect', () => writeJsonLine(conn, request));
    readJsonLines(
      conn,
      (value) => {
        const reply = value as DaemonReply;
        if ('accepted' in reply) accepted = true;
        if (!more(reply)) settle(() => resolve(reply));
      },
      () => settle(() => reject(new Error(`the peapod daemon answered something that is not JSON on ${socket}`))),
    );
    conn.on('error', (err) => settle(() => reject(new DaemonGoneError(`cannot reach the peapod daemon at ${socket}: ${err.message}`, accepted))));
    conn.on('close', () => settle(() => reject(new DaemonGoneError(`the peapod daemon at ${socket} went away before it answered`, accepted))));
  });
}

/** The environment that makes a daemon serve exactly these paths. */
function rootEnv(paths: RuntimePaths): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PEAPOD_IMAGES: paths.images };
  if (paths.state === paths.data) {
    env.PEAPOD_ROOT = paths.state;
  } else {
    delete env.PEAPOD_ROOT;
    env.PEAPOD_STATE_ROOT = paths.state;
    env.PEAPOD_DATA_ROOT = paths.data;
  }
  return env;
}

const LOG_KEEP_BYTES = 1 << 20;

export interface LaunchOptions {
  /** The daemon writes to this process's stdout and stderr (peapod daemon); else to its log file. */
  foreground?: boolean;
  idleExitSeconds?: number;
  pauseBinary?: string;
  /** Its CRI server's settings (`peapod cri`, `peapod daemon --cri-socket ...`). */
  cri?: CriSettings;
}

/** The flags of `peapod daemon --serve` that carry the CRI's settings. */
function criArgs(cri: CriSettings = {}): string[] {
  return [
    ...(cri.socket ? ['--cri-socket', cri.socket] : []),
    ...(cri.sandboxImage ? ['--sandbox-image', cri.sandboxImage] : []),
    ...(cri.streamingPort !== undefined ? ['--streaming-port', String(cri.streamingPort)] : []),
  ];
}

export interface Launched {
  pid: number;
  /** Its reaper's log (where its own exit is recorded too). */
  reaperLog: string;
}

/**
 * Starts a daemon for the root under a new reaper, detached from this
 * process; resolves once it serves (its pods adopted), or throws what it
 * said when it could not (another daemon serves the root, ...).
 */
export async function launchDaemon(paths: RuntimePaths, options: LaunchOptions = {}): Promise<Launched> {
  const dp = daemonPaths(paths);
  prepareRoots(paths);
  makeOwnDir(dp.dir, MODE.rootDir);
  makeOwnDir(dp.reapers, MODE.rootDir);
  const reaperLog = join(dp.reapers, `${Date.now()}-${randomBytes(4).toString('hex')}.log`);
  // Its output when started on demand: one file, and the one before it once that passes 1 MiB.
  if (!options.foreground && existsSync(dp.log) && statSync(dp.log).size > LOG_KEEP_BYTES) renameSync(dp.log, `${dp.log}.1`);
  const out = options.foreground ? 'inherit' : openSync(dp.log, 'a', MODE.log);
  const args = [reaperLog, process.execPath, ...process.execArgv, join(packageRoot, 'bin', 'peapod.js'), 'daemon', '--serve', '--ready-fd', '3'];
  if (options.idleExitSeconds !== undefined) args.push('--idle-exit', String(options.idleExitSeconds));
  if (options.pauseBinary) args.push('--pod-infra-binary', options.pauseBinary);
  args.push(...criArgs(options.cri));
  // (node:child_process loaded only here: most calls find a daemon serving.)
  const child = childProcess().spawn(reaperBinary, args, {
    detached: true,
    stdio: ['ignore', out, out, 'pipe'],
    env: { ...rootEnv(paths), PEAPOD_REAPER_LOG: reaperLog },
  });
  if (typeof out === 'number') closeSync(out);
  const pipe = child.stdio[3] as Readable;
  let said = '';
  pipe.setEncoding('utf8');
  pipe.on('data', (d: string) => (said += d));
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with ${code ?? 1}`)));
  const spawnError = new Promise<Error>((resolve) => child.on('error', resolve));
  const closed = new Promise((resolve) => pipe.on('close', resolve));
  const failed = await Promise.race([closed.then(() => undefined), spawnError]);
  if (failed) throw new Error(`cannot start the peapod daemon (${reaperBinary}): ${failed.message}; run \`npm run build\``);
  child.unref();
  const line = said.trim();
  const ready = /^ready (\d+)$/.exec(line);
  if (ready) return { pid: Number(ready[1]), reaperLog };
  // Another daemon started at the same moment and serves: a command uses it; `peapod daemon` says so.
  const running = /^running (\d+)\t(.*)$/.exec(line);
  if (running && !options.foreground) return { pid: Number(running[1]), reaperLog: '' };
  if (running) throw new Error(running[2]);
  if (line.startsWith('error ')) throw new Error(line.slice(6));
  throw new Error(`the peapod daemon ${await exited} before it was ready${options.foreground ? '' : `; see ${dp.log}`}`);
}

/**
 * How the daemon that served the root ended, as its reaper recorded it
 * ("was killed by SIGKILL", "exited with 1"), or null when it still runs or
 * nobody knows. Waits a moment: the reaper writes it as it reaps it.
 */
export async function daemonEnd(paths: RuntimePaths): Promise<string | null> {
  const info = readJson<DaemonInfo>(daemonPaths(paths).info);
  if (!info || !info.reaper.log) return null;
  for (const deadline = Date.now() + 2000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const exit = readReaperLog(info.reaper.log).exits.get(`${info.pid}:${info.startTime}`);
    if (exit) return exit.signal !== undefined ? `was killed by ${signalName(exit.signal)}` : `exited with ${exit.code}`;
  }
  return null;
}

function signalName(n: number): string {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}

/** How long a daemon a command started on demand stays with no pod to hold (PEAPOD_DAEMON_IDLE, seconds). */
export function idleFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.PEAPOD_DAEMON_IDLE;
  if (v === undefined || v === '') return 30;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`PEAPOD_DAEMON_IDLE=${v}: expected a number of seconds >= 0`);
  return n;
}

/**
 * The daemon's socket, once a daemon answers on it: the one that runs, or
 * (`start`) one started now. Null when none runs and none was to be
 * started. A daemon that runs but lost its socket (removed by hand) is said
 * so, and replaced: the new one takes its pods over.
 */
export async function reachDaemon(paths: RuntimePaths, start: boolean): Promise<string | null> {
  const dp = daemonPaths(paths);
  if (existsSync(dp.socket) && (await daemonAnswers(dp.socket, 5000))) return dp.socket;
  if (!start) return null;
  if (lockHeld(dp.lock)) {
    const holder = lockHolder(dp.lock);
    // A daemon that has not said who it is yet (daemon.json names an earlier one) is starting: it is waited for.
    if (holder === null || readJson<DaemonInfo>(dp.info)?.pid !== holder) {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline && lockHeld(dp.lock); await new Promise((r) => setTimeout(r, 50))) {
        if (existsSync(dp.socket) && (await daemonAnswers(dp.socket, 1000))) return dp.socket;
      }
    } else if (existsSync(dp.socket) && (await daemonAnswers(dp.socket, 5000))) {
      // It bound its socket and said who it is between the first look and this one (daemons started by concurrent commands).
      return dp.socket;
    }
    process.stderr.write(
      `peapod: the daemon${holder === null ? '' : ` (pid ${holder})`} of ${paths.state} does not answer on ${dp.socket}${existsSync(dp.socket) ? '' : ' (the socket is gone: removed?)'}; starting a new daemon, which takes its pods over\n`,
    );
  }
  await launchDaemon(paths, { idleExitSeconds: idleFromEnv() });
  return dp.socket;
}
