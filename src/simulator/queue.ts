import { sqliteTime } from './clock';
import { expandBatch, type BatchJson, type NodeFieldValue } from './graph';
import { clone, stripNulls, type Json, type JsonObject } from './json';
import type { ProfileSpec } from './profiles';
import { dumpSession, newSession, type SessionState } from './session';
import { SYSTEM_USER } from './sockets';

export type QueueItemStatus = 'pending' | 'in_progress' | 'waiting' | 'completed' | 'failed' | 'canceled';
const TERMINAL: ReadonlySet<QueueItemStatus> = new Set(['completed', 'failed', 'canceled']);
export const isTerminal = (s: QueueItemStatus): boolean => TERMINAL.has(s);

/** One queue row (SQLite `session_queue` in the real server). */
export interface QueueItem {
  readonly item_id: number;
  readonly queue_id: string;
  status: QueueItemStatus;
  status_sequence: number;
  readonly priority: number;
  readonly batch_id: string;
  readonly origin: string | null;
  readonly destination: string | null;
  readonly session_id: string;
  error_type: string | null;
  error_message: string | null;
  error_traceback: string | null;
  readonly createdMs: number;
  updatedMs: number;
  startedMs: number | null;
  completedMs: number | null;
  readonly user_id: string;
  readonly field_values: NodeFieldValue[] | null;
  readonly retried_from_item_id: number | null;
  /** Child items of a saved-workflow call (6.14+, docs/protocol.md §5.2, §8.8); null on every other item. */
  readonly workflow_call_id: string | null;
  readonly parent_item_id: number | null;
  readonly parent_session_id: string | null;
  readonly root_item_id: number | null;
  readonly workflow_call_depth: number | null;
  /** As stored: the enqueue snapshot until the run writes the session back (docs/protocol.md §5.2). */
  session: SessionState;
  /** The session as the processor last wrote it, whatever the generation stores (3.x serves it at `/sessions/{id}`). */
  live?: SessionState;
  readonly workflow: Json;
}

export interface StatusCounts {
  pending: number;
  in_progress: number;
  waiting: number;
  completed: number;
  failed: number;
  canceled: number;
  total: number;
}

/** Receives every queue-level event; events.ts turns them into socket payloads. */
export interface QueueNotifier {
  statusChanged(item: QueueItem): void;
  batchEnqueued(queueId: string, batch: BatchJson, enqueued: number, requested: number, priority: number, userId?: string): void;
  itemsCanceled(queueId: string, itemIds: number[]): void;
  itemsRetried(queueId: string, itemIds: number[]): void;
  cleared(queueId: string): void;
}

export interface ErrorInfo {
  errorType: string;
  errorMessage: string;
  errorTraceback: string;
}

/** `max_queue_size` default. */
export const MAX_QUEUE_SIZE = 10000;

const NO_CALL = { workflow_call_id: null, parent_item_id: null, parent_session_id: null, root_item_id: null, workflow_call_depth: null } as const;

export class SessionQueue {
  private readonly items = new Map<number, QueueItem>();
  private nextId = 1;
  notifier: QueueNotifier | undefined;

  constructor(private readonly profile: ProfileSpec) {}

  get(itemId: number): QueueItem | undefined {
    return this.items.get(itemId);
  }

  /** Every item, oldest first. */
  all(): QueueItem[] {
    return [...this.items.values()];
  }

  inQueue(queueId: string): QueueItem[] {
    return this.all().filter((i) => i.queue_id === queueId);
  }

  current(queueId?: string): QueueItem | undefined {
    return this.all().find((i) => i.status === 'in_progress' && (queueId === undefined || i.queue_id === queueId));
  }

  /** The next item to run: highest priority, then oldest (the dequeue query). */
  next(queueId?: string): QueueItem | undefined {
    let best: QueueItem | undefined;
    for (const i of this.items.values()) {
      if (i.status !== 'pending' || (queueId !== undefined && i.queue_id !== queueId)) continue;
      if (!best || i.priority > best.priority) best = i;
    }
    return best;
  }

  /** `userId`: the caller, owner of the new items (`system` in single-user mode). */
  enqueue(queueId: string, batch: BatchJson, prepend: boolean, userId: string = SYSTEM_USER): JsonObject {
    const sessions = expandBatch(batch);
    const requested = sessions.length;
    const room = Math.max(0, MAX_QUEUE_SIZE - this.inQueue(queueId).filter((i) => !isTerminal(i.status)).length);
    const pendingPriorities = this.inQueue(queueId)
      .filter((i) => i.status === 'pending')
      .map((i) => i.priority);
    const priority = prepend ? Math.max(0, ...pendingPriorities) + 1 : 0;
    const now = Date.now();
    for (const { graph, fieldValues } of sessions.slice(0, room)) {
      const session = newSession(graph);
      this.insert({
        item_id: this.nextId++,
        queue_id: queueId,
        ...freshRun(now),
        priority,
        batch_id: batch.batch_id,
        origin: batch.origin,
        destination: batch.destination,
        session_id: session.id,
        user_id: userId,
        field_values: fieldValues,
        retried_from_item_id: null,
        ...NO_CALL,
        session,
        workflow: clone(batch.workflow),
      });
    }
    const enqueued = Math.min(room, requested);
    // Items start pending silently; only batch_enqueued is emitted (docs/protocol.md §2.2).
    this.notifier?.batchEnqueued(queueId, batch, enqueued, requested, priority, userId);
    const itemIds = this.all()
      .filter((i) => i.batch_id === batch.batch_id && i.queue_id === queueId)
      .map((i) => i.item_id)
      .sort((a, b) => b - a);
    const result: JsonObject = {
      queue_id: queueId,
      enqueued,
      requested,
      batch: {
        batch_id: batch.batch_id,
        origin: batch.origin,
        destination: batch.destination,
        data: batch.data,
        graph: batch.graph,
        workflow: batch.workflow,
        runs: batch.runs,
      },
      priority,
    };
    if (this.profile.itemIdsInEnqueueResult) result['item_ids'] = itemIds;
    return result;
  }

  private insert(item: QueueItem): void {
    this.items.set(item.item_id, item);
  }

  /**
   * `enqueue_workflow_call_child`: a new row in the parent's batch, with its priority, origin and owner, no workflow
   * and no field values; unlike a batch enqueue it announces itself with a `pending` status event.
   */
  enqueueChild(parent: QueueItem, session: SessionState, workflowCallId: string, depth: number): QueueItem {
    const now = Date.now();
    const child: QueueItem = {
      ...parent,
      item_id: this.nextId++,
      ...freshRun(now),
      session_id: session.id,
      field_values: null,
      retried_from_item_id: null,
      workflow_call_id: workflowCallId,
      parent_item_id: parent.item_id,
      parent_session_id: parent.session_id,
      root_item_id: parent.root_item_id ?? parent.item_id,
      workflow_call_depth: depth,
      session,
      workflow: null,
    };
    delete child.live;
    this.insert(child);
    this.notifier?.statusChanged(child);
    return child;
  }

  /**
   * `_get_workflow_call_chain_item_ids`: the item's ancestors (nearest first), the item, then every descendant of the
   * chain's root, breadth first.
   */
  chain(item: QueueItem): QueueItem[] {
    const ancestors: QueueItem[] = [];
    for (let p = item.parent_item_id; p !== null; ) {
      const up = this.items.get(p);
      if (!up) break;
      ancestors.push(up);
      p = up.parent_item_id;
    }
    const root = ancestors[ancestors.length - 1] ?? item;
    const descendants: QueueItem[] = [];
    for (let level = [root]; level.length > 0; ) {
      const ids = new Set(level.map((i) => i.item_id));
      level = this.all().filter((i) => i.parent_item_id !== null && ids.has(i.parent_item_id));
      descendants.push(...level);
    }
    return [...new Set([...ancestors, item, ...descendants])];
  }

  /** Chains of the running items: what the "except current" operations leave alone. */
  private currentChains(queueId: string): Set<QueueItem> {
    const running = this.inQueue(queueId).filter((i) => i.status === 'in_progress');
    // Between two members of a chain nothing runs: the next child of a waiting parent counts as current then.
    const next = running.length > 0 ? [] : this.inQueue(queueId).filter((i) => i.status === 'pending' && i.parent_item_id !== null && this.items.get(i.parent_item_id)?.status === 'waiting').slice(0, 1);
    return new Set([...running, ...next].flatMap((i) => this.chain(i)));
  }

  /**
   * `_transition_queue_item_status`: bumps `status_sequence`, sets SQL-trigger timestamps and emits
   * `queue_item_status_changed`; a terminal item does not move and emits nothing (docs/protocol.md §2.2).
   */
  transition(item: QueueItem, status: QueueItemStatus, error?: ErrorInfo, silent = false): boolean {
    if (isTerminal(item.status) || item.status === status) return false;
    const now = Date.now();
    item.status = status;
    item.status_sequence++;
    item.updatedMs = now;
    if (status === 'in_progress') item.startedMs = now;
    if (isTerminal(status)) item.completedMs = now;
    if (error) {
      item.error_type = error.errorType;
      item.error_message = error.errorMessage;
      item.error_traceback = error.errorTraceback;
    }
    if (!silent) this.notifier?.statusChanged(item);
    return true;
  }

  /** `cancel_queue_item`: the whole saved-workflow call chain, one status event per member that moves. */
  cancel(item: QueueItem): void {
    for (const i of this.chain(item)) this.transition(i, 'canceled');
  }

  /** `cancel_all_except_current`: pending and waiting items outside the running chains. */
  cancelAllExceptCurrent(queueId: string): number {
    const keep = this.currentChains(queueId);
    return this.cancelWhere(queueId, (i) => (i.status === 'pending' || i.status === 'waiting') && !keep.has(i));
  }

  deleteAllExceptCurrent(queueId: string): number {
    const keep = this.currentChains(queueId);
    return this.deleteWhere(queueId, (i) => (i.status === 'pending' || i.status === 'waiting') && !keep.has(i));
  }

  /**
   * Bulk cancel: pending items change silently and are announced by one `queue_items_canceled`
   * (HEAD); a running item gets its own status event (docs/protocol.md §2.3, §8.5).
   */
  cancelWhere(queueId: string, pred: (i: QueueItem) => boolean): number {
    const hit = this.inQueue(queueId).filter((i) => !isTerminal(i.status) && pred(i));
    const pendingIds: number[] = [];
    for (const i of hit) {
      if (i.status === 'in_progress') this.transition(i, 'canceled');
      else if (this.transition(i, 'canceled', undefined, true)) pendingIds.push(i.item_id);
    }
    if (pendingIds.length > 0 && this.profile.queueItemsCanceledEvent) this.notifier?.itemsCanceled(queueId, pendingIds);
    return hit.length;
  }

  /** `delete_queue_item`: the chain is canceled if any member still runs, then every member goes. */
  deleteItem(item: QueueItem): void {
    const chain = this.chain(item);
    if (chain.some((i) => !isTerminal(i.status))) this.cancel(item);
    for (const i of chain) this.items.delete(i.item_id);
  }

  deleteWhere(queueId: string, pred: (i: QueueItem) => boolean): number {
    const hit = this.inQueue(queueId).filter(pred);
    this.cancelWhere(queueId, (i) => hit.includes(i));
    for (const i of hit) this.items.delete(i.item_id);
    return hit.length;
  }

  /** `PUT clear`: the running item is canceled (status event), then every row goes; one `queue_cleared`. */
  clear(queueId: string): number {
    const all = this.inQueue(queueId);
    for (const i of all) if (i.status === 'in_progress') this.transition(i, 'canceled');
    for (const i of all) this.items.delete(i.item_id);
    this.notifier?.cleared(queueId);
    return all.length;
  }

  prune(queueId: string): number {
    const done = this.inQueue(queueId).filter((i) => isTerminal(i.status));
    for (const i of done) this.items.delete(i.item_id);
    return done.length;
  }

  /**
   * `retry_items_by_id`: failed/canceled items get new rows (new item and session ids, same batch);
   * only `queue_items_retried` with the original ids is emitted (docs/protocol.md §8.7).
   */
  retry(queueId: string, itemIds: number[]): number[] {
    const retried: number[] = [];
    const now = Date.now();
    for (const id of itemIds) {
      const member = this.items.get(id);
      if (!member || member.queue_id !== queueId || (member.status !== 'failed' && member.status !== 'canceled')) continue;
      // A member of a saved-workflow call chain retries the chain's root, once (6.14+).
      const orig = this.items.get(member.root_item_id ?? member.item_id);
      if (!orig || retried.includes(orig.item_id) || (orig.status !== 'failed' && orig.status !== 'canceled')) continue;
      const session = newSession(clone(orig.session.graph));
      this.insert({
        ...orig,
        item_id: this.nextId++,
        ...freshRun(now),
        session_id: session.id,
        session,
        field_values: orig.field_values && orig.field_values.length > 0 ? clone(orig.field_values) : null,
        retried_from_item_id: orig.retried_from_item_id ?? orig.item_id,
        ...NO_CALL,
      });
      retried.push(orig.item_id);
    }
    if (retried.length > 0) this.notifier?.itemsRetried(queueId, retried);
    return retried;
  }

  /**
   * What the real server does at start: running items become canceled without events; old servers
   * also deleted every finished item (docs/protocol.md §6.1).
   */
  startupRecovery(): void {
    // A call chain goes as a whole: its pending children too.
    const stopped = this.all().filter((i) => i.status === 'in_progress' || i.status === 'waiting');
    for (const i of new Set(stopped.flatMap((s) => this.chain(s)))) if (!isTerminal(i.status)) this.transition(i, 'canceled', undefined, true);
    if (this.profile.startupPrune) for (const i of this.all()) if (isTerminal(i.status)) this.items.delete(i.item_id);
  }

  counts(items: Iterable<QueueItem>): StatusCounts {
    const c: StatusCounts = { pending: 0, in_progress: 0, waiting: 0, completed: 0, failed: 0, canceled: 0, total: 0 };
    for (const i of items) {
      c[i.status]++;
      c.total++;
    }
    return c;
  }

  /** `SessionQueueStatus`; `user_pending`/`user_in_progress` count `userId`'s items. */
  queueStatus(queueId: string, userId: string = SYSTEM_USER): JsonObject {
    const items = this.inQueue(queueId);
    const cur = items.find((i) => i.status === 'in_progress');
    const out: JsonObject = {
      queue_id: queueId,
      item_id: cur?.item_id ?? null,
      batch_id: cur?.batch_id ?? null,
      session_id: cur?.session_id ?? null,
      ...this.counts(items),
    };
    if (this.profile.userQueueCounts) {
      const own = this.counts(items.filter((i) => i.user_id === userId));
      out['user_pending'] = own.pending;
      out['user_in_progress'] = own.in_progress;
    }
    return out;
  }

  /** `BatchStatus`. */
  batchStatus(queueId: string, batchId: string): JsonObject {
    const items = this.inQueue(queueId).filter((i) => i.batch_id === batchId);
    return {
      queue_id: queueId,
      batch_id: batchId,
      origin: items[0]?.origin ?? null,
      destination: items[0]?.destination ?? null,
      ...this.counts(items),
    };
  }

  /** `SessionQueueItem` model dump; `excludeNone` for the routes that set `response_model_exclude_none`. */
  dump(item: QueueItem, excludeNone: boolean): JsonObject {
    const p = this.profile;
    const out: JsonObject = {
      item_id: item.item_id,
      status: item.status,
      ...(p.statusSequence ? { status_sequence: item.status_sequence } : {}),
      priority: item.priority,
      batch_id: item.batch_id,
      origin: item.origin,
      destination: item.destination,
      session_id: item.session_id,
      error_type: item.error_type,
      error_message: item.error_message,
      error_traceback: item.error_traceback,
      ...itemTimes(item),
      queue_id: item.queue_id,
      user_id: item.user_id,
      user_display_name: 'System',
      user_email: 'system@system.invokeai',
      field_values: item.field_values,
      retried_from_item_id: item.retried_from_item_id,
      device: null,
      ...(p.workflowCallFields
        ? {
            workflow_call_id: item.workflow_call_id,
            parent_item_id: item.parent_item_id,
            parent_session_id: item.parent_session_id,
            root_item_id: item.root_item_id,
            workflow_call_depth: item.workflow_call_depth,
          }
        : {}),
      session: dumpSession(item.session, p),
      workflow: item.workflow,
    };
    return excludeNone ? (stripNulls(out) as JsonObject) : out;
  }
}

/** What every new queue row starts with: pending, sequence 0, no error, no run times. */
function freshRun(now: number): Pick<QueueItem, 'status' | 'status_sequence' | 'error_type' | 'error_message' | 'error_traceback' | 'createdMs' | 'updatedMs' | 'startedMs' | 'completedMs'> {
  return {
    status: 'pending',
    status_sequence: 0,
    error_type: null,
    error_message: null,
    error_traceback: null,
    createdMs: now,
    updatedMs: now,
    startedMs: null,
    completedMs: null,
  };
}

/** A row's times as the server serialises them (SQLite text, UTC, docs/protocol.md §2.2); started/completed null until set. */
export function itemTimes(item: Pick<QueueItem, 'createdMs' | 'updatedMs' | 'startedMs' | 'completedMs'>): JsonObject {
  return {
    created_at: sqliteTime(item.createdMs),
    updated_at: sqliteTime(item.updatedMs),
    started_at: item.startedMs === null ? null : sqliteTime(item.startedMs),
    completed_at: item.completedMs === null ? null : sqliteTime(item.completedMs),
  };
}
