import type { OutputRecord } from '../../records';

/** A record as the live view keeps it: its id, its type and its stdout line. */
export interface HeldRecord {
  readonly id: string;
  readonly type: OutputRecord['type'];
  readonly line: string;
}

/**
 * The most recent records, in order, for `/api/records` and for SSE replay: a fixed-size ring plus an index from
 * `record_id` to position, so "what followed record X" costs no scan.
 */
export class RecordRing {
  private readonly slots: (HeldRecord | undefined)[];
  /** Sequence number of the next record; the record with sequence s lives in slot s % capacity. */
  private next = 0;
  private readonly seqOf = new Map<string, number>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('ring capacity must be a positive integer');
    this.slots = new Array<HeldRecord | undefined>(capacity);
  }

  get size(): number {
    return Math.min(this.next, this.capacity);
  }

  push(held: HeldRecord): void {
    const slot = this.next % this.capacity;
    const evicted = this.slots[slot];
    if (evicted && this.seqOf.get(evicted.id) === this.next - this.capacity) this.seqOf.delete(evicted.id);
    this.slots[slot] = held;
    this.seqOf.set(held.id, this.next);
    this.next += 1;
  }

  /** The newest `limit` records, oldest first. */
  recent(limit = this.capacity): HeldRecord[] {
    return this.from(Math.max(this.next - Math.min(limit, this.capacity), 0));
  }

  /** The records after `id`, oldest first; null when `id` is not held (never seen, or pushed out). */
  after(id: string): HeldRecord[] | null {
    const seq = this.seqOf.get(id);
    return seq === undefined ? null : this.from(seq + 1);
  }

  private from(seq: number): HeldRecord[] {
    const out: HeldRecord[] = [];
    for (let s = Math.max(seq, this.next - this.capacity); s < this.next; s++) out.push(this.slots[s % this.capacity]!);
    return out;
  }
}

/** A map that forgets its oldest entries beyond `capacity` (insertion order). */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {}

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }
}

/** Where an image record's bytes come from: the image proxy serves only these. */
export interface KnownImage {
  server: string;
  imageName: string;
}
