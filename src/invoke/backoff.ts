export interface BackoffOptions {
  /** First delay, ms. @default 1000 */
  min?: number;
  /** Largest delay, ms. @default 30000 */
  max?: number;
  /** Fraction of the delay randomised either way, 0..1. @default 0.5 */
  jitter?: number;
  random?: () => number;
}

/** Exponential backoff with jitter: the delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const min = opts.min ?? 1000;
  const max = opts.max ?? 30000;
  const jitter = Math.min(Math.max(opts.jitter ?? 0.5, 0), 1);
  const base = Math.min(max, min * 2 ** Math.min(attempt, 30));
  const spread = base * jitter * ((opts.random ?? Math.random)() * 2 - 1);
  return Math.max(0, Math.min(max, Math.round(base + spread)));
}
