import type { RunProgress } from '../run/runWorkflow';
import type { Logger } from '../log';

/** Where progress goes: stderr, or anything shaped like it. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

/**
 * Progress of a run on stderr: one line rewritten in place on a terminal, otherwise a plain line at most every
 * `intervalMs` (plus every node error), so logs and CI captures stay readable.
 */
export class ProgressReporter {
  private live = false;
  private lastPlainAt: number | null = null;

  constructor(
    private readonly out: ProgressStream = process.stderr,
    private readonly intervalMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  update(p: RunProgress): void {
    const pct = p.percentage == null ? '' : ` ${Math.round(p.percentage * 100)}%`;
    const line = `item ${p.itemId}: ${p.nodeType} ${p.nodeId} ${p.phase}${pct}${p.message ? ` (${p.message})` : ''}`;
    if (this.out.isTTY) {
      const cols = this.out.columns || 100;
      const bar = p.percentage == null ? '' : `[${'#'.repeat(Math.round(p.percentage * 20)).padEnd(20, '.')}] `;
      this.out.write(`\r\x1b[K${(bar + line).slice(0, Math.max(10, cols - 1))}`);
      this.live = true;
      return;
    }
    const t = this.now();
    if (this.lastPlainAt === null || t - this.lastPlainAt >= this.intervalMs) {
      this.lastPlainAt = t;
      this.out.write(`progress: ${line}\n`);
    } else if (p.phase === 'error') {
      // A node error is always worth a line; it does not move the periodic clock.
      this.out.write(`progress: ${line}\n`);
    }
  }

  /** Clears the live line before a record, a log line or the end. */
  clear(): void {
    if (this.out.isTTY && this.live) this.out.write('\r\x1b[K');
    this.live = false;
  }
}

/** A logger that clears the live progress line before each log line, so the two never share a line. */
export function clearingProgress(log: Logger, progress: ProgressReporter): Logger {
  const wrap = (l: Logger): Logger => ({
    error: (msg, meta) => (progress.clear(), l.error(msg, meta)),
    warn: (msg, meta) => (progress.clear(), l.warn(msg, meta)),
    info: (msg, meta) => (progress.clear(), l.info(msg, meta)),
    debug: (msg, meta) => (progress.clear(), l.debug(msg, meta)),
    child: (ns) => wrap(l.child(ns)),
  });
  return wrap(log);
}
