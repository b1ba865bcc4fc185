import type { RunProgress } from '../run/runWorkflow';
import type { Logger } from '../log';

/** Where the live line goes: stderr, or anything shaped like it. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  /** Plain progress lines are `info` lines of this logger (namespace `progress`): the same prefix as every log line. */
  log: Logger;
  /** The terminal of the live line. @default process.stderr */
  out?: ProgressStream;
  /** At most one plain line per this many ms (node errors always get one). @default 2000 */
  intervalMs?: number;
  now?: () => number;
  /** `TERM=dumb` gets plain lines even on a terminal: no escape codes. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * Progress of a run on stderr: one line rewritten in place on a terminal, otherwise a log line at most every
 * `intervalMs` (plus every node error), so logs and CI captures stay readable.
 */
export class ProgressReporter {
  private liveShown = false;
  private lastPlainAt: number | null = null;
  private readonly out: ProgressStream;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly now: () => number;
  /** A terminal that understands `\r` and `ESC [K`. */
  readonly live: boolean;

  constructor(opts: ProgressOptions) {
    this.out = opts.out ?? process.stderr;
    this.log = opts.log.child('progress');
    this.intervalMs = opts.intervalMs ?? 2000;
    this.now = opts.now ?? Date.now;
    this.live = this.out.isTTY === true && (opts.env ?? process.env)['TERM'] !== 'dumb';
  }

  update(p: RunProgress): void {
    const pct = p.percentage == null ? '' : ` ${Math.round(p.percentage * 100)}%`;
    const line = `item ${p.itemId}: ${p.nodeType} ${p.nodeId} ${p.phase}${pct}${p.message ? ` (${p.message})` : ''}`;
    if (this.live) {
      const cols = this.out.columns || 100;
      const bar = p.percentage == null ? '' : `[${'#'.repeat(Math.round(p.percentage * 20)).padEnd(20, '.')}] `;
      this.out.write(`\r\x1b[K${(bar + line).slice(0, Math.max(10, cols - 1))}`);
      this.liveShown = true;
      return;
    }
    const t = this.now();
    if (this.lastPlainAt === null || t - this.lastPlainAt >= this.intervalMs) {
      this.lastPlainAt = t;
      this.log.info(line);
    } else if (p.phase === 'error') {
      // A node error is always worth a line; it does not move the periodic clock.
      this.log.info(line);
    }
  }

  /** Clears the live line before a record, a log line or the end. */
  clear(): void {
    if (this.live && this.liveShown) this.out.write('\r\x1b[K');
    this.liveShown = false;
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
