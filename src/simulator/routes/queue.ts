import type { SimContext } from '../context';
import { nodeTypeKnown } from '../catalog';
import { parseEnqueueBody } from '../graph';
import { Unprocessable, type Router } from '../router';
import { legacyListRoutes } from './legacy';
import { queueBulkRoutes } from './queueBulk';
import { queueItemRoutes, queueListRoutes } from './queueItems';
import { queueStatusRoutes } from './queueStatus';

/** Queue routes (docs/protocol.md §5.1–§5.3). Item reads set `response_model_exclude_none`. */
export function queueRoutes(r: Router, ctx: SimContext): void {
  const { queue, processor, profile } = ctx;
  r.add('POST', '/queue/{queue_id}/enqueue_batch', ({ params, body, caller }) => {
    const parsed = parseEnqueueBody(body, (t) => nodeTypeKnown(t, profile));
    if (!parsed.ok) throw new Unprocessable(parsed.detail);
    const result = queue.enqueue(params['queue_id'] ?? 'default', parsed.batch, parsed.prepend, caller.userId);
    processor.kick();
    return { status: 200, json: result };
  });
  queueItemRoutes(r, ctx);
  legacyListRoutes(r, ctx);
  queueListRoutes(r, ctx);
  queueStatusRoutes(r, ctx);
  queueBulkRoutes(r, ctx);
}
