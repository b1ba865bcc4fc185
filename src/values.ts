/*
 * Parsers for values people type (flags, environment variables, config files), each failing with a sentence that
 * says what was expected. Callers prefix the flag or key; `shown()` quotes what was given.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
export type DurationUnit = 'ms' | 's';
const UNIT_NAME: Record<DurationUnit, string> = { ms: 'milliseconds', s: 'seconds' };

/**
 * `"500"` in the flag's own unit, or with a unit of its own: `"500ms"`, `"10s"`, `"2m"`, `"1h"`. Returns milliseconds,
 * or null when `text` is not a duration.
 */
export function parseDuration(text: string, unit: DurationUnit): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return null;
  const factor = UNIT_MS[(m[2] ?? unit) as keyof typeof UNIT_MS];
  return Math.round(Number(m[1]) * factor);
}

/** "expected milliseconds" / "expected seconds": what a duration flag says about a value it cannot read. */
export function expectedDuration(unit: DurationUnit): string {
  return `expected ${UNIT_NAME[unit]}`;
}

/** A whole number ≥ 0 written in decimal digits only, or null. */
export function parseWhole(text: string): number | null {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
}

/** True for an absolute http(s) URL with a host. */
export function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** A value quoted for an error message: user:password in URLs masked, long values cut. */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? typeof value);
  const masked = text.replace(/\/\/[^/@\s]*@/g, '//***@');
  const cut = masked.length > 80 ? `${masked.slice(0, 77)}…` : masked;
  return typeof value === 'string' ? JSON.stringify(cut) : cut;
}
