/** JSON value types shared by the simulator modules (wire payloads are plain JSON). */
export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An empty object for user-chosen keys (node ids, field names, return keys): no prototype, so `__proto__`,
 * `constructor` or `toString` are ordinary keys, never inherited members.
 */
export function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function copy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copy);
  if (typeof v !== 'object' || v === null) return v;
  const out = record<unknown>();
  for (const [k, x] of Object.entries(v)) out[k] = copy(x);
  return out;
}

/** Deep copy of JSON data in which every object is a {@link record}: safe for whatever keys the client sent. */
export function clone<T extends Json>(v: T): T {
  return copy(v) as T;
}

/** {@link clone} for the simulator's typed JSON-shaped state (sessions, outputs). */
export function cloneData<T extends object>(v: T): T {
  return copy(v) as T;
}

/**
 * FastAPI's `response_model_exclude_none=True` drops null fields recursively (docs/protocol.md §5.2);
 * events and most other routes keep them.
 */
export function stripNulls(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (v !== null && typeof v === 'object') {
    const out = record<Json>();
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = stripNulls(x);
    return out;
  }
  return v;
}
