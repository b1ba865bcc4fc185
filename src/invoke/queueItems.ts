import type { InvokeApi } from './api';
import type { ServerCaps } from './generation';
import { HttpError } from './http';
import type { WireQueueItem } from './wire';

/** Largest page the list route is asked for, and largest `items_by_ids` request. */
const PAGE = 500;
const BY_IDS = 100;

/**
 * Reads queue items the way each server generation allows (docs/protocol.md §5.2, §5.3): `items_by_ids` and
 * `item_ids` from 6.7, the paged list route before. Before 6.0 a missing item answers 500 like a real fault, so
 * there "is it gone?" is answered by the list, never by the status code and never by probing ids.
 */
export class QueueItems {
  constructor(
    private readonly api: InvokeApi,
    private readonly caps: () => ServerCaps,
  ) {}

  /** One item; null when it is not in the queue (deleted, cleared, pruned, another queue's). */
  async one(queueId: string, itemId: number): Promise<WireQueueItem | null> {
    try {
      return await this.api.queueItem(queueId, itemId);
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 500 && this.caps().missingItemIs500)) throw err;
      // Ambiguous before 6.0: the item is gone, or the server failed. The list says which.
      const listed = (await this.list(queueId)).find((i) => i.item_id === itemId);
      if (listed) throw err;
      return null;
    }
  }

  /** Several items; the missing ones are absent from the answer. */
  async many(queueId: string, ids: readonly number[]): Promise<Map<number, WireQueueItem>> {
    const out = new Map<number, WireQueueItem>();
    if (ids.length === 0) return out;
    const caps = this.caps();
    if (caps.itemIdsRoute) {
      for (let i = 0; i < ids.length; i += BY_IDS) {
        for (const item of await this.api.itemsByIds(queueId, ids.slice(i, i + BY_IDS))) out.set(item.item_id, item);
      }
      return out;
    }
    if (caps.listRoute) {
      const wanted = new Set(ids);
      for (const item of await this.list(queueId)) if (wanted.has(item.item_id)) out.set(item.item_id, item);
      // Up to 5.15 the list carries no sessions: items that ended are read in full by the ladder anyway.
      return out;
    }
    for (const id of ids) {
      const item = await this.one(queueId, id);
      if (item) out.set(id, item);
    }
    return out;
  }

  /** Every item id of the queue (6.7+: `item_ids`; before: the list), with the items when the list gave them. */
  async ids(queueId: string): Promise<{ ids: number[]; items: Map<number, WireQueueItem> | null }> {
    if (this.caps().itemIdsRoute) return { ids: (await this.api.itemIds(queueId)) ?? [], items: null };
    const items = new Map((await this.list(queueId)).map((i) => [i.item_id, i] as const));
    return { ids: [...items.keys()], items };
  }

  /** Every item of the queue from the list route, in the server's order, without rows of other queues. */
  async list(queueId: string): Promise<WireQueueItem[]> {
    const seen = new Map<number, WireQueueItem>();
    let cursor: { cursor: number; priority: number } | undefined;
    for (;;) {
      const page = await this.api.listPage(queueId, { limit: PAGE, ...(cursor ?? {}) });
      for (const item of page.items) if ((item.queue_id ?? queueId) === queueId && !seen.has(item.item_id)) seen.set(item.item_id, item);
      const last = page.items.at(-1);
      if (!page.has_more || !last) return [...seen.values()];
      const next = { cursor: last.item_id, priority: last.priority ?? 0 };
      // The cursor must move forward in the list's order (priority down, then id up), or the server repeats itself.
      if (cursor && next.priority === cursor.priority && next.cursor <= cursor.cursor) return [...seen.values()];
      cursor = next;
    }
  }
}
