import type { RunProgress } from '../run/runWorkflow';

/**
 * Progress of a run on stderr: one line rewritten in place on a terminal, a plain line every few seconds
 * otherwise (logs and CI captures stay readable).
 */
export class ProgressReporter {
  private last = '';
  private lastPlainAt = 0;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  update(p: RunProgress): void {
    const pct = p.percentage == null ? '' : ` ${Math.round(p.percentage * 100)}%`;
    const line = `item ${p.itemId}: ${p.nodeType} ${p.nodeId} ${p.phase}${pct}${p.message ? ` (${p.message})` : ''}`;
    if (this.out.isTTY) {
      const cols = this.out.columns || 100;
      const bar = p.percentage == null ? '' : `[${'#'.repeat(Math.round(p.percentage * 20)).padEnd(20, '.')}] `;
      this.out.write(`\r\x1b[K${(bar + line).slice(0, cols - 1)}`);
      this.last = line;
      return;
    }
    const t = this.now();
    if (p.phase === 'started' || p.phase === 'error' || t - this.lastPlainAt >= this.intervalMs) {
      this.lastPlainAt = t;
      this.out.write(`${line}\n`);
    }
  }

  /** Clears the live line before a log line or the end. */
  clear(): void {
    if (this.out.isTTY && this.last) this.out.write('\r\x1b[K');
    this.last = '';
  }
}
