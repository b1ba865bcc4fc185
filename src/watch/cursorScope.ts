import type { ItemEngine } from '../engine/engine';
import type { QueueItems } from '../invoke/queueItems';
import { TERMINAL_STATUSES, type WireQueueItem } from '../invoke/wire';
import type { Logger } from '../log';
import type { CatchUpScope } from '../session/catchUp';
import { isForeignItem } from '../session/catchUp';
import type { OpenItem, QueueCursor } from '../state/cursor';

export interface CursorScopeOptions {
  items: QueueItems;
  /** Unfinished items of a queue (`GET /queue/{q}/status`), so a fresh cursor knows when it has found them all. */
  unfinishedCount(queue: string): Promise<number | null>;
  cursors: ReadonlyMap<string, QueueCursor>;
  engine: ItemEngine;
  /** Only items not heard of for this long are read by a partial catch-up (the periodic one), ms. */
  quietMs: number;
  now(): number;
  log: Logger;
}

/**
 * Watch's catch-up scope: a durable cursor per queue. A fresh cursor starts at the queue's newest item and owes
 * every item not yet ended; afterwards every listing settles the ids it does not hold and names those still owed.
 */
export class CursorScope implements CatchUpScope {
  /** When each owed item was last heard of, so the periodic catch-up leaves busy items alone. */
  private readonly lastHeard = new Map<string, number>();
  /** Ids the cursor holds as settled that a server is running now: its ids were reused (a database reset)? */
  private readonly reused = new Map<string, Set<number>>();

  constructor(private readonly opts: CursorScopeOptions) {}

  heard(queue: string, id: number): void {
    this.lastHeard.set(`${queue}\u0000${id}`, this.opts.now());
  }

  forget(queue: string, id: number): void {
    this.lastHeard.delete(`${queue}\u0000${id}`);
  }

  private cursor(queue: string): QueueCursor {
    return this.opts.cursors.get(queue)!;
  }

  async candidates(queue: string, full: boolean): Promise<{ ids: number[]; items: ReadonlyMap<number, WireQueueItem> | null }> {
    const cursor = this.cursor(queue);
    if (!cursor.initialised) {
      await this.initialise(queue, cursor);
      return { ids: [], items: null };
    }
    if (!full) {
      const now = this.opts.now();
      const quiet = cursor.openIds().filter((id) => now - (this.lastHeard.get(`${queue}\u0000${id}`) ?? 0) >= this.opts.quietMs);
      return { ids: quiet, items: null };
    }
    const listed = await this.opts.items.ids(queue);
    const newest = listed.ids.reduce((m, id) => Math.max(m, id), 0);
    if (listed.ids.length > 0 && newest < cursor.frontier && !(await this.sameDatabase(queue, cursor, listed))) {
      // Ids are never reused (AUTOINCREMENT): a newest id below ours means the server's database was replaced.
      this.opts.log.warn(
        `queue ${queue}: the server's newest item is ${newest}, below this cursor's ${cursor.frontier}: its database was reset (or its newest items deleted); starting the cursor over`,
      );
      cursor.reset();
      this.opts.engine.forgetFinished(queue);
      // Items of the new database that were seen running before the reset was noticed are owed too.
      const running = [...(this.reused.get(queue) ?? [])].filter((id) => listed.ids.includes(id));
      this.reused.delete(queue);
      await this.initialise(queue, cursor, listed, running);
      return { ids: running, items: null };
    }
    this.reused.delete(queue);
    cursor.settleAbsent(new Set(listed.ids), newest);
    return { ids: cursor.owed(listed.ids).filter((id) => !this.opts.engine.isFinished(queue, id)), items: listed.items };
  }

  /**
   * A listed item this cursor owes, under the session it was known by: the database is the same, only its newest
   * items are gone (deleted, or pruned at a restart of a 3.2–5.15 server, which keeps older pending ones).
   */
  private async sameDatabase(queue: string, cursor: QueueCursor, listed: { ids: number[]; items: ReadonlyMap<number, WireQueueItem> | null }): Promise<boolean> {
    const owed = listed.ids.filter((id) => cursor.openItem(id)?.session_id);
    if (owed.length === 0) return false;
    const items = listed.items ?? (await this.opts.items.many(queue, owed));
    return owed.some((id) => items.get(id)?.session_id === cursor.openItem(id)?.session_id);
  }

  /** A fresh cursor: the queue's newest id, and every item not yet ended — all of them, however many. */
  /**
   * A settled id the server runs now: late news of an item already reported, or a server whose database was reset
   * and reuses ids. True the first time, so the caller checks with a full catch-up (which tells the two apart).
   */
  suspectReuse(queue: string, id: number): boolean {
    const ids = this.reused.get(queue) ?? new Set<number>();
    this.reused.set(queue, ids);
    if (ids.has(id)) return false;
    ids.add(id);
    return true;
  }

  private async initialise(queue: string, cursor: QueueCursor, given?: { ids: number[]; items: Map<number, WireQueueItem> | null }, alsoOwed: readonly number[] = []): Promise<void> {
    const listed = given ?? (await this.opts.items.ids(queue));
    const newest = listed.ids.reduce((m, id) => Math.max(m, id), 0);
    const owed = new Map<number, OpenItem>();
    const add = (item: WireQueueItem): void => {
      if (!TERMINAL_STATUSES.has(item.status) && !isForeignItem(item)) owed.set(item.item_id, { session_id: item.session_id, batch_id: item.batch_id });
    };
    if (listed.items) for (const item of listed.items.values()) add(item);
    else {
      // Unfinished items are the newest ones mostly: read newest first until all of them are found.
      const expected = await this.opts.unfinishedCount(queue);
      const ids = [...listed.ids].sort((a, b) => b - a);
      for (let i = 0; i < ids.length && (expected === null || owed.size < expected); i += 100) {
        for (const item of (await this.opts.items.many(queue, ids.slice(i, i + 100))).values()) add(item);
      }
    }
    for (const id of alsoOwed) if (!owed.has(id)) owed.set(id, { session_id: null, batch_id: null });
    cursor.initialise(newest, owed);
  }

  foreign(queue: string, id: number): void {
    this.cursor(queue).settle(id);
  }

  unfinished(queue: string, item: WireQueueItem): void {
    this.cursor(queue).track(item.item_id, { session_id: item.session_id, batch_id: item.batch_id });
    this.heard(queue, item.item_id);
  }

  known(queue: string, id: number): { batchId: string | null; sessionId: string | null } | null {
    const open = this.cursor(queue).openItem(id);
    if (open) return { batchId: open.batch_id, sessionId: open.session_id };
    return this.opts.engine.isOpen(queue, id) ? { batchId: null, sessionId: null } : null;
  }

  unknownGone(queue: string, id: number): void {
    this.cursor(queue).settle(id);
  }
}
