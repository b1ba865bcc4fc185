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

/** The counts as the generation's models have them: `waiting` only from 6.14 (session_queue_common.py@v6.14.0-rc1). */
export function countsFor(items: Iterable<QueueItem>, profile: ProfileSpec): JsonObject {
  const { waiting, ...rest } = countStatuses(items);
  const { pending, in_progress, completed, failed, canceled, total } = rest;
  return profile.waitingStatus ? { pending, in_progress, waiting, completed, failed, canceled, total } : { pending, in_progress, completed, failed, canceled, total };
}

/** Who a `SessionQueueStatus` is computed for (`get_queue_status(user_id, acting_user_id, is_admin)`). */
export interface StatusViewer {
  /** Whose `user_pending`/`user_in_progress` to count; undefined leaves them null. */
  readonly countsOf?: string;
  /** Who may see the current item's ids: undefined = everyone, else its owner only. */
  readonly currentFor?: string;
}

/**
 * `SessionQueueStatus` of a queue's items: global counts, the current item's ids when the viewer may see them, and
 * (6.13.5+) the viewer's own pending/in-progress counts (session_queue_sqlite.py@HEAD, @v6.13.8).
 */
export function queueStatusOf(items: readonly QueueItem[], queueId: string, viewer: StatusViewer, profile: ProfileSpec): JsonObject {
  const cur = items.find((i) => i.status === 'in_progress');
  const shown = cur !== undefined && (viewer.currentFor === undefined || cur.user_id === viewer.currentFor) ? cur : undefined;
  const out: JsonObject = {
    queue_id: queueId,
    item_id: shown?.item_id ?? null,
    batch_id: shown?.batch_id ?? null,
    session_id: shown?.session_id ?? null,
    ...countsFor(items, profile),
  };
  if (profile.userQueueCounts) {
    const own = viewer.countsOf === undefined ? undefined : countStatuses(items.filter((i) => i.user_id === viewer.countsOf));
    out['user_pending'] = own?.pending ?? null;
    out['user_in_progress'] = own?.in_progress ?? null;
  }
  return out;
}

/** `BatchStatus` of one batch's items; `origin`/`destination` (5.0+) from its first row. */
export function batchStatusOf(items: readonly QueueItem[], queueId: string, batchId: string, profile: ProfileSpec): JsonObject {
  const where = profile.originDestination ? { origin: items[0]?.origin ?? null, destination: items[0]?.destination ?? null } : {};
  return { queue_id: queueId, batch_id: batchId, ...where, ...countsFor(items, profile) };
}
