// The probes of one container, as the kubelet's prober manager runs them
// (one worker per probe): each attempt of the container starts them afresh;
// the first run comes `initialDelaySeconds` after the container started,
// then one every `periodSeconds` (a run that takes longer delays the next,
// none overlap). A startup probe holds the others back until it passes,
// then stops; readiness runs at once when it has. A liveness or startup
// failure past its threshold waits (on hold) for the next attempt. Results
// go to the pod worker, which decides (pod-actions.ts).
import type { Container, Probe } from '../../manifest/types.js';
import type { ProbeAnswer } from './handlers.js';
import { initialState, nextState, probeSettings, type ProbeKind, type ProbeSettings, type ProbeState } from './results.js';

export interface ProberHost {
  /** Runs the probe once against the current attempt. */
  run(probe: Probe, timeoutMs: number, abort: AbortSignal): Promise<ProbeAnswer>;
  /** A probe's reported result changed. */
  changed(kind: ProbeKind, ok: boolean): void;
  /** Unhealthy and ProbeWarning events, in the kubelet's words. */
  event(reason: 'Unhealthy' | 'ProbeWarning', message: string): void;
}

const KINDS: ReadonlyArray<[ProbeKind, 'livenessProbe' | 'readinessProbe' | 'startupProbe', string]> = [
  ['startup', 'startupProbe', 'Startup'],
  ['liveness', 'livenessProbe', 'Liveness'],
  ['readiness', 'readinessProbe', 'Readiness'],
];

class ProbeWorker {
  state: ProbeState;
  readonly settings: ProbeSettings;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  /** Counts attempts (and stops): a run that ends after its attempt is over is thrown away. */
  private generation = 0;

  constructor(
    readonly kind: ProbeKind,
    readonly label: string,
    readonly probe: Probe,
    private readonly owner: ContainerProber,
  ) {
    this.settings = probeSettings(probe);
    this.state = initialState(kind);
  }

  start(startedAt: number): void {
    this.stop();
    this.state = initialState(this.kind);
    this.schedule(startedAt + this.settings.initialDelayMs - Date.now());
  }

  stop(): void {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  /** Runs now, unless a run is under way (readiness, once started). */
  trigger(): void {
    if (this.inFlight) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    const generation = this.generation;
    this.timer = setTimeout(() => void this.tick(generation), Math.max(ms, 0));
  }

  private async tick(generation: number): Promise<void> {
    this.timer = undefined;
    if (generation !== this.generation || this.state.onHold) return;
    // A startup probe holds the others back; once it has passed, it stops.
    const started = this.owner.started;
    if (this.kind === 'startup' ? started : !started) {
      if (this.kind !== 'startup') this.schedule(this.settings.periodMs);
      return;
    }
    const began = Date.now();
    const abort = new AbortController();
    this.inFlight = abort;
    // The container may be gone under the probe (its exit not yet in): that run says nothing.
    const answer = await this.owner.host.run(this.probe, this.settings.timeoutMs, abort.signal).catch((err: unknown) => ({ outcome: 'unknown' as const, output: (err as Error).message }));
    if (generation !== this.generation) return;
    this.inFlight = undefined;
    if (answer.outcome === 'failure') this.owner.host.event('Unhealthy', `${this.label} probe failed: ${answer.output}`.trim());
    else if (answer.outcome === 'unknown') this.owner.host.event('Unhealthy', `${this.label} probe errored: ${answer.output}`.trim());
    else if (answer.warning) this.owner.host.event('ProbeWarning', `${this.label} probe warning: ${answer.output}`.trim());
    const before = this.state;
    this.state = nextState(this.kind, this.state, answer.outcome, this.settings);
    // A startup probe that fails is still not started: going on hold is what changed.
    if (this.state.ok !== before.ok || (this.state.onHold && !before.onHold)) this.owner.changed(this.kind, this.state.ok);
    if (!this.state.onHold && !(this.kind === 'startup' && this.state.ok)) this.schedule(began + this.settings.periodMs - Date.now());
  }
}

export class ContainerProber {
  private readonly workers = new Map<ProbeKind, ProbeWorker>();

  constructor(
    spec: Container,
    readonly host: ProberHost,
  ) {
    for (const [kind, field, label] of KINDS) {
      const probe = spec[field];
      if (probe) this.workers.set(kind, new ProbeWorker(kind, label, probe, this));
    }
  }

  /** Whether the container has any probe. */
  get any(): boolean {
    return this.workers.size > 0;
  }

  has(kind: ProbeKind): boolean {
    return this.workers.has(kind);
  }

  /** Past its startup probe (or it has none). */
  get started(): boolean {
    return this.workers.get('startup')?.state.ok ?? true;
  }

  /** A new attempt runs (since `startedAt`, ms since epoch): every probe from its initial value. */
  start(startedAt: number): void {
    for (const w of this.workers.values()) w.start(startedAt);
  }

  /** The attempt is over (or the pod): nothing runs, nothing in flight. */
  stop(): void {
    for (const w of this.workers.values()) w.stop();
  }

  /**
   * The pod is being deleted: liveness and startup stop with success (so
   * nothing is killed for them now), readiness goes on, as in the kubelet.
   */
  podTerminating(): void {
    for (const kind of ['liveness', 'startup'] as const) {
      const w = this.workers.get(kind);
      if (!w) continue;
      w.stop();
      if (!w.state.ok) {
        w.state = { ...w.state, ok: true };
        this.changed(kind, true);
      }
    }
  }

  changed(kind: ProbeKind, ok: boolean): void {
    // Started: readiness at once, as the kubelet's manager triggers it.
    if (kind === 'startup' && ok) this.workers.get('readiness')?.trigger();
    this.host.changed(kind, ok);
  }
}
