/**
 * The one interface every delivery target besides stdout implements (a broker stream, the webhook). The delivery
 * path hands each record to every sink, in order, right after stdout took it; a record counts as delivered once
 * every sink's `accept` resolved.
 */

export interface SinkRecord {
  recordId: string;
  type: 'image' | 'item';
  /** the record's JSON line as printed on stdout, without the newline */
  line: string;
}

export interface SinkStats {
  name: string;
  /** Records the broker (or receiver) acknowledged. */
  delivered: number;
  /** Records accepted and not yet acknowledged, the one in flight included (and accepts waiting for room). */
  pending: number;
  /** Delivery attempts that did not succeed: each retry counts, and so does a record given up on. */
  failed: number;
}

export interface RecordSink {
  /** For logs and metric labels; never contains credentials. */
  readonly name: string;
  /** Connects/validates once at start. Throws OutputsError('BAD_CONFIG', one line) when the broker answers and refuses (wrong credentials, not permitted); resolves (after one warning) when the broker is merely down. */
  open(): Promise<void>;
  /**
   * Accepts a record for delivery, in order. Resolves once it is durably queued: appended and fsynced to the sink's
   * outbox file when there is one (do the append+fsync synchronously inside accept, so the caller may rely on it right
   * after calling), or held in bounded memory without a file — then, when the bound is hit, it logs one clear warning and
   * the promise waits until there is room (back-pressure: the caller pauses the socket; records are never dropped).
   * Never rejects because the broker is down.
   */
  accept(rec: SinkRecord): Promise<void>;
  /** Resolves true once everything accepted reached the broker (acked), false after timeoutMs. */
  flush(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
  stats(): SinkStats;
}
