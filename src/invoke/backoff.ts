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

/** A `Retry-After` header (seconds or an HTTP date) in ms, capped at an hour; undefined when absent or unreadable. */
export function parseRetryAfter(v: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const MAX = 3_600_000;
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return Math.min(Number(s) * 1000, MAX);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - now), MAX);
}
