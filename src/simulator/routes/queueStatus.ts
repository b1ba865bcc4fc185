import type { SimContext } from '../context';
import { countsFor, type StatusViewer } from '../queueCounts';
import { q, type Caller, type Router } from '../router';

/** Counts: queue, batch and destination status; the processor switch (docs/protocol.md §5.3). */
export function queueStatusRoutes(r: Router, ctx: SimContext): void {
  const { queue, processor, profile } = ctx;
  const processorStatus = (): { is_started: boolean; is_processing: boolean } => ({ is_started: processor.isStarted, is_processing: processor.isProcessing });

  // HEAD counts every caller's own items; 6.13.5–6.13.8 only a non-admin's. Non-admins see only their own current item.
  r.add('GET', '/queue/{queue_id}/status', ({ params, caller }) => {
    const own = profile.adminRouteUserCounts || !caller.isAdmin ? { countsOf: caller.userId } : {};
    const viewer: StatusViewer = { ...own, ...(caller.isAdmin ? {} : { currentFor: caller.userId }) };
    return { status: 200, json: { queue: queue.queueStatus(params['queue_id'] ?? '', viewer), processor: processorStatus() } };
  });

  // Non-admins: counts of their own items only (routers/session_queue.py@HEAD).
  const ownerFilter = (caller: Caller): string | undefined => (caller.isAdmin ? undefined : caller.userId);

  r.add('GET', '/queue/{queue_id}/b/{batch_id}/status', ({ params, caller }) => ({
    status: 200,
    json: queue.batchStatus(params['queue_id'] ?? '', params['batch_id'] ?? '', ownerFilter(caller)),
  }));

  if (profile.destinationRoutes) r.add('GET', '/queue/{queue_id}/counts_by_destination', ({ params, query, caller }) => {
    const queueId = params['queue_id'] ?? '';
    const destination = q.required(query, 'destination');
    const user = ownerFilter(caller);
    const items = queue.inQueue(queueId).filter((i) => i.destination === destination && (user === undefined || i.user_id === user));
    return { status: 200, json: { queue_id: queueId, destination, ...countsFor(items, profile) } };
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
