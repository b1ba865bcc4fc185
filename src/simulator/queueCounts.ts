import type { JsonObject } from './json';
import type { ProfileSpec } from './profiles';
import type { QueueItem } from './queueRow';

export interface StatusCounts {
  pending: number;
  in_progress: number;
  waiting: number;
  completed: number;
  failed: number;
  canceled: number;
  total: number;
}

export function countStatuses(items: Iterable<QueueItem>): StatusCounts {
  const c: StatusCounts = { pending: 0, in_progress: 0, waiting: 0, completed: 0, failed: 0, canceled: 0, total: 0 };
  for (const i of items) {
    c[i.status]++;
    c.total++;
  }
  return c;
}

/** `SessionQueueStatus` of a queue's items; `user_pending`/`user_in_progress` count `userId`'s items. */
export function queueStatusOf(items: readonly QueueItem[], queueId: string, userId: string, profile: ProfileSpec): JsonObject {
  const cur = items.find((i) => i.status === 'in_progress');
  const out: JsonObject = {
    queue_id: queueId,
    item_id: cur?.item_id ?? null,
    batch_id: cur?.batch_id ?? null,
    session_id: cur?.session_id ?? null,
    ...countStatuses(items),
  };
  if (profile.userQueueCounts) {
    const own = countStatuses(items.filter((i) => i.user_id === userId));
    out['user_pending'] = own.pending;
    out['user_in_progress'] = own.in_progress;
  }
  return out;
}

/** `BatchStatus` of one batch's items. */
export function batchStatusOf(items: readonly QueueItem[], queueId: string, batchId: string): JsonObject {
  return {
    queue_id: queueId,
    batch_id: batchId,
    origin: items[0]?.origin ?? null,
    destination: items[0]?.destination ?? null,
    ...countStatuses(items),
  };
}
