import type { SimContext } from '../context';
import { q, type Router } from '../router';

/** Counts: queue, batch and destination status; the processor switch (docs/protocol.md §5.3). */
export function queueStatusRoutes(r: Router, ctx: SimContext): void {
  const { queue, processor } = ctx;
  const processorStatus = (): { is_started: boolean; is_processing: boolean } => ({ is_started: processor.isStarted, is_processing: processor.isProcessing });

  r.add('GET', '/queue/{queue_id}/status', ({ params }) => ({
    status: 200,
    json: { queue: queue.queueStatus(params['queue_id'] ?? ''), processor: processorStatus() },
  }));

  r.add('GET', '/queue/{queue_id}/b/{batch_id}/status', ({ params }) => ({
    status: 200,
    json: queue.batchStatus(params['queue_id'] ?? '', params['batch_id'] ?? ''),
  }));

  r.add('GET', '/queue/{queue_id}/counts_by_destination', ({ params, query }) => {
    const queueId = params['queue_id'] ?? '';
    const destination = q.required(query, 'destination');
    const counts = queue.counts(queue.inQueue(queueId).filter((i) => i.destination === destination));
    return { status: 200, json: { queue_id: queueId, destination, ...counts } };
  });

  r.add('PUT', '/queue/{queue_id}/processor/pause', () => {
    processor.pause();
    return { status: 200, json: processorStatus() };
  });

  r.add('PUT', '/queue/{queue_id}/processor/resume', () => {
    processor.resume();
    return { status: 200, json: processorStatus() };
  });
}
