import type { QueueItem } from './queueRow';

/** The query of `GET /queue/{q}/list` once FastAPI parsed it. */
export interface ListQuery {
  readonly queueId: string;
  readonly limit: number;
  /** The cursor item's priority. @default 0 */
  readonly priority: number;
  readonly cursor?: number;
  readonly status?: string;
  /** 6.0–6.6 only. */
  readonly destination?: string;
}

/**
 * The rows `list_queue_items` selects (session_queue_sqlite.py@v5.15.0, same SQL at v3.2.0 and v6.6.0):
 * `WHERE queue_id = ? [AND status = ?] [AND destination = ?] AND (priority < ?) OR (priority = ? AND item_id > ?)`,
 * `ORDER BY priority DESC, item_id ASC LIMIT limit + 1`. AND binds tighter than OR, so once a cursor is given the
 * second branch matches rows of every queue, status and destination. A negative SQLite LIMIT means no limit.
 * Throws when the server's `items.pop()` would (LIMIT 0 with `limit` -1: an empty list is "more").
 */
export function listPage(items: Iterable<QueueItem>, q: ListQuery): { page: QueueItem[]; hasMore: boolean } {
  const filtered = (i: QueueItem): boolean =>
    i.queue_id === q.queueId && (q.status === undefined || i.status === q.status) && (q.destination === undefined || i.destination === q.destination);
  const { cursor } = q;
  const where = (i: QueueItem): boolean =>
    cursor === undefined ? filtered(i) : (filtered(i) && i.priority < q.priority) || (i.priority === q.priority && i.item_id > cursor);
  const rows = [...items].filter(where).sort((a, b) => b.priority - a.priority || a.item_id - b.item_id);
  const sqlLimit = q.limit + 1;
  const page = sqlLimit < 0 ? rows : rows.slice(0, sqlLimit);
  if (page.length <= q.limit) return { page, hasMore: false };
  if (page.length === 0) throw new Error('IndexError: pop from empty list');
  page.pop();
  return { page, hasMore: true };
}
