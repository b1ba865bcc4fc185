import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { errorMessage } from '../errors';
import { noopLogger, type Logger } from '../log';
import type { OutputRecord } from '../records';
import type { RecordSink } from '../sinks/sink';

export interface DeliveryOptions {
  /** Where records go: stdout, webhooks, brokers. Every one must accept a record before it counts as delivered. */
  sinks: readonly RecordSink[];
  /** Runs before a record is serialised (`--download` adds `file` to image records); failures are the caller's to log. */
  prepare?: (rec: OutputRecord) => Promise<void>;
  /** A record was accepted by every sink: only now may the cursor move over it. Called in order. */
  onDelivered: (rec: OutputRecord, line: string) => void;
  /** Records waiting beyond this pause the intake (sessions stop taking events); below `lowWater` it resumes. @default 2000 */
  highWater?: number;
  /** @default highWater / 2 */
  lowWater?: number;
  /** Intake must pause (true) or may resume (false). */
  onPressure?: (paused: boolean) => void;
  log?: Logger;
  /** Times the drain. @default asyncScheduler */
  scheduler?: SchedulerLike;
}

interface Entry {
  rec: OutputRecord;
  ready: Promise<void>;
}

/**
 * The one path every record takes out: prepared, serialised once, handed to every sink in order, and marked
 * delivered — in order, only after every sink accepted it (stdout's write callback fired, an outbox holds it on
 * disk). Sinks receive records one after another without waiting for the previous acceptance, so a slow reader costs
 * memory only up to the high-water mark; beyond it the intake is paused rather than records dropped.
 */
export class Delivery {
  private readonly queue: Entry[] = [];
  private pumping = false;
  private acked: Promise<void> = Promise.resolve();
  private waiting = 0;
  private paused = false;
  private failed = false;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly log: Logger;
  private readonly idle = new Set<() => void>();

  constructor(private readonly opts: DeliveryOptions) {
    this.highWater = Math.max(1, opts.highWater ?? 2000);
    this.lowWater = Math.max(0, Math.min(this.highWater - 1, opts.lowWater ?? Math.floor(this.highWater / 2)));
    this.log = opts.log ?? noopLogger;
  }

  /** Records taken and not yet delivered. */
  get pending(): number {
    return this.waiting;
  }

  deliver(rec: OutputRecord): void {
    if (this.failed) return;
    this.waiting += 1;
    const ready = this.opts.prepare ? this.opts.prepare(rec).catch(() => undefined) : Promise.resolve();
    this.queue.push({ rec, ready });
    if (!this.paused && this.waiting > this.highWater) {
      this.paused = true;
      this.log.warn(`${this.waiting} records wait to be delivered (is stdout being read?): pausing until they drain`);
      this.opts.onPressure?.(true);
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) {
        await e.ready;
        const line = JSON.stringify(e.rec);
        const sinkRecord = { recordId: e.rec.record_id, type: e.rec.type, line };
        const accepted = Promise.all(this.opts.sinks.map((s) => s.accept(sinkRecord)));
        // Its outcome is read in order, after the records before it; a refusal that comes first must not count as
        // unhandled meanwhile (the CLI would die of it).
        accepted.catch(() => undefined);
        const rec = e.rec;
        this.acked = this.acked.then(() => accepted).then(
          () => this.delivered(rec, line),
          (err: unknown) => this.fail(rec, err),
        );
      }
    } finally {
      this.pumping = false;
    }
  }

  private delivered(rec: OutputRecord, line: string): void {
    if (this.failed) return;
    this.waiting -= 1;
    try {
      this.opts.onDelivered(rec, line);
    } catch (err) {
      this.log.error(`after delivering ${rec.type} ${rec.record_id}: ${errorMessage(err)}`);
    }
    if (this.paused && this.waiting <= this.lowWater) {
      this.paused = false;
      this.log.info('records drain again: resuming');
      this.opts.onPressure?.(false);
    }
    if (this.waiting === 0) for (const f of [...this.idle]) f();
  }

  /** A sink refused for good (stdout closed): nothing more counts as delivered; a restart finds it all again. */
  private fail(rec: OutputRecord, err: unknown): void {
    if (!this.failed) this.log.debug(`delivery stopped at ${rec.type} ${rec.record_id}: ${errorMessage(err)}`);
    this.failed = true;
    for (const f of [...this.idle]) f();
  }

  /** Resolves true once everything taken was delivered, false after `timeoutMs` or when delivery failed. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.waiting === 0 || this.failed) return Promise.resolve(!this.failed);
    return new Promise((resolve) => {
      const done = (): void => {
        timer.unsubscribe();
        this.idle.delete(done);
        resolve(!this.failed && this.waiting === 0);
      };
      const timer = (this.opts.scheduler ?? asyncScheduler).schedule(done, timeoutMs);
      this.idle.add(done);
    });
  }
}
