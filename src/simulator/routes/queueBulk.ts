import type { SimContext } from '../context';
import { q, type Router } from '../router';
import { bodyList, bodyObject } from './body';

/**
 * Operations on many items: cancel and delete by batch, destination or all, retry, clear, prune (docs/protocol.md §5.3);
 * each where its generation has it (`routers/session_queue.py` at 3.7.0, v5.0.0, v5.7.0, v6.0.0).
 */
export function queueBulkRoutes(r: Router, ctx: SimContext): void {
  const { queue, processor, profile } = ctx;

  r.add('PUT', '/queue/{queue_id}/cancel_by_batch_ids', ({ params, body }) => {
    const batchIds = bodyList(bodyObject(body)['batch_ids'], ['body', 'batch_ids'], 'string');
    const canceled = queue.cancelWhere(params['queue_id'] ?? '', (i) => batchIds.includes(i.batch_id));
    return { status: 200, json: { canceled } };
  });

  if (profile.destinationRoutes) r.add('PUT', '/queue/{queue_id}/cancel_by_destination', ({ params, query }) => {
    const destination = q.required(query, 'destination');
    const canceled = queue.cancelWhere(params['queue_id'] ?? '', (i) => i.destination === destination);
    return { status: 200, json: { canceled } };
  });

  if (profile.retryRoutes) r.add('PUT', '/queue/{queue_id}/cancel_all_except_current', ({ params }) => {
    const canceled = queue.cancelAllExceptCurrent(params['queue_id'] ?? '');
    return { status: 200, json: { canceled } };
  });

  if (profile.queueDeleteRoutes) r.add('PUT', '/queue/{queue_id}/delete_all_except_current', ({ params }) => {
    const deleted = queue.deleteAllExceptCurrent(params['queue_id'] ?? '');
    return { status: 200, json: { deleted } };
  });

  if (profile.queueDeleteRoutes) r.add('DELETE', '/queue/{queue_id}/d/{destination}', ({ params }) => {
    const deleted = queue.deleteWhere(params['queue_id'] ?? '', (i) => i.destination === params['destination']);
    return { status: 200, json: { deleted } };
  });

  if (profile.retryRoutes) r.add('PUT', '/queue/{queue_id}/retry_items_by_id', ({ params, body }) => {
    const queueId = params['queue_id'] ?? '';
    const ids = bodyList(body, ['body'], 'integer');
    const retried = queue.retry(queueId, ids);
    processor.kick();
    return { status: 200, json: { queue_id: queueId, retried_item_ids: retried } };
  });

  r.add('PUT', '/queue/{queue_id}/clear', ({ params }) => ({ status: 200, json: { deleted: queue.clear(params['queue_id'] ?? '') } }));

  r.add('PUT', '/queue/{queue_id}/prune', ({ params }) => ({ status: 200, json: { deleted: queue.prune(params['queue_id'] ?? '') } }));
}
