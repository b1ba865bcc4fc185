import { randomUUID } from 'node:crypto';

/** SQLite text timestamps as InvokeAI stores them: `YYYY-MM-DD HH:MM:SS.fff`, UTC, no zone (docs/protocol.md §2.2). */
export function sqliteTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

/** Event `timestamp`: integer Unix seconds (docs/protocol.md §2). */
export function eventTimestamp(): number {
  return Math.floor(Date.now() / 1000);
}

export function uuid(): string {
  return randomUUID();
}
