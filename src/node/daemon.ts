// The node daemon: one per state root, holding every detached pod with the
// pod manager in one process, as the kubelet holds a node's pods. Commands
// reach it over a unix socket (daemon-protocol.ts). It runs under a reaper
// of its own (native/reaper.c) and its pods outlive it: killed, the next
// daemon takes every pod over (PodWorker.adopt), with the exits that
// happened meanwhile read from the reapers' logs. A pod it was making when
// it died is removed by the next one, its events saying why. Other servers
// (the CRI) can be started on its shared runtime (DaemonOptions.servers).
import { readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { backoffFromEnv } from '../kubelet/backoff.js';
import type { PodEvent } from '../kubelet/events.js';
import { PodWorker } from '../kubelet/pod-worker.js';
import type { Pod } from '../manifest/types.js';
import { networkOptionsFromEnv } from '../network/options.js';
import { rotationFromEnv } from '../runtime/logs.js';
import { makeOwnDir, MODE, withUmaskFor } from '../runtime/modes.js';
import { podPaths, prepareRoots, type RuntimePaths } from '../runtime/paths.js';
import { processStartTime } from '../runtime/proc.js';
import type { RuntimeService, SandboxFacts } from '../runtime/runtime-service.js';
import { SharedRuntime } from '../runtime/shared.js';
import { readJsonFile, writeJsonAtomic } from '../runtime/json-file.js';
import { takeDaemonLock, lockHolder } from './daemon-lock.js';
import { daemonPaths, type DaemonInfo, type DaemonPaths } from './daemon-paths.js';
import { PROTOCOL_VERSION, type DaemonReply, type DaemonRequest, type PodReport, type RunSettings } from './daemon-protocol.js';
import { readJsonLines, writeJsonLine } from './json-lines.js';
import { daemonAnswers } from './daemon-answers.js';
import { appendExit, ReaperLogs } from './reaper-logs.js';
import { journalExits } from '../runtime/process.js';
import { withRootLock } from './root-lock.js';
import { cleanUp, moveAway, reclaimPodNetwork, reclaimStalePods } from './stale.js';
import { isDaemonPod, readRecordFile, RECORD_VERSION, type PodRecord } from './state.js';
import { podNames, readEvents, readStoredPod, unknownPod, type StoredPod } from './store.js';

/**
 * A server started on the daemon's shared runtime (the CRI server), closed
 * when the daemon stops; `say` is the daemon's voice. `prepare` loads what it
 * needs before the pods are taken over (see Daemon.start).
 */
export type DaemonServer = ((context: { runtime: RuntimeService; paths: RuntimePaths; say: (line: string) => void }) => Promise<{ close(): unknown }> | { close(): unknown }) & {
  prepare?: () => Promise<void>;
};

export interface DaemonOptions {
  paths: RuntimePaths;
  /** The pod infrastructure binary for every pod (default: the built pause). */
  pauseBinary?: string;
  /** Stop once no pod has been held and no command has come for this many seconds (a daemon started on demand); undefined: never. */
  idleExitSeconds?: number;
  /** Started once the pods are adopted, on the shared runtime. */
  servers?: DaemonServer[];
  /** Where the daemon says what it does (default: stderr). */
  say?: (line: string) => void;
}

/** Another daemon already serves the root (`serving`: it answers on the socket, with this pid when known). */
export class DaemonRunningError extends Error {
  override name = 'DaemonRunningError';
  constructor(
    message: string,
    readonly serving?: { pid: number | null },
  ) {
    super(message);
  }
}

/** How long a starting daemon waits for the lock holder's socket to answer before it takes it for lost. */
const HOLDER_ANSWER_MS = 2000;
/** How long it waits for a holder it asked to stop (its socket removed) to let go. */
const TAKEOVER_MS = 15_000;

async function waitFor(test: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    if (await test()) return true;
  }
  return test();
}

export class Daemon {
  readonly dp: DaemonPaths;
  /** The pods it holds, by name. */
  readonly workers = new Map<string, PodWorker>();
  /** Pods being started, by name. */
  private readonly starting = new Map<string, Promise<PodWorker>>();
  /** Pods it found and could not take over, with why (shown as Unknown, the reason in STATUS). */
  readonly unadopted = new Map<string, { reason: string; message: string }>();
  readonly done: Promise<void>;
  readonly shared: SharedRuntime;
  readonly exits: ReaperLogs;
  private resolveDone!: () => void;
  private server: Server | undefined;
  private lock: Server | undefined;
  private extra: Array<{ close(): unknown }> = [];
  private readonly connections = new Set<Socket>();
  private idleTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  readonly say: (line: string) => void;

  private constructor(private readonly options: DaemonOptions) {
    this.dp = daemonPaths(options.paths);
    this.say = options.say ?? ((line) => process.stderr.write(`peapod daemon: ${line}\n`));
    this.exits = new ReaperLogs(this.dp.reapers);
    // Its own children's exits go where the next daemon looks, as its reaper's would.
    const log = process.env.PEAPOD_REAPER_LOG;
    if (log) journalExits((pid, startTime, exit) => appendExit(log, pid, startTime, exit));
    this.shared = new SharedRuntime({
      paths: options.paths,
      detached: true,
      exits: this.exits,
      // A sandbox no pod worker holds (the CRI's) is saved here, as a worker saves its own in the pod's record:
      // with every change of its facts and of its containers (made, started, exited, removed).
      onFacts: (id) => this.saveUnheld(id),
      onContainerEvent: (event) => this.saveUnheld(event.podSandboxId),
      onSandboxRemoved: (id) => {
        rmSync(join(this.dp.sandboxes, `${id}.json`), { force: true });
        this.armIdle();
      },
      // What goes wrong with such a sandbox is said where an operator looks (a pod's own go to its events).
      onSandboxEvent: (id, type, reason, message) => {
        if (type === 'Warning' && !this.shared.viewed(id)) this.say(`pod sandbox ${id.slice(0, 12)}: ${reason}: ${message}`);
      },
      logRotation: rotationFromEnv(),
      network: networkOptionsFromEnv(),
      ...(options.pauseBinary ? { pauseBinary: options.pauseBinary } : {}),
    });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /**
   * Takes the root's daemon lock (another daemon answering on its socket
   * makes this one refuse; one whose socket is gone is asked to stop and
   * taken over), serves the socket, adopts every pod a daemon before held,
   * then starts the extra servers.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(options);
    await daemon.takeLock();
    try {
      await daemon.listen();
      // Loaded first (the CRI's gRPC and protos: a tenth of a second of CPU), not right after the adoption, when the
      // adopted pods' first reads and timers are due (a resumed termination's output, timestamped as it is read).
      for (const server of options.servers ?? []) await server.prepare?.();
      await daemon.adoptAll();
      for (const start of options.servers ?? []) daemon.extra.push(await start({ runtime: daemon.shared.service, paths: options.paths, say: daemon.say }));
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    daemon.armIdle();
    return daemon;
  }

  private async takeLock(): Promise<void> {
    const { paths } = this.options;
    prepareRoots(paths);
    makeOwnDir(this.dp.dir, MODE.rootDir);
    makeOwnDir(this.dp.reapers, MODE.rootDir);
    this.lock = (await takeDaemonLock(this.dp.lock)) ?? undefined;
    if (this.lock) return;
    const holder = lockHolder(this.dp.lock);
    const who = holder === null ? 'another peapod daemon' : `another peapod daemon (pid ${holder})`;
    // A daemon starting at the same moment binds its socket right after the lock: give it that moment.
    if (await waitFor(() => daemonAnswers(this.dp.socket, 500), HOLDER_ANSWER_MS)) {
      throw new DaemonRunningError(`${who} already serves ${paths.state} on ${this.dp.socket}; stop it first (peapod daemon --stop) or use it`, { pid: holder });
    }
    if (holder === null) throw new DaemonRunningError(`${who} holds ${paths.state}, but its socket does not answer and its pid cannot be found; try again`);
    // Its socket was removed: it can no longer be reached, so it is asked to stop, and its pods taken over.
    this.say(`${who} holds ${paths.state} but its socket ${this.dp.socket} is gone (removed?): asking it to stop, to take over its pods`);
    process.kill(holder, 'SIGTERM');
    const deadline = Date.now() + TAKEOVER_MS;
    while (!(this.lock = (await takeDaemonLock(this.dp.lock)) ?? undefined)) {
      if (Date.now() > deadline) throw new DaemonRunningError(`${who} did not stop within ${TAKEOVER_MS / 1000} s of SIGTERM; it still holds ${paths.state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private listen(): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    makeOwnDir(join(this.dp.socket, '..'), MODE.rootDir);
    rmSync(this.dp.socket, { force: true });
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      withUmaskFor(MODE.socket, () =>
        server.listen(this.dp.socket, () => {
          server.off('error', reject);
          server.on('error', (err) => this.say(`socket ${this.dp.socket}: ${err.message}`));
          resolve();
        }),
      );
    }).then(() => {
      const info: DaemonInfo = {
        pid: process.pid,
        startTime: processStartTime(process.pid) ?? 0,
        reaper: { pid: process.ppid, log: process.env.PEAPOD_REAPER_LOG ?? '' },
        socket: this.dp.socket,
        version: PROTOCOL_VERSION,
      };
      writeJsonAtomic(this.dp.info, info);
    });
  }

  /** What every pod worker of this daemon is given. */
  private workerOptions(settings: RunSettings = {}): Parameters<typeof PodWorker.start>[1] {
    return {
      paths: this.options.paths,
      detached: true,
      runtime: (o) => this.shared.view(o),
      backoff: settings.backoff ?? backoffFromEnv(),
      ...(settings.nodeAllocatable ? { nodeAllocatable: settings.nodeAllocatable } : {}),
      onEvent: (e) => {
        if (e.type === 'Warning') this.say(`event ${e.reason}${e.fieldPath ? ` ${e.fieldPath}` : ''}: ${e.message}`);
      },
    };
  }

  private hold(worker: PodWorker): void {
    this.workers.set(worker.name, worker);
    void worker.done.then(() => {
      if (this.workers.get(worker.name) === worker) this.workers.delete(worker.name);
      this.armIdle();
    });
  }

  /** The facts of a sandbox made on the runtime directly (a CRI server's), for the next daemon to adopt it. */
  private saveUnheld(id: string): void {
    if (this.shared.viewed(id)) return;
    try {
      // Every container, not the latest attempt of each name: a CRI client lists them all until it removes them.
      const facts = this.shared.service.facts(id, { everyContainer: true });
      makeOwnDir(this.dp.sandboxes, MODE.rootDir);
      if (facts.saved) writeJsonAtomic(join(this.dp.sandboxes, `${id}.json`), facts);
    } catch (err) {
      this.say(`cannot save the facts of sandbox ${id}: ${(err as Error).message}`);
    }
  }

  /** The sandboxes a daemon before saved for the servers on its runtime (the CRI's): adopted as they are. */
  private adoptUnheld(): boolean {
    let complete = true;
    let names: string[] = [];
    try {
      names = readdirSync(this.dp.sandboxes).filter((n) => n.endsWith('.json'));
    } catch {
      return true;
    }
    for (const name of names) {
      const file = join(this.dp.sandboxes, name);
      const read = readJsonFile<SandboxFacts>(file, (v) => typeof (v as SandboxFacts | null)?.id === 'string');
      try {
        if (!('value' in read)) throw new Error('unreadable' in read ? read.unreadable : 'missing');
        this.shared.service.adoptSandbox(read.value);
      } catch (err) {
        complete = false;
        this.say(`sandbox ${name.slice(0, -5)} not taken over: ${file}: ${(err as Error).message}`);
      }
    }
    return complete;
  }

  /** Every pod of the root a daemon holds (and no daemon runs for now): taken over, or, half-made, removed. */
  private async adoptAll(): Promise<void> {
    const { paths } = this.options;
    // What `run -f` supervisors that died left (never a daemon's pod).
    const stale = await reclaimStalePods(paths);
    for (const u of stale.unreadable) this.unadopted.set(u.name, { reason: 'RecordUnreadable', message: u.reason });
    let complete = true;
    for (const name of podNames(paths)) {
      const pp = podPaths(paths, name);
      const read = readRecordFile(pp.recordFile);
      if ('missing' in read) continue;
      if ('unreadable' in read) {
        const why = `${pp.recordFile}: ${read.unreadable}`;
        // A `run -f` pod's record being rewritten by its live supervisor is not ours to judge.
        if (!this.unadopted.has(name)) this.unadopted.set(name, { reason: 'RecordUnreadable', message: `its record cannot be read: ${why}` });
        this.say(`pod ${name} not taken over: its record cannot be read (${why}); it is left as it is (peapod delete pod ${name} removes it)`);
        complete = false;
        continue;
      }
      const record = read.value;
      if (!isDaemonPod(record)) continue;
      if ((record.version ?? 0) > RECORD_VERSION) {
        const why = `${pp.recordFile}: written by a newer peapod (record version ${record.version}; this peapod reads up to ${RECORD_VERSION}): left as it is; run the peapod that made it, or \`peapod delete pod ${name}\` to remove it`;
        this.unadopted.set(name, { reason: 'RecordTooNew', message: why });
        this.say(`pod ${name} not taken over: ${why}`);
        complete = false;
        continue;
      }
      try {
        if (record.kubelet?.phase !== 'running' || !record.runtime?.saved) await this.removeHalfMade(record);
        else this.hold(await PodWorker.adopt(record, readEvents(pp), this.workerOptions()));
      } catch (err) {
        const why = `taking it over failed: ${(err as Error).message}`;
        this.unadopted.set(name, { reason: 'AdoptionFailed', message: why });
        this.say(`pod ${name} not taken over: ${why}`);
        complete = false;
      }
    }
    if (!this.adoptUnheld()) complete = false;
    // What the reapers of dead daemons recorded is in the pods' statuses now.
    if (complete) this.exits.prune(process.env.PEAPOD_REAPER_LOG);
    if (this.workers.size > 0) this.say(`took over ${this.workers.size} pod${this.workers.size > 1 ? 's' : ''}`);
  }

  /**
   * A pod the daemon before was making when it died: everything made of it
   * is removed (its processes through its cgroups, whatever its record
   * missed), and it stays as Failed with an event saying why.
   */
  private async removeHalfMade(record: PodRecord): Promise<void> {
    const { paths } = this.options;
    const pp = podPaths(paths, record.name);
    const message = `the peapod daemon (pid ${record.supervisor.pid}) stopped while it was starting the pod; what it had made of it was removed`;
    const now = new Date().toISOString();
    const event: PodEvent = { type: 'Warning', reason: 'StartInterrupted', message, count: 1, firstTimestamp: now, lastTimestamp: now };
    const moved = await withRootLock(paths.state, () => moveAway(paths, record.name, record, true, { reason: 'StartInterrupted', message, events: [...readEvents(pp), event] }));
    await cleanUp(moved);
    await reclaimPodNetwork(paths, record.name);
    this.say(`pod ${record.name}: ${message}`);
  }

  private serve(socket: Socket): void {
    this.connections.add(socket);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.connections.delete(socket);
      this.armIdle();
    });
    readJsonLines(
      socket,
      (value) => void this.handle(socket, value as DaemonRequest),
      () => writeJsonLine(socket, { error: 'malformed request: not JSON' }) && socket.end(),
    );
  }

  private reply(socket: Socket, reply: DaemonReply, end = true): void {
    writeJsonLine(socket, reply);
    if (end) socket.end();
  }

  private async handle(socket: Socket, request: DaemonRequest): Promise<void> {
    try {
      switch (request.op) {
        case 'hello':
          return this.reply(socket, { ok: true, pid: process.pid, version: PROTOCOL_VERSION });
        case 'run':
          return this.reply(socket, await this.run(request.pod, request.settings));
        case 'delete':
          return await this.delete(socket, request);
        case 'pods':
          return this.reply(socket, this.pods(request.name));
        case 'shutdown':
          this.reply(socket, { ok: true });
          return void this.stop();
        default:
          return this.reply(socket, { error: `unknown request ${JSON.stringify((request as { op?: unknown }).op)}` });
      }
    } catch (err) {
      this.reply(socket, { error: (err as Error).message });
    }
  }

  private async run(pod: Pod, settings: RunSettings): Promise<DaemonReply> {
    if (this.stopping) return { error: 'the peapod daemon is stopping; try again' };
    const name = pod.metadata.name;
    const start = PodWorker.start(pod, this.workerOptions(settings));
    // A second run of the name fails in the claim; the first one's start is what a delete waits for.
    if (!this.starting.has(name)) this.starting.set(name, start);
    try {
      const worker = await start;
      this.hold(worker);
      return { ok: true, name: worker.name, pausePid: worker.sandbox.pid };
    } finally {
      if (this.starting.get(name) === start) this.starting.delete(name);
    }
  }

  private async delete(socket: Socket, request: Extract<DaemonRequest, { op: 'delete' }>): Promise<void> {
    const starting = this.starting.get(request.name);
    const worker = this.workers.get(request.name) ?? (starting ? await starting.catch(() => undefined) : undefined);
    if (!worker) {
      const stored = readStoredPod(this.options.paths, request.name);
      if (!stored || (!stored.pod && !stored.live)) return this.reply(socket, { error: `Error from server (NotFound): pods "${request.name}" not found`, notFound: true });
      return this.reply(socket, { error: `pod "${request.name}" is not the daemon's`, notMine: true });
    }
    this.reply(socket, { accepted: true }, false);
    const stop: { gracePeriodSeconds?: number; force?: boolean } = {};
    if (request.gracePeriodSeconds !== undefined) stop.gracePeriodSeconds = request.gracePeriodSeconds;
    if (request.force) stop.force = true;
    if (!request.wait) {
      socket.end();
      void worker.stop(stop);
      return;
    }
    const result = await worker.stop(stop);
    this.reply(socket, { done: true, phase: result.status.phase, exitCode: result.exitCode });
  }

  /** The pods of the root: the daemon's as it holds them, the others as their files say. */
  private pods(name?: string): DaemonReply {
    const names = name === undefined ? podNames(this.options.paths) : [name];
    const pods = names.flatMap((n) => {
      const report = this.report(n);
      return report ? [report] : [];
    });
    if (name !== undefined && pods.length === 0) return { error: `Error from server (NotFound): pods "${name}" not found`, notFound: true };
    return { ok: true, pods };
  }

  private report(name: string): PodReport | null {
    const worker = this.workers.get(name);
    if (worker) return { name, pod: worker.podObject(), record: worker.record, live: true, supervisorPid: process.pid, events: worker.events.events };
    const stored: StoredPod | null = readStoredPod(this.options.paths, name);
    if (!stored || (!stored.pod && !stored.live)) return null;
    const events = readEvents(stored.paths);
    const why = this.unadopted.get(name);
    // A pod it found and could not take over runs as it was left: nobody knows more.
    const pod = why !== undefined ? unknownPod(name, stored.record, why.message, new Date().toISOString(), stored.pod, why.reason) : stored.pod;
    return {
      name,
      pod,
      record: stored.record,
      ...(stored.recordError !== undefined ? { recordError: stored.recordError } : {}),
      live: stored.live,
      ...(stored.supervisorPid !== undefined ? { supervisorPid: stored.supervisorPid } : {}),
      events,
    };
  }

  /** Sandboxes on its runtime that no pod worker holds: a server's (the CRI's). */
  private unheldSandboxes(): number {
    return this.shared.service.listPodSandbox().filter((s) => !this.shared.viewed(s.id)).length;
  }

  /** A daemon started on demand stops once it has nothing to hold (its pods, the CRI's sandboxes) and nobody to answer. */
  private armIdle(): void {
    const seconds = this.options.idleExitSeconds;
    if (seconds === undefined || this.stopping) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    // (A pod it could not take over does not keep it: no daemon can do more for it.)
    if (this.workers.size > 0 || this.starting.size > 0 || this.connections.size > 0 || this.unheldSandboxes() > 0) return;
    this.idleTimer = setTimeout(() => {
      // A CRI sandbox made meanwhile (its server says nothing here) keeps it.
      if (this.unheldSandboxes() > 0) return;
      this.say(`no pod to hold for ${seconds}s: stopping (started on demand)`);
      void this.stop();
    }, seconds * 1000);
    this.idleTimer.unref();
  }

  /**
   * Stops the daemon, never its pods: they keep running, their state is
   * written out as it is now, and the next daemon takes them over.
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.done;
    this.stopping = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const server of this.extra) await server.close();
    this.server?.close();
    for (const socket of this.connections) socket.destroy();
    for (const worker of this.workers.values()) worker.flush();
    // Before the lock goes: no daemon after it has bound a socket there yet.
    rmSync(this.dp.socket, { force: true });
    this.lock?.close();
    this.resolveDone();
    return this.done;
  }
}

