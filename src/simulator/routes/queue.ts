import type { SimContext } from '../context';
import { nodeTypeKnown } from '../catalog';
import { parseEnqueueBody } from '../graph';
import type { QueueItem } from '../queue';
import { HttpError, pathInt, q, Unprocessable, type Router } from '../router';
import { bodyList, bodyObject } from './body';
import { itemForGeneration } from '../generations';
import { legacyListRoutes } from './legacy';

/** Queue routes (docs/protocol.md §5.1–§5.3). Item reads set `response_model_exclude_none`. */
export function queueRoutes(r: Router, ctx: SimContext): void {
  const { queue, processor, profile } = ctx;
  const dump = (i: QueueItem): unknown => itemForGeneration(queue.dump(i, true), profile);

  const itemIn = (queueId: string, itemId: number): QueueItem => {
    const item = queue.get(itemId);
    if (!item || item.queue_id !== queueId) throw new HttpError(404, `Queue item with id ${itemId} not found in queue ${queueId}`);
    return item;
  };

  r.add('POST', '/queue/{queue_id}/enqueue_batch', ({ params, body, caller }) => {
    const parsed = parseEnqueueBody(body, (t) => nodeTypeKnown(t, profile));
    if (!parsed.ok) throw new Unprocessable(parsed.detail);
    const result = queue.enqueue(params['queue_id'] ?? 'default', parsed.batch, parsed.prepend, caller.userId);
    processor.kick();
    return { status: 200, json: result };
  });

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

  if (!profile.itemIdsRoute) legacyListRoutes(r, ctx);
  if (profile.itemIdsRoute) r.add('GET', '/queue/{queue_id}/item_ids', ({ params, query }) => {
    const dir = q.oneOf(query, 'order_dir', ['ASC', 'DESC'] as const) ?? 'DESC';
    const ids = queue.inQueue(params['queue_id'] ?? '').map((i) => i.item_id);
    if (dir === 'DESC') ids.reverse();
    return { status: 200, json: { item_ids: ids, total_count: ids.length } };
  });

  if (profile.itemIdsRoute) r.add('POST', '/queue/{queue_id}/items_by_ids', ({ params, body }) => {
    const ids = bodyList(bodyObject(body)['item_ids'], ['body', 'item_ids'], 'integer');
    const queueId = params['queue_id'] ?? '';
    const items = ids.map((id) => queue.get(id)).filter((i): i is QueueItem => i !== undefined && i.queue_id === queueId);
    return { status: 200, json: items.map(dump) };
  });

  r.add('GET', '/queue/{queue_id}/list_all', ({ params, query }) => {
    const destination = query.get('destination');
    const items = queue.inQueue(params['queue_id'] ?? '').filter((i) => destination === null || i.destination === destination);
    return { status: 200, json: items.map(dump) };
  });

  r.add('GET', '/queue/{queue_id}/status', ({ params }) => ({
    status: 200,
    json: { queue: queue.queueStatus(params['queue_id'] ?? ''), processor: { is_started: processor.isStarted, is_processing: processor.isProcessing } },
  }));

  r.add('GET', '/queue/{queue_id}/b/{batch_id}/status', ({ params }) => ({
    status: 200,
    json: queue.batchStatus(params['queue_id'] ?? '', params['batch_id'] ?? ''),
  }));

  r.add('GET', '/queue/{queue_id}/current', ({ params }) => {
    const item = queue.current(params['queue_id'] ?? '');
    return { status: 200, json: item ? dump(item) : null };
  });

  r.add('GET', '/queue/{queue_id}/next', ({ params }) => {
    const item = queue.next(params['queue_id'] ?? '');
    return { status: 200, json: item ? dump(item) : null };
  });

  r.add('GET', '/queue/{queue_id}/counts_by_destination', ({ params, query }) => {
    const queueId = params['queue_id'] ?? '';
    const destination = q.required(query, 'destination');
    const counts = queue.counts(queue.inQueue(queueId).filter((i) => i.destination === destination));
    return { status: 200, json: { queue_id: queueId, destination, ...counts } };
  });

  r.add('PUT', '/queue/{queue_id}/cancel_by_batch_ids', ({ params, body }) => {
    const batchIds = bodyList(bodyObject(body)['batch_ids'], ['body', 'batch_ids'], 'string');
    const canceled = queue.cancelWhere(params['queue_id'] ?? '', (i) => batchIds.includes(i.batch_id));
    return { status: 200, json: { canceled } };
  });

  r.add('PUT', '/queue/{queue_id}/cancel_by_destination', ({ params, query }) => {
    const destination = q.required(query, 'destination');
    const canceled = queue.cancelWhere(params['queue_id'] ?? '', (i) => i.destination === destination);
    return { status: 200, json: { canceled } };
  });

  r.add('PUT', '/queue/{queue_id}/cancel_all_except_current', ({ params }) => {
    const canceled = queue.cancelAllExceptCurrent(params['queue_id'] ?? '');
    return { status: 200, json: { canceled } };
  });

  r.add('PUT', '/queue/{queue_id}/delete_all_except_current', ({ params }) => {
    const deleted = queue.deleteAllExceptCurrent(params['queue_id'] ?? '');
    return { status: 200, json: { deleted } };
  });

  r.add('DELETE', '/queue/{queue_id}/d/{destination}', ({ params }) => {
    const deleted = queue.deleteWhere(params['queue_id'] ?? '', (i) => i.destination === params['destination']);
    return { status: 200, json: { deleted } };
  });

  r.add('PUT', '/queue/{queue_id}/retry_items_by_id', ({ params, body }) => {
    const queueId = params['queue_id'] ?? '';
    const ids = bodyList(body, ['body'], 'integer');
    const retried = queue.retry(queueId, ids);
    processor.kick();
    return { status: 200, json: { queue_id: queueId, retried_item_ids: retried } };
  });

  r.add('PUT', '/queue/{queue_id}/clear', ({ params }) => ({ status: 200, json: { deleted: queue.clear(params['queue_id'] ?? '') } }));

  r.add('PUT', '/queue/{queue_id}/prune', ({ params }) => ({ status: 200, json: { deleted: queue.prune(params['queue_id'] ?? '') } }));

  r.add('PUT', '/queue/{queue_id}/processor/pause', () => {
    processor.pause();
    return { status: 200, json: { is_started: processor.isStarted, is_processing: processor.isProcessing } };
  });

  r.add('PUT', '/queue/{queue_id}/processor/resume', () => {
    processor.resume();
    return { status: 200, json: { is_started: processor.isStarted, is_processing: processor.isProcessing } };
  });

}
