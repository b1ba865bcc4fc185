import type { SimContext } from '../context';
import { itemForGeneration } from '../generations';
import { dumpSession } from '../session';
import { HttpError, q, type Router } from '../router';

/** Routes only older generations had (docs/protocol.md §5.3, §6.1): the paged queue list (≤ 6.6) and the sessions API (3.x). */
export function legacyListRoutes(r: Router, ctx: SimContext): void {
  const { queue, profile } = ctx;

  // Ordered like the server's list: priority first, then item id; the cursor is the last item id seen.
  r.add('GET', '/queue/{queue_id}/list', ({ params, query }) => {
    const limit = q.int(query, 'limit') ?? 50;
    const cursor = q.int(query, 'cursor');
    const status = query.get('status');
    const items = queue
      .inQueue(params['queue_id'] ?? '')
      .filter((i) => status === null || i.status === status)
      .sort((a, b) => b.priority - a.priority || a.item_id - b.item_id)
      .filter((i) => cursor === undefined || i.item_id > cursor);
    const page = items.slice(0, limit).map((i) => {
      const { session: _session, workflow: _workflow, ...dto } = itemForGeneration(queue.dump(i, false), profile);
      return dto;
    });
    return { status: 200, json: { limit, has_more: items.length > limit, items: page } };
  });

  if (profile.sessionsRoute) {
    r.add('GET', '/sessions/{session_id}', ({ params }) => {
      const item = queue.all().find((i) => i.session_id === params['session_id']);
      if (!item) throw new HttpError(404, 'Session not found');
      return { status: 200, json: dumpSession(item.live ?? item.session, profile) };
    });
  }
}
