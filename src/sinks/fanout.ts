import { noopLogger, type Logger } from '../log';
import type { RecordSink, SinkRecord, SinkStats } from './sink';

/** Every sink of a daemon as one: opened together, each record to each in order, drained and closed together. */
export class SinkSet {
  private readonly log: Logger;

  constructor(
    readonly sinks: readonly RecordSink[],
    log: Logger = noopLogger,
  ) {
    this.log = log;
  }

  /** Opens every sink; when one refuses, closes them all and throws its error (`BAD_CONFIG`: exit 2). */
  async open(): Promise<void> {
    const results = await Promise.allSettled(this.sinks.map((s) => s.open()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed) return;
    await Promise.all(this.sinks.map((s) => s.close().catch(() => undefined)));
    throw failed.reason;
  }

  /** Resolves once every sink accepted the record (on disk with --state, else in bounded memory). */
  accept(rec: SinkRecord): Promise<void> {
    if (this.sinks.length === 1) return this.sinks[0]!.accept(rec);
    return Promise.all(this.sinks.map((s) => s.accept(rec))).then(() => undefined);
  }

  /** Waits (at most `timeoutMs` in all) for every sink to deliver what it holds, says what is left, and closes them. */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.all(
      this.sinks.map(async (s) => {
        if (!(await s.flush(timeoutMs))) this.log.warn(`${s.name}: ${s.stats().pending} record(s) not delivered before the drain timeout`);
      }),
    );
    await Promise.all(this.sinks.map((s) => s.close().catch(() => undefined)));
  }

  stats(): SinkStats[] {
    return this.sinks.map((s) => s.stats());
  }
}
