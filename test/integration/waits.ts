// Waits on the thing a test means (a file, a line, a container's state, a
// process gone, a signal handler in place), never on a guess of how long it
// takes: on a loaded machine a fixed sleep is either too short (flaky) or
// too long (slow). Each wait has a wide timeout and names what it waited for.
import { existsSync } from 'node:fs';
import type { PodWorker } from '../../src/kubelet/pod-worker.js';
import type { ContainerState } from '../../src/kubelet/status/types.js';
import { childrenOf, isAlive, readOr, signalBit, signalMask, type SignalName } from './proc.js';

const POLL_MS = 20;

/** Until `probe` gives a value (not null or undefined); that value. */
export async function waitUntil<T>(what: string, probe: () => T | null | undefined | Promise<T | null | undefined>, timeoutMs = 5000, pollMs = POLL_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Until `test` holds. */
export async function waitFor(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 5000, pollMs = POLL_MS): Promise<void> {
  await waitUntil(what, async () => ((await test()) ? true : null), timeoutMs, pollMs);
}

/** Until the file exists (and, given `contains`, holds that text); its text. */
export function waitForFile(path: string, contains = '', timeoutMs = 5000): Promise<string> {
  const what = contains ? `${JSON.stringify(contains)} in ${path}` : path;
  return waitUntil(what, () => (existsSync(path) && readOr(path).includes(contains) ? readOr(path) : null), timeoutMs);
}

/** Until one of `lines()` is `match` (or matches it); that line. */
export function waitForLine(what: string, lines: () => readonly string[] | undefined, match: string | RegExp, timeoutMs = 5000): Promise<string> {
  const hit = (l: string): boolean => (typeof match === 'string' ? l === match : match.test(l));
  return waitUntil(`${what}: a line ${String(match)}`, () => lines()?.find(hit), timeoutMs);
}

/** The lines of a text (what a process printed so far), without the last unfinished one. */
export function linesOf(text: string): string[] {
  return text.split('\n').slice(0, -1);
}

/** Until the process has exited (or is a zombie). */
export function waitForExit(pid: number, what = `pid ${pid} to exit`, timeoutMs = 5000): Promise<void> {
  return waitFor(what, () => !isAlive(pid), timeoutMs);
}

/**
 * Until `pid`, or a child of it (a shell under pause --init), has a handler
 * for `signal` or ignores it: the shell has run its `trap`, so a stop sent
 * now is met by it rather than by the default action.
 */
export function waitForTrap(pid: number, signal: SignalName = 'TERM', timeoutMs = 5000): Promise<void> {
  const bit = signalBit(signal);
  const handles = (p: number): boolean => ((signalMask(p, 'SigCgt') | signalMask(p, 'SigIgn')) & bit) !== 0n;
  return waitFor(`pid ${pid} to trap SIG${signal}`, () => handles(pid) || childrenOf(pid).some(handles), timeoutMs);
}

type StateKind = keyof ContainerState;

/** Until a container of a pod worker is in `kind` (running, waiting, terminated), with `reason` when given; that state. */
export function waitForState<K extends StateKind>(worker: PodWorker, container: string, kind: K, reason?: string, timeoutMs = 10_000): Promise<NonNullable<ContainerState[K]>> {
  return waitUntil(`container ${container} ${kind}${reason ? ` (${reason})` : ''}`, () => {
    const state = worker.containers.get(container)?.status().state[kind];
    if (!state || (reason !== undefined && (state as { reason?: string }).reason !== reason)) return null;
    return state as NonNullable<ContainerState[K]>;
  }, timeoutMs);
}
