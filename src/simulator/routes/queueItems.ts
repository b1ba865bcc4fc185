import type { SimContext } from '../context';
import { itemForGeneration } from '../generations';
import type { QueueItem } from '../queue';
import { HttpError, pathInt, q, type Router } from '../router';
import { bodyList, bodyObject } from './body';

/** A queue item as this generation's item routes answer it (nulls omitted). */
export const itemView =
  (ctx: SimContext) =>
  (i: QueueItem): unknown =>
    itemForGeneration(ctx.queue.dump(i, true), ctx.profile);

/** One item: read, cancel, delete (docs/protocol.md §5.2, §5.3). */
export function queueItemRoutes(r: Router, ctx: SimContext): void {
  const { queue } = ctx;
  const dump = itemView(ctx);
  const itemIn = (queueId: string, itemId: number): QueueItem => {
    const item = queue.get(itemId);
    if (!item || item.queue_id !== queueId) throw new HttpError(404, `Queue item with id ${itemId} not found in queue ${queueId}`);
    return item;
  };

  r.add('GET', '/queue/{queue_id}/i/{item_id}', ({ params }) => {
    const queueId = params['queue_id'] ?? '';
    const itemId = pathInt(params, 'item_id');
    const item = queue.get(itemId);
    if (!item) throw new HttpError(404, `Queue item with id ${itemId} not found in queue ${queueId}`);
    // The route's 404 for another queue is raised inside a catch-all `except Exception` → 500 (docs/protocol.md §5.2).
    if (item.queue_id !== queueId)
      throw new HttpError(500, `Unexpected error while fetching queue item: 404: Queue item with id ${itemId} not found in queue ${queueId}`);
    return { status: 200, json: dump(item) };
  });

  r.add('PUT', '/queue/{queue_id}/i/{item_id}/cancel', ({ params }) => {
    const item = itemIn(params['queue_id'] ?? '', pathInt(params, 'item_id'));
    queue.cancel(item);
    return { status: 200, json: dump(item) };
  });

  r.add('DELETE', '/queue/{queue_id}/i/{item_id}', ({ params }) => {
    const item = itemIn(params['queue_id'] ?? '', pathInt(params, 'item_id'));
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
  r.add('GET', '/queue/{queue_id}/list_all', ({ params, query }) => {
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
