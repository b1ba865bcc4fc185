import type { ImageRecord } from '../records';

/** What is remembered of an item still owed a record, so it can be found again after a restart. */
export interface OpenItem {
  session_id: string | null;
  batch_id: string | null;
  /** `image` records already delivered, so a restart does not report them again. */
  images?: ImageRecord[];
}

export interface QueueCursorJson {
  /** Every item id up to here is settled (reported, or not ours to report), except the open ones. */
  floor: number | null;
  /** Settled ids above the floor. */
  settled: number[];
  /** Items owed a record. */
  open: Record<string, OpenItem>;
}

/** A change to a cursor, as written to the state file's journal. */
export type CursorChange =
  | { op: 'track'; id: number; session_id: string | null; batch_id: string | null }
  | { op: 'image'; id: number; record: ImageRecord }
  | { op: 'reported'; id: number }
  | { op: 'settle'; id: number }
  /** A change too large for one line (a fresh start, a listing's gaps): the whole cursor is rewritten. */
  | { op: 'snapshot' };

/**
 * Position in one queue: which items are settled and which are owed a record. Item ids are AUTOINCREMENT and never
 * reused (docs/protocol.md §8.9), so "every id up to the floor, plus these above it, except the open ones" says
 * compactly what is settled. The floor only ever moves over ids that are settled: an item still pending or running,
 * or one never heard of, holds it back however many newer items end.
 */
export class QueueCursor {
  private floor: number | null;
  private readonly settled: Set<number>;
  private readonly open: Map<number, OpenItem>;
  /** Called for every change, to journal it (the state file). */
  onChange: (change: CursorChange) => void = () => undefined;

  constructor(json?: Partial<QueueCursorJson>) {
    this.floor = json?.floor ?? null;
    this.settled = new Set(json?.settled ?? []);
    this.open = new Map(Object.entries(json?.open ?? {}).map(([k, v]) => [Number(k), v]));
  }

  get initialised(): boolean {
    return this.floor !== null;
  }

  /** The highest id this cursor knows of (settled or open); 0 when none. */
  get frontier(): number {
    let max = this.floor ?? 0;
    for (const id of this.settled) if (id > max) max = id;
    for (const id of this.open.keys()) if (id > max) max = id;
    return max;
  }

  openIds(): number[] {
    return [...this.open.keys()].sort((a, b) => a - b);
  }

  openItem(id: number): OpenItem | undefined {
    return this.open.get(id);
  }

  isOpen(id: number): boolean {
    return this.open.has(id);
  }

  isSettled(id: number): boolean {
    if (this.open.has(id)) return false;
    return this.settled.has(id) || (this.floor !== null && id <= this.floor);
  }

  /** Starts a fresh cursor: every id up to `newest` is settled (older work is not ours) but the items still owed. */
  initialise(newest: number, owed: ReadonlyMap<number, OpenItem>): void {
    this.floor = Math.max(0, newest);
    this.settled.clear();
    for (const [id, info] of owed) this.open.set(id, { ...info });
    this.compact();
    this.onChange({ op: 'snapshot' });
  }

  /** Forgets everything (the server's database was reset): the next catch-up starts afresh. */
  reset(): void {
    this.floor = null;
    this.settled.clear();
    this.open.clear();
    this.onChange({ op: 'snapshot' });
  }

  /** An item heard of that is owed a record. */
  track(id: number, info: { session_id: string | null; batch_id: string | null }): void {
    if (this.isSettled(id)) return;
    const known = this.open.get(id);
    const next: OpenItem = {
      session_id: known?.session_id ?? info.session_id,
      batch_id: known?.batch_id ?? info.batch_id,
      ...(known?.images ? { images: known.images } : {}),
    };
    if (known && known.session_id === next.session_id && known.batch_id === next.batch_id) return;
    this.open.set(id, next);
    this.onChange({ op: 'track', id, session_id: next.session_id, batch_id: next.batch_id });
  }

  /** An `image` record of an open item was delivered. */
  imageDelivered(id: number, record: ImageRecord): void {
    const p = this.open.get(id) ?? { session_id: record.session_id, batch_id: record.batch_id };
    (p.images ??= []).push(record);
    this.open.set(id, p);
    this.onChange({ op: 'image', id, record });
  }

  /** The item's record was delivered. */
  reported(id: number): void {
    this.open.delete(id);
    if (this.floor === null || id > this.floor) this.settled.add(id);
    this.compact();
    this.onChange({ op: 'reported', id });
  }

  /** An id that is not ours to report (another user's item, or one gone before it was ever heard of). */
  settle(id: number): void {
    if (this.isSettled(id) || this.open.has(id)) return;
    this.settled.add(id);
    this.compact();
    this.onChange({ op: 'settle', id });
  }

  /**
   * A full listing of the queue: ids up to its newest that it does not hold and that are not open belong to other
   * queues, or were deleted before anyone could report them.
   */
  settleAbsent(listed: ReadonlySet<number>, newest: number): void {
    if (this.floor === null) return;
    let changed = false;
    for (let id = this.floor + 1; id <= newest; id++) {
      if (!listed.has(id) && !this.open.has(id) && !this.settled.has(id)) {
        this.settled.add(id);
        changed = true;
      }
    }
    if (!changed) return;
    this.compact();
    this.onChange({ op: 'snapshot' });
  }

  /** Listed ids not yet settled, and every open id: what a catch-up must look at. */
  owed(listed: Iterable<number>): number[] {
    const out = new Set<number>(this.open.keys());
    for (const id of listed) if (!this.isSettled(id)) out.add(id);
    return [...out].sort((a, b) => a - b);
  }

  /** Moves the floor over settled ids next to it; never over an open or unknown one. */
  private compact(): void {
    if (this.floor === null) return;
    let floor = this.floor;
    while (this.settled.has(floor + 1) && !this.open.has(floor + 1)) {
      floor += 1;
      this.settled.delete(floor);
    }
    this.floor = floor;
  }

  /** Applies a journalled change (on load); does not journal it again. */
  replay(change: CursorChange): void {
    const notify = this.onChange;
    this.onChange = () => undefined;
    try {
      if (change.op === 'track') this.track(change.id, change);
      else if (change.op === 'image') this.imageDelivered(change.id, change.record);
      else if (change.op === 'reported') this.reported(change.id);
      else if (change.op === 'settle') this.settle(change.id);
    } finally {
      this.onChange = notify;
    }
  }

  toJSON(): QueueCursorJson {
    return {
      floor: this.floor,
      settled: [...this.settled].sort((a, b) => a - b),
      open: Object.fromEntries([...this.open].map(([k, v]) => [String(k), v])),
    };
  }
}
