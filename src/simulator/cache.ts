import { clone, type Json, type JsonObject } from './json';

/**
 * The invocation cache (docs/protocol.md §4.1): key = node dump minus `id`; a hit returns the earlier output
 * (possibly an image made by another session) and saves nothing. Oldest entries go first when full.
 */
export class InvocationCache {
  private readonly entries = new Map<string, JsonObject>();

  constructor(private readonly maxSize: number) {}

  static key(invocation: JsonObject): string {
    const { id: _id, ...rest } = invocation;
    return JSON.stringify(rest);
  }

  get enabled(): boolean {
    return this.maxSize > 0;
  }

  get(key: string): JsonObject | undefined {
    const v = this.entries.get(key);
    return v === undefined ? undefined : clone(v);
  }

  put(key: string, output: JsonObject): void {
    if (!this.enabled) return;
    this.entries.delete(key);
    this.entries.set(key, clone(output));
    while (this.entries.size > this.maxSize) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Deleting an image also evicts cache entries that reference it. */
  evictImage(name: string): void {
    for (const [k, v] of this.entries) if (mentions(v, name)) this.entries.delete(k);
  }

  clear(): void {
    this.entries.clear();
  }
}

function mentions(v: Json, name: string): boolean {
  if (typeof v === 'string') return v === name;
  if (Array.isArray(v)) return v.some((x) => mentions(x, name));
  if (v !== null && typeof v === 'object') return Object.values(v).some((x) => mentions(x, name));
  return false;
}
