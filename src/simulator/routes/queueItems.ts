import type { SimContext } from '../context';
import { itemForGeneration } from '../generations';
import type { QueueItem } from '../queue';
import { HttpError, pathInt, q, type Router } from '../router';
import { bodyList, bodyObject } from './body';

/** A queue item as this generation's item routes answer it; only `GET …/i/{id}` may drop nulls. */
export const itemView =
  (ctx: SimContext, read = false) =>
  (i: QueueItem): unknown =>
    itemForGeneration(ctx.queue.dump(i, read && ctx.profile.itemReadExcludesNone), ctx.profile);

/** `SessionQueueItemNotFoundError`: uncaught, it is Starlette's plain-text 500 (the router's answer to any other error). */
class SessionQueueItemNotFoundError extends Error {}

const notInQueue = (queueId: string, itemId: number): string => `Queue item with id ${itemId} not found in queue ${queueId}`;

/**
 * One item: read, cancel, delete (docs/protocol.md §5.2, §5.3), as each generation's route handles a missing item or
 * one of another queue (`routers/session_queue.py` at v5.15.0, v6.0.0, v6.7.0, v6.12.0, v6.14.0-rc1).
 */
export function queueItemRoutes(r: Router, ctx: SimContext): void {
  const { queue, profile } = ctx;
  const dump = itemView(ctx);
  const read = itemView(ctx, true);
  /** The row, or what the generation answers when there is none. */
  const row = (queueId: string, itemId: number): QueueItem => {
    const item = queue.get(itemId);
    if (item) return item;
    // ≤5.15: `get_queue_item` raises and nothing catches it (session_queue.py@v5.15.0).
    if (profile.missingItemIsFault) throw new SessionQueueItemNotFoundError(`No queue item with id ${itemId}`);
    throw new HttpError(404, notInQueue(queueId, itemId));
  };

  r.add('GET', '/queue/{queue_id}/i/{item_id}', ({ params }) => {
    const queueId = params['queue_id'] ?? '';
    const itemId = pathInt(params, 'item_id');
    const item = row(queueId, itemId);
    // 6.7+: the 404 for another queue is raised inside a catch-all `except Exception` → 500 quoting it (§5.2).
    if (item.queue_id !== queueId && profile.itemReadChecksQueue) throw new HttpError(500, `Unexpected error while fetching queue item: 404: ${notInQueue(queueId, itemId)}`);
    return { status: 200, json: read(item) };
  });

  r.add('PUT', '/queue/{queue_id}/i/{item_id}/cancel', ({ params }) => {
    const queueId = params['queue_id'] ?? '';
    const itemId = pathInt(params, 'item_id');
    const item = row(queueId, itemId);
    if (item.queue_id !== queueId && profile.itemWriteChecksQueue) throw new HttpError(404, notInQueue(queueId, itemId));
    queue.cancel(item);
    return { status: 200, json: dump(item) };
  });

  if (profile.queueDeleteRoutes) r.add('DELETE', '/queue/{queue_id}/i/{item_id}', ({ params }) => {
    const queueId = params['queue_id'] ?? '';
    const itemId = pathInt(params, 'item_id');
    const item = queue.get(itemId);
    // 6.0–6.11 cancel (a missing row is ignored) and then DELETE, which finds nothing: 200 null.
    if (!item && !profile.deleteMissingIs404) return { status: 200, json: null };
    if (!item || (item.queue_id !== queueId && profile.itemWriteChecksQueue)) throw new HttpError(404, notInQueue(queueId, itemId));
    queue.deleteItem(item);
    return { status: 200, json: null };
  });
}

/** Listings: ids, items by id, everything, the current and the next item. */
export function queueListRoutes(r: Router, ctx: SimContext): void {
  const { queue, profile } = ctx;
  const dump = itemView(ctx);
  if (profile.itemIdsRoute) {
    r.add('GET', '/queue/{queue_id}/item_ids', ({ params, query }) => {
      const dir = q.oneOf(query, 'order_dir', ['ASC', 'DESC'] as const) ?? 'DESC';
      const ids = queue.inQueue(params['queue_id'] ?? '').map((i) => i.item_id);
      if (dir === 'DESC') ids.reverse();
      return { status: 200, json: { item_ids: ids, total_count: ids.length } };
    });
    r.add('POST', '/queue/{queue_id}/items_by_ids', ({ params, body }) => {
      const ids = bodyList(bodyObject(body)['item_ids'], ['body', 'item_ids'], 'integer');
      const queueId = params['queue_id'] ?? '';
      const items = ids.map((id) => queue.get(id)).filter((i): i is QueueItem => i !== undefined && i.queue_id === queueId);
      return { status: 200, json: items.map(dump) };
    });
  }
  if (profile.listAllRoute) r.add('GET', '/queue/{queue_id}/list_all', ({ params, query }) => {
    const destination = query.get('destination');
    const items = queue.inQueue(params['queue_id'] ?? '').filter((i) => destination === null || i.destination === destination);
    return { status: 200, json: items.map(dump) };
  });
  r.add('GET', '/queue/{queue_id}/current', ({ params }) => {
    const item = queue.current(params['queue_id'] ?? '');
    return { status: 200, json: item ? dump(item) : null };
  });
  r.add('GET', '/queue/{queue_id}/next', ({ params }) => {
    const item = queue.next(params['queue_id'] ?? '');
    return { status: 200, json: item ? dump(item) : null };
  });
}
