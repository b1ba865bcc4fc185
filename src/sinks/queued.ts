import { channel } from 'node:diagnostics_channel';
import { errorMessage } from '../errors';
import { backoffDelay } from '../invoke/backoff';
import { noopLogger, type Logger, type LogLevel } from '../log';
import { Outbox, type OutboxEntry } from './outbox';
import type { RecordSink, SinkRecord, SinkStats } from './sink';

/** What one delivery attempt came to. */
export type Outcome =
  /** `duplicate`: the target already held this record_id (a peer or an earlier attempt delivered it). */
  | { kind: 'delivered'; duplicate?: boolean }
  /** The target answered that this record can never be taken (a webhook's 4xx): logged at error and skipped. */
  | { kind: 'dropped'; reason: string }
  /** Down, slow or refusing for now: tried again after a backoff; `level` is how the outage's one log line is logged. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number; level?: LogLevel };

/** One target's wire: a QueuedSink owns the queue, the order and the retries; a publisher only delivers one entry. */
export interface Publisher {
  /** For logs and metric labels; never contains credentials. */
  readonly name: string;
  /** Strings that must never reach a log line (passwords, tokens), whatever an error message echoes. */
  readonly secrets: readonly string[];
  /**
   * Connects and validates once. Throws `OutputsError('BAD_CONFIG')` when the target answers and refuses; resolves
   * with why it cannot be reached when it is merely down (it keeps trying), or null when it is ready.
   */
  open(): Promise<string | null>;
  /** Delivers one entry and waits for the target's acknowledgement; never rejects. `signal` aborts on close. */
  publish(entry: OutboxEntry, signal: AbortSignal): Promise<Outcome>;
  /** Which records this target takes. @default every record */
  wants?(rec: SinkRecord): boolean;
  /** Gives the publisher a function to call when its target is reachable again: it cuts the backoff short. */
  onReachable?(wake: () => void): void;
  close(): Promise<void>;
}

export interface QueuedSinkOptions {
  publisher: Publisher;
  /** Undelivered records are kept here across restarts (with `--state`). @default null (memory only) */
  outboxFile?: string | null;
  /** Without an outbox file: records held in memory before `accept` waits for room. @default 10000 */
  memoryLimit?: number;
  /** Delay between failed attempts, ms, doubling with jitter. @default { min: 200, max: 5000 } */
  backoff?: { min?: number; max?: number };
  log?: Logger;
  /** What one queued record is called in log lines. @default 'record' */
  noun?: string;
}

/** Subscribed to by the benchmark (scripts/bench/probe.js): one message per acknowledged record. Free otherwise. */
const deliveredChannel = channel('invokeai-outputs:sink:delivered');

interface Waiting {
  rec: SinkRecord;
  resolve: () => void;
}

/**
 * A sink made of an outbox and one ordered worker: records are delivered one at a time, in the order accepted,
 * each acked in the outbox only after the target acknowledged it. A target that is down, slow or refusing for now
 * is retried forever with jittered backoff; the sink warns once per outage and says once when it delivers again.
 */
export class QueuedSink implements RecordSink {
  readonly name: string;
  protected readonly log: Logger;
  private readonly publisher: Publisher;
  private readonly outbox: Outbox;
  private readonly noun: string;
  private readonly backoff: { min: number; max: number };
  private readonly stop = new AbortController();
  private readonly idle = new Set<(ok: boolean) => void>();
  private readonly waiting: Waiting[] = [];
  private worker: Promise<void> | undefined;
  private opening: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Ends the current backoff early (the target is back). */
  private interrupt: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  /** Failed attempts of the current outage, and when it began (null: none). */
  private failures = 0;
  private outageSince: number | null = null;
  private boundWarned = false;
  private readonly counts = { delivered: 0, failed: 0 };

  constructor(opts: QueuedSinkOptions) {
    this.publisher = opts.publisher;
    this.name = opts.publisher.name;
    this.log = opts.log ?? noopLogger;
    this.noun = opts.noun ?? 'record';
    this.backoff = { min: opts.backoff?.min ?? 200, max: opts.backoff?.max ?? 5000 };
    this.outbox = Outbox.open(opts.outboxFile ?? null, { log: this.log, memoryLimit: opts.memoryLimit ?? 10000 });
    this.publisher.onReachable?.(() => this.interrupt?.());
    if (this.outbox.size > 0) {
      this.log.info(`${this.outbox.size} undelivered ${this.noun}(s) to ${this.name} from ${this.outbox.file ?? ''}; sending them first`);
    }
  }

  /** Records accepted and not yet acknowledged (the one in flight and accepts waiting for room included). */
  get pending(): number {
    return this.outbox.size + this.waiting.length;
  }

  open(): Promise<void> {
    this.opening ??= (async () => {
      const down = await this.publisher.open();
      if (down !== null && this.outageSince === null) {
        this.outageSince = Date.now();
        this.log.warn(this.redact(`${this.name}: ${down}; holding ${this.noun}s ${this.where()} until it is back`));
      }
      this.start();
    })();
    return this.opening;
  }

  accept(rec: SinkRecord): Promise<void> {
    if (this.publisher.wants && !this.publisher.wants(rec)) return Promise.resolve();
    this.start();
    if (this.waiting.length === 0 && !this.outbox.full) {
      this.enqueue(rec);
      return Promise.resolve();
    }
    if (!this.boundWarned) {
      this.boundWarned = true;
      this.log.warn(
        `${this.name}: ${this.outbox.size} ${this.noun}s waiting in memory (the bound without --state); ` +
          'holding new ones back until it catches up (nothing is dropped)',
      );
    }
    return new Promise((resolve) => {
      this.waiting.push({ rec, resolve });
      if (this.waiting.length === 1) void this.admitWaiting();
    });
  }

  /** Resolves true once everything accepted is acknowledged, or false after `timeoutMs` (what is left stays queued). */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    if (this.closing) return Promise.resolve(false);
    this.start();
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.idle.delete(done);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      this.idle.add(done);
    });
  }

  /** Stops delivering (an attempt in flight is abandoned and made again later) and closes the outbox. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  stats(): SinkStats {
    return { name: this.name, delivered: this.counts.delivered, pending: this.pending, failed: this.counts.failed };
  }

  private start(): void {
    if (this.worker || this.closing) return;
    this.worker = this.run().catch((err: unknown) => this.log.error(this.redact(`${this.name}: stopped delivering: ${errorMessage(err)}`)));
  }

  private enqueue(rec: SinkRecord): void {
    this.outbox.append(rec.line, { recordId: rec.recordId, type: rec.type });
    if (!this.closing) this.wake?.();
    else if (this.outbox.file !== null) this.log.info(`closing: ${describe(rec.line)} kept in ${this.outbox.file} for the next start`);
    else this.log.warn(`closing: ${describe(rec.line)} not delivered to ${this.name}`);
  }

  /** Admits waiting accepts in order as the outbox makes room; after close they go where `enqueue` puts them. */
  private async admitWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      await this.outbox.room();
      const next = this.waiting.shift();
      if (!next) break;
      this.enqueue(next.rec);
      next.resolve();
    }
    if (this.boundWarned && !this.closing) this.log.info(`${this.name}: room again in memory; taking ${this.noun}s as they come`);
    this.boundWarned = false;
  }

  private async shutdown(): Promise<void> {
    this.stop.abort();
    this.wake?.();
    await this.worker;
    for (const done of [...this.idle]) done(false);
    const left = this.outbox.size + this.waiting.length;
    if (left > 0) {
      if (this.outbox.file !== null) this.log.info(`${left} undelivered ${this.noun}(s) to ${this.name} kept in ${this.outbox.file}`);
      else this.log.warn(`${left} undelivered ${this.noun}(s) to ${this.name} lost (no outbox file)`);
    }
    this.outbox.close();
    await this.opening?.catch(() => undefined);
    await this.publisher.close().catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.stop.signal.aborted) {
      const entry = this.outbox.peek();
      if (!entry) {
        if (this.waiting.length === 0) for (const done of [...this.idle]) done(true);
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const outcome = await this.publisher.publish(entry, this.stop.signal);
      if (this.stop.signal.aborted && outcome.kind === 'retry') break;
      if (outcome.kind === 'retry') await this.retryLater(outcome);
      else this.settle(entry, outcome);
    }
  }

  /** The entry reached the target: acked in the outbox, and the outage (if any) is over. */
  private settle(entry: OutboxEntry, outcome: Exclude<Outcome, { kind: 'retry' }>): void {
    if (this.outageSince !== null) {
      const secs = ((Date.now() - this.outageSince) / 1000).toFixed(1);
      this.log.info(`${this.name}: delivering again after ${this.failures} failed attempt(s) over ${secs} s (${this.outbox.size} pending)`);
    }
    this.failures = 0;
    this.outageSince = null;
    this.outbox.ack(entry.id);
    if (outcome.kind === 'dropped') {
      this.counts.failed += 1;
      this.log.error(this.redact(`${this.name}: ${outcome.reason}; dropping ${describe(entry.body)} (delivery ${entry.id})`));
      return;
    }
    this.counts.delivered += 1;
    if (deliveredChannel.hasSubscribers) deliveredChannel.publish({ sink: this.name, recordId: entry.recordId, head: entry.body.slice(0, 160) });
    this.log.debug(() => `${this.name}: delivered ${entry.recordId ?? entry.id}${outcome.duplicate ? ' (already there: not stored again)' : ''}`);
  }

  private async retryLater(outcome: Extract<Outcome, { kind: 'retry' }>): Promise<void> {
    const delay =
      outcome.retryAfterMs !== undefined ? Math.max(outcome.retryAfterMs, this.backoff.min) : backoffDelay(this.failures, this.backoff);
    this.failures += 1;
    this.counts.failed += 1;
    const text = this.redact(`${this.name}: ${outcome.reason}; retrying in ${formatMs(delay)} (${this.outbox.size} pending)`);
    // One line per outage: a long one would otherwise flood the log.
    if (this.outageSince === null) {
      this.outageSince = Date.now();
      this.log[outcome.level ?? 'warn'](`${text}; holding ${this.noun}s ${this.where()} until it is back`);
    } else {
      this.log.debug(text);
    }
    await this.sleep(delay);
  }

  private where(): string {
    return this.outbox.file !== null ? `in order in ${this.outbox.file}` : 'in order in memory';
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', done);
        this.interrupt = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interrupt = done;
      this.stop.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Credentials never reach a log line, whatever an error message or a receiver echoes. */
  protected redact(text: string): string {
    let out = text;
    for (const s of this.publisher.secrets) if (s.length > 0) out = out.split(s).join('***');
    return out;
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `item record of item 158` (for logs) from a line, without logging the line itself. */
export function describe(line: string): string {
  try {
    const r = JSON.parse(line) as { type?: unknown; item_id?: unknown };
    if (typeof r.type === 'string' && typeof r.item_id === 'number') return `${r.type} record of item ${r.item_id}`;
  } catch {
    /* not JSON: say nothing more */
  }
  return 'a record';
}
