// Reclaiming what a dead supervisor left: a pod whose supervisor is gone is
// stale (PDEATHSIG has already killed its pause, and with it the pod's
// processes); its mounts, directories and record are removed here, and its
// last status is kept as a tombstone saying it Failed and why.
//
// Only the kernel says a supervisor is gone (see liveness.ts): a record
// that cannot be read is reported, never taken for a dead pod. Under the
// root's lock a stale pod's directories are first renamed away, in one
// step each, so that no other peapod can claim the name half-way through;
// the slow part (killing, cgroups, unmounting, removing) comes after, on
// directories nobody else will touch. Directories made in passing (a claim
// being made, a reclaim under way) carry their maker's pid and start time
// in their names, so that a crashed maker's leftovers are known as such.
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { detectDriver } from '../runtime/cgroups/detect.js';
import { removePodCgroups } from '../runtime/cgroups/pod.js';
import { cgroupParentFromEnv } from '../kubelet/resources.js';
import { controlSocketPath } from './control.js';
import { listeningSocket, supervisorOf } from './liveness.js';
import { podPaths, type RuntimePaths } from '../runtime/paths.js';
import { reclaimNetworks } from '../network/pod-network.js';
import { unmountPodDir } from '../runtime/pod-files.js';
import { isRunning, isSameProcess } from '../runtime/proc.js';
import { withRootLock } from './root-lock.js';
import { madeByMe, RECLAIM_PREFIX, takeAway } from '../runtime/discard.js';
import { readJson, writeJsonAtomic } from '../runtime/json-file.js';
import { isDaemonPod, readRecordFile, type PodRecord } from './state.js';
import type { PodStatus } from '../kubelet/status/types.js';

export { madeByMe, RECLAIM_PREFIX };

export const SUPERVISOR_LOST = 'SupervisorLost';

/** Where a pod's directory is made before it is renamed into place (see claimName). */
export const CLAIM_PREFIX = '.claim-';
/** A leftover of an older peapod, whose name does not say who made it, is someone's for this long. */
const UNNAMED_LEFTOVER_MS = 60_000;

/** Whether the maker of a `.claim-`/`.reclaim-` directory still runs (its name says who it is). */
function makerRuns(dir: string, prefix: string): boolean {
  const m = /^(\d+)-(\d+)-/.exec(dir.slice(dir.lastIndexOf('/') + 1 + prefix.length));
  if (m) return isRunning(Number(m[1]), Number(m[2]));
  try {
    return Date.now() - statSync(dir).mtimeMs < UNNAMED_LEFTOVER_MS;
  } catch {
    return true;
  }
}

function killIfSame(pid: number, startTime: number): void {
  if (!isSameProcess(pid, startTime)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export interface StoredPodStatus {
  metadata?: { uid?: string };
  spec?: { containers?: Array<{ name: string }>; initContainers?: Array<{ name: string }> };
  status?: PodStatus;
}

/** Why a pod ended without its supervisor, when it is not that the supervisor died (the default). */
export interface TombstoneReason {
  reason: string;
  message: string;
}

/** The last status the dead supervisor wrote, turned Failed with the reason. */
export function tombstone<T extends StoredPodStatus>(last: T | null, record: PodRecord | null, why?: TombstoneReason): T | null {
  if (!last?.status) return null;
  const now = new Date().toISOString();
  const pid = record?.supervisor.pid;
  const killed = (s: PodStatus['containerStatuses'][number]): PodStatus['containerStatuses'][number] => {
    if (!s.state.running) return s;
    return {
      ...s,
      ready: false,
      started: false,
      state: {
        terminated: {
          exitCode: 137,
          signal: 9,
          reason: 'Error',
          message: 'killed with its supervisor',
          startedAt: s.state.running.startedAt,
          finishedAt: now,
          containerID: s.containerID ?? '',
        },
      },
    };
  };
  return {
    ...last,
    status: {
      ...last.status,
      phase: last.status.phase === 'Succeeded' ? 'Succeeded' : 'Failed',
      reason: why?.reason ?? SUPERVISOR_LOST,
      message: why?.message ?? `its supervisor (peapod, pid ${pid ?? '?'}) died, and the kernel ended the pod with it`,
      conditions: last.status.conditions.map((c) => (c.type === 'PodScheduled' ? c : { ...c, status: 'False', lastTransitionTime: now })),
      containerStatuses: last.status.containerStatuses.map(killed),
      ...(last.status.initContainerStatuses ? { initContainerStatuses: last.status.initContainerStatuses.map(killed) } : {}),
    },
  };
}

type PodCgroups = NonNullable<PodRecord['cgroups']>;

/** A stale pod's directories, renamed away, and what is needed to end the rest of it. */
export interface Moved {
  dirs: string[];
  record: PodRecord | null;
  cgroups: PodCgroups | undefined;
}

/**
 * The pod's cgroups, trusted only in the shape peapod gives them (a record
 * is a file: it must not aim a kill at some other cgroup). Without a
 * readable record, from the uid in the last status.
 */
function podCgroups(record: PodRecord | null, last: StoredPodStatus | null): PodCgroups | undefined {
  const uid = record?.uid ?? last?.metadata?.uid;
  if (typeof uid !== 'string' || !/^[0-9a-zA-Z-]+$/.test(uid)) return undefined;
  const cg = record?.cgroups;
  if (cg) return /^([\w.-]+\/)*pod[0-9a-zA-Z-]+$/.test(cg.pod) && cg.pod.endsWith(`/pod${uid}`) ? cg : undefined;
  const driver = detectDriver();
  if (!driver || !last?.spec) return undefined;
  const names = [...(last.spec.initContainers ?? []), ...(last.spec.containers ?? [])].map((c) => c.name);
  const parent = cgroupParentFromEnv();
  return { driver: driver.kind, pod: `${parent}/pod${uid}`, containers: Object.fromEntries(names.map((n) => [n, []])) };
}

/**
 * Under the root's lock: the stale pod `name` renamed away (its state, and
 * its data when that lives elsewhere), its tombstone put in its place when
 * asked. The caller has decided it is stale; `record` is what it read.
 */
export function moveAway(paths: RuntimePaths, name: string, record: PodRecord | null, keepTombstone: boolean, why?: TombstoneReason & { events: unknown[] }): Moved {
  const pp = podPaths(paths, name);
  const last = readJson<StoredPodStatus>(pp.podFile) ?? (why && record ? startingStatus(record) : null);
  const dirs = [takeAway(pp.state)];
  // The data directory is where this root keeps it, whatever the record says.
  if (pp.data !== pp.state) dirs.push(takeAway(pp.data));
  // A control socket outside the pod's directory goes too, unless a new pod of the name already listens there.
  const control = controlSocketPath(pp, paths.state);
  if (!control.startsWith(`${pp.state}/`) && listeningSocket(control) === null) rmSync(control, { force: true });
  const stone = keepTombstone && record ? tombstone(last, record, why) : null;
  if (stone) {
    const staging = mkdtempSync(join(paths.state, 'pods', madeByMe(CLAIM_PREFIX)));
    try {
      writeJsonAtomic(join(staging, 'pod.json'), stone);
      if (why) writeJsonAtomic(join(staging, 'events.json'), why.events);
      renameSync(staging, pp.state);
    } catch {
      // No room for it (a full disk): the pod is reclaimed all the same, without its last word.
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return { dirs: dirs.filter((d): d is string => d !== null), record, cgroups: podCgroups(record, last) };
}

/** A pod that died before its first status was written, as far as its record says: Pending, nothing run. */
function startingStatus(record: PodRecord): StoredPodStatus {
  const now = new Date().toISOString();
  const waiting = (c: { name: string; image?: string }): PodStatus['containerStatuses'][number] => ({
    name: c.name,
    image: c.image ?? '',
    imageID: '',
    state: { waiting: { reason: 'ContainerCreating' } },
    lastState: {},
    ready: false,
    started: false,
    restartCount: 0,
  });
  return {
    ...record.pod,
    metadata: { ...record.pod.metadata, namespace: record.pod.metadata.namespace ?? 'default', uid: record.uid, creationTimestamp: record.createdAt },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: record.createdAt }],
      containerStatuses: record.pod.spec.containers.map(waiting),
      qosClass: 'BestEffort',
      startTime: now,
    },
  } as StoredPodStatus;
}

/** Under the root's lock: data of the name left behind by a pod whose state is gone, renamed away. */
export function moveAwayData(dataDir: string): Moved | null {
  const taken = takeAway(dataDir);
  return taken ? { dirs: [taken], record: null, cgroups: undefined } : null;
}

/** Outside the lock: whatever of the stale pod still runs is killed, its cgroups, mounts and directories removed. */
export async function cleanUp(moved: Moved): Promise<void> {
  const { record } = moved;
  if (record?.sandbox) killIfSame(record.sandbox.pid, record.sandbox.startTime);
  for (const c of Object.values(record?.containers ?? {})) killIfSame(c.pid, c.startTime);
  await reclaimCgroups(moved.cgroups);
  for (const dir of moved.dirs) {
    unmountPodDir(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whatever still lives in the dead pod's cgroups is killed, and the cgroups removed. */
async function reclaimCgroups(cgroups: PodCgroups | undefined): Promise<void> {
  const driver = cgroups ? detectDriver() : null;
  if (!cgroups || !driver || driver.kind !== cgroups.driver) return;
  const leaves = [...Object.keys(cgroups.containers), 'pause'].map((c) => driver.open(`${cgroups.pod}/${c}`));
  await removePodCgroups(driver.open(cgroups.pod), leaves, undefined);
}

export type PodState =
  | { kind: 'absent' }
  | { kind: 'live'; pid: number | null }
  /** A pod of the node daemon, which is not running: only a daemon takes it (adopts it), nothing reclaims it. */
  | { kind: 'adoptable'; record: PodRecord }
  /** The supervisor is gone; `record` is null for a tombstone (or a directory with neither). */
  | { kind: 'stale'; record: PodRecord | null }
  | { kind: 'unreadable'; reason: string };

/** What the pod of that name is, from its record and the kernel. */
export function podState(paths: RuntimePaths, name: string): PodState {
  const pp = podPaths(paths, name);
  if (!existsSync(pp.state)) return { kind: 'absent' };
  const read = readRecordFile(pp.recordFile);
  const record = 'value' in read ? read.value : null;
  const supervisor = supervisorOf(paths, pp, 'unreadable' in read ? null : record);
  if (supervisor.live) return { kind: 'live', pid: supervisor.pid };
  if ('unreadable' in read) return { kind: 'unreadable', reason: `${pp.recordFile}: ${read.unreadable}` };
  if (record && isDaemonPod(record)) return { kind: 'adoptable', record };
  return { kind: 'stale', record };
}

export interface ReclaimOptions {
  /** Keep the pod's last status as a tombstone (the automatic reclaim does; delete does not). */
  keepTombstone?: boolean;
  /** Reclaim even when the record cannot be read (an explicit delete, once the kernel shows no supervisor). */
  unreadable?: boolean;
}

/** Reclaims one pod if it is stale now; says what it found. */
export async function reclaimPod(paths: RuntimePaths, name: string, options: ReclaimOptions = {}): Promise<PodState> {
  let found: PodState = { kind: 'absent' };
  const moved = await withRootLock(paths.state, () => {
    found = podState(paths, name);
    if (found.kind === 'stale') return moveAway(paths, name, found.record, options.keepTombstone === true);
    if (found.kind === 'unreadable' && options.unreadable) return moveAway(paths, name, null, false);
    return null;
  });
  if (moved) {
    await cleanUp(moved);
    await reclaimPodNetwork(paths, name);
  }
  return found;
}

/** The pod network a dead supervisor attached (CNI DEL); a failure is kept for the next reclaim, and said. */
export async function reclaimPodNetwork(paths: RuntimePaths, name?: string): Promise<void> {
  const failures = await reclaimNetworks(paths, name === undefined ? {} : { pod: name, orphans: false });
  for (const failure of failures) process.stderr.write(`peapod: ${failure}\n`);
}

/** Leftovers of peapods that died making a claim or a reclaim, taken over and removed. */
async function reclaimLeftovers(paths: RuntimePaths): Promise<void> {
  const dirs = [...new Set([join(paths.state, 'pods'), join(paths.data, 'pods')])];
  const dead = (dir: string): string[] =>
    (existsSync(dir) ? readdirSync(dir) : [])
      .map((n) => ({ n, prefix: [CLAIM_PREFIX, RECLAIM_PREFIX].find((p) => n.startsWith(p)) }))
      .filter((e): e is { n: string; prefix: string } => e.prefix !== undefined && !makerRuns(join(dir, e.n), e.prefix))
      .map((e) => join(dir, e.n));
  if (!dirs.some((d) => dead(d).length > 0)) return;
  const moved = await withRootLock(paths.state, () =>
    dirs.flatMap((dir) =>
      dead(dir).flatMap((leftover): Moved[] => {
        const taken = takeAway(leftover);
        // A reclaim under way holds the pod's record: what it names must still be ended.
        const read = readRecordFile(join(taken ?? '', 'pod', 'pod', 'runtime.json'));
        const record = 'value' in read ? read.value : null;
        return taken ? [{ dirs: [taken], record, cgroups: podCgroups(record, null) }] : [];
      }),
    ),
  );
  for (const m of moved) await cleanUp(m);
}

export interface StaleReport {
  /** Pods found stale and reclaimed (their tombstones stay). */
  reclaimed: string[];
  /** Pods whose record cannot be read and whose supervisor is gone: left as they are. */
  unreadable: Array<{ name: string; reason: string }>;
}

/** Reclaims every stale pod under the root (tombstones stay), and reports the pods it must leave alone. */
export async function reclaimStalePods(paths: RuntimePaths): Promise<StaleReport> {
  const report: StaleReport = { reclaimed: [], unreadable: [] };
  await reclaimLeftovers(paths);
  // Every attachment no live supervisor owns, a DEL that failed before included.
  await reclaimPodNetwork(paths);
  const dir = join(paths.state, 'pods');
  if (!existsSync(dir)) return report;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const now = podState(paths, name);
    if (now.kind === 'unreadable') report.unreadable.push({ name, reason: now.reason });
    // A directory with no record is a tombstone: it stays until the pod is deleted.
    if (now.kind !== 'stale' || now.record === null) continue;
    const found = await reclaimPod(paths, name, { keepTombstone: true });
    if (found.kind === 'stale') report.reclaimed.push(name);
  }
  return report;
}
