/** A set that forgets its oldest keys beyond `capacity`, so a daemon that runs for months stays small. */
export class BoundedSet<T> {
  private readonly keys = new Set<T>();
  constructor(private readonly capacity: number) {}

  has(key: T): boolean {
    return this.keys.has(key);
  }

  add(key: T): void {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next();
      if (!oldest.done) this.keys.delete(oldest.value);
    }
  }

  /** Forgets the keys `test` picks. */
  deleteWhere(test: (key: T) => boolean): void {
    for (const k of this.keys) if (test(k)) this.keys.delete(k);
  }

  get size(): number {
    return this.keys.size;
  }
}
