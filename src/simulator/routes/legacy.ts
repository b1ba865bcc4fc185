import type { SimContext } from '../context';
import { itemForGeneration } from '../generations';
import type { JsonObject } from '../json';
import { listPage, type ListQuery } from '../queueList';
import type { QueueItem } from '../queue';
import { dumpSession } from '../session';
import { HttpError, q, type Router } from '../router';

/** `QUEUE_ITEM_STATUS` of the generations that had the list (no `waiting` before 6.14). */
const LIST_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'canceled'] as const;

function listQuery(queueId: string, query: URLSearchParams, destinations: boolean): ListQuery {
  const status = q.literal(query, 'status', LIST_STATUSES);
  const cursor = q.int(query, 'cursor');
  const destination = destinations ? query.get('destination') : null;
  return {
    queueId,
    limit: q.int(query, 'limit') ?? 50,
    priority: q.int(query, 'priority') ?? 0,
    ...(cursor === undefined ? {} : { cursor }),
    ...(status === undefined ? {} : { status }),
    ...(destination === null ? {} : { destination }),
  };
}

/**
 * One list row: `SessionQueueItemDTO` (≤5.15) is the columns the query selects plus the model's defaults, so
 * `retried_from_item_id` is always null there; 6.0–6.6 list whole `SessionQueueItem`s. Nulls are sent.
 */
function listRow(ctx: SimContext, item: QueueItem): JsonObject {
  const full = itemForGeneration(ctx.queue.dump(item, false), ctx.profile);
  if (ctx.profile.listRoute === 'full') return full;
  const { session: _session, workflow: _workflow, ...dto } = full;
  if ('retried_from_item_id' in dto) dto['retried_from_item_id'] = null;
  return dto;
}

/**
 * Routes only older generations had (docs/protocol.md §5.3, §6.1): the cursor-paged queue list (3.2–6.6, `list_queue_items`
 * in routers/session_queue.py@v5.15.0 and @v6.6.0) and the sessions API (3.x).
 */
export function legacyListRoutes(r: Router, ctx: SimContext): void {
  const { queue, profile } = ctx;
  if (profile.listRoute !== 'none')
    r.add('GET', '/queue/{queue_id}/list', ({ params, query }) => {
      const lq = listQuery(params['queue_id'] ?? '', query, profile.listRoute === 'full');
      let result: ReturnType<typeof listPage>;
      try {
        result = listPage(queue.all(), lq);
      } catch (err) {
        // 6.x wraps every failure of the route; before, it goes up to Starlette's plain 500 (rethrown).
        if (profile.listRoute !== 'full') throw err;
        throw new HttpError(500, `Unexpected error while listing all items: ${String(err).replace(/^Error: IndexError: /, '')}`);
      }
      return { status: 200, json: { limit: lq.limit, has_more: result.hasMore, items: result.page.map((i) => listRow(ctx, i)) } };
    });

  if (profile.sessionsRoute)
    r.add('GET', '/sessions/{session_id}', ({ params }) => {
      // `ItemStorageMemory.get` raises `ItemNotFoundError`, which the route does not catch (sessions.py@3.7.0): a 500.
      const session = ctx.sessions.get(params['session_id'] ?? '');
      if (!session) throw new Error(`ItemNotFoundError: ${params['session_id'] ?? ''}`);
      return { status: 200, json: dumpSession(session, profile) };
    });
}
