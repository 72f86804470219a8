// A probe's result as the kubelet's probe worker keeps it: the result it
// reports changes only after `successThreshold` successes or
// `failureThreshold` failures in a row; a liveness or startup failure puts
// the probe on hold until the next attempt of the container. Pure, so the
// thresholds are tested as a table (test/unit/prober.test.ts).
import type { Probe } from '../../manifest/types.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** What one run of a probe said: `unknown` (the probe could not run) is thrown away, as the kubelet does. */
export type Outcome = 'success' | 'failure' | 'unknown';

/** A probe's times and thresholds, with the API server's defaults for what is unset or 0. */
export interface ProbeSettings {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export function probeSettings(p: Probe): ProbeSettings {
  const or = (n: number | undefined, fallback: number): number => (n === undefined || n <= 0 ? fallback : n);
  return {
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: or(p.periodSeconds, 10) * 1000,
    timeoutMs: or(p.timeoutSeconds, 1) * 1000,
    successThreshold: or(p.successThreshold, 1),
    failureThreshold: or(p.failureThreshold, 3),
  };
}

export interface ProbeState {
  /** The reported result. */
  ok: boolean;
  /** The last outcome, and how many in a row. */
  last?: 'success' | 'failure';
  run: number;
  /** A liveness or startup probe that failed: no more runs until the next attempt. */
  onHold: boolean;
}

/** Before the first run: not ready, alive, not started (the kubelet's initial values). */
export function initialState(kind: ProbeKind): ProbeState {
  return { ok: kind === 'liveness', run: 0, onHold: false };
}

/** The state after one outcome. */
export function nextState(kind: ProbeKind, s: ProbeState, outcome: Outcome, t: Pick<ProbeSettings, 'successThreshold' | 'failureThreshold'>): ProbeState {
  if (outcome === 'unknown' || s.onHold) return s;
  const run = s.last === outcome ? s.run + 1 : 1;
  const below = outcome === 'failure' ? run < t.failureThreshold : run < t.successThreshold;
  if (below) return { ...s, last: outcome, run };
  const ok = outcome === 'success';
  // Past the threshold: reported; a liveness or startup failure waits for a new container.
  if (!ok && kind !== 'readiness') return { ok, last: outcome, run: 0, onHold: true };
  return { ok, last: outcome, run, onHold: false };
}
