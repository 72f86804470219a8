// The kubelet's crash-loop back-off: the first restart at once, then the
// base delay doubling up to the cap; a container that ran long enough
// starts again from zero. Pure, so tests can check the sequence.

export interface BackoffConfig {
  /** Seconds before the second restart (kubelet: 10). */
  baseSeconds: number;
  /** The longest delay (kubelet: 300). */
  capSeconds: number;
  /** A run this long resets the back-off (kubelet: 10 minutes). */
  resetSeconds: number;
}

export const KUBELET_BACKOFF: BackoffConfig = { baseSeconds: 10, capSeconds: 300, resetSeconds: 600 };

export class Backoff {
  private restarts = 0;
  constructor(private readonly config: BackoffConfig) {}

  /** Restarts counted so far (what a checkpoint keeps). */
  get restartCount(): number {
    return this.restarts;
  }

  /** Takes up the count a checkpoint kept. */
  restore(restarts: number): void {
    this.restarts = Math.max(0, Math.floor(restarts));
  }

  /** Seconds to wait before restarting an instance that ran for `ranSeconds`. */
  next(ranSeconds: number): number {
    if (ranSeconds >= this.config.resetSeconds) this.restarts = 0;
    const n = this.restarts++;
    if (n === 0) return 0;
    return Math.min(this.config.baseSeconds * 2 ** (n - 1), this.config.capSeconds);
  }
}

/** Back-off settings from the environment, for tests and demos (seconds, fractions allowed). */
export function backoffFromEnv(env: NodeJS.ProcessEnv = process.env): BackoffConfig {
  const num = (name: string, fallback: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: expected a number of seconds >= 0`);
    return n;
  };
  return {
    baseSeconds: num('PEAPOD_BACKOFF_BASE', KUBELET_BACKOFF.baseSeconds),
    capSeconds: num('PEAPOD_BACKOFF_CAP', KUBELET_BACKOFF.capSeconds),
    resetSeconds: num('PEAPOD_BACKOFF_RESET', KUBELET_BACKOFF.resetSeconds),
  };
}
