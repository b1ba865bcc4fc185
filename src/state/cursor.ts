/** What is remembered of an item still owed a record, so it can be found again after a restart. */
export interface PendingItem {
  session_id: string | null;
  batch_id: string | null;
  /** `image` records already delivered, so a restart does not report them again. */
  images?: object[];
}

export interface QueueCursorJson {
  /** Every item id up to here is reported or not ours to report. */
  watermark: number | null;
  /** Reported ids above the watermark. */
  reported: number[];
  /** Items seen running or waiting, not yet reported. */
  pending: Record<string, PendingItem>;
}

/**
 * Position in one queue: which items are owed a record. Item ids are AUTOINCREMENT and never reused
 * (docs/protocol.md §8.9), so "every id up to N, plus these above it" describes the reported set compactly.
 */
export class QueueCursor {
  watermark: number | null;
  private readonly reported: Set<number>;
  readonly pending: Map<number, PendingItem>;
  private highestSeen: number | null;

  constructor(json?: QueueCursorJson) {
    this.watermark = json?.watermark ?? null;
    this.highestSeen = this.watermark;
    this.reported = new Set(json?.reported ?? []);
    this.pending = new Map(Object.entries(json?.pending ?? {}).map(([k, v]) => [Number(k), v]));
    for (const id of [...this.reported, ...this.pending.keys()]) this.seen(id);
  }

  get initialised(): boolean {
    return this.watermark !== null;
  }

  /** Starts a fresh cursor at the queue's newest item: older finished items are not ours. */
  initialise(newestId: number): void {
    this.watermark = Math.max(newestId, this.highestSeen ?? -1, -1);
    this.highestSeen = this.watermark;
    this.compact();
  }

  seen(id: number): void {
    if (this.highestSeen === null || id > this.highestSeen) this.highestSeen = id;
  }

  track(id: number, info: PendingItem): void {
    this.seen(id);
    if (this.isReported(id)) return;
    const known = this.pending.get(id);
    this.pending.set(id, {
      session_id: info.session_id ?? known?.session_id ?? null,
      batch_id: info.batch_id ?? known?.batch_id ?? null,
      ...(known?.images ? { images: known.images } : {}),
    });
  }

  /** An `image` record of a pending item went out. */
  noteImage(id: number, record: object): void {
    const p = this.pending.get(id) ?? { session_id: null, batch_id: null };
    (p.images ??= []).push(record);
    this.pending.set(id, p);
    this.seen(id);
  }

  isReported(id: number): boolean {
    return this.reported.has(id) || (this.watermark !== null && id <= this.watermark && !this.pending.has(id));
  }

  markReported(id: number): void {
    this.seen(id);
    this.pending.delete(id);
    this.reported.add(id);
    this.compact();
  }

  /** Ids above the watermark that are not yet reported: what a restart or reconnect must look at. */
  owed(ids: Iterable<number>): number[] {
    const out = new Set<number>(this.pending.keys());
    for (const id of ids) if (!this.isReported(id)) out.add(id);
    return [...out].sort((a, b) => a - b);
  }

  /** Moves the watermark up to just below the oldest pending item and forgets reported ids beneath it. */
  private compact(): void {
    if (this.watermark === null || this.highestSeen === null) return;
    const oldestPending = Math.min(...this.pending.keys(), Infinity);
    let mark = this.watermark;
    while (mark + 1 < oldestPending && this.reported.has(mark + 1)) mark += 1;
    // Nothing pending: every id seen is settled, gaps included (other queues, pruned or foreign items).
    if (this.pending.size === 0) mark = Math.max(mark, this.highestSeen);
    this.watermark = mark;
    for (const id of this.reported) if (id <= mark) this.reported.delete(id);
  }

  toJSON(): QueueCursorJson {
    return {
      watermark: this.watermark,
      reported: [...this.reported].sort((a, b) => a - b),
      pending: Object.fromEntries([...this.pending].map(([k, v]) => [String(k), v])),
    };
  }
}
