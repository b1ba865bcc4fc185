import { expandBatch, type BatchJson } from './graph';
import { clone, type JsonObject } from './json';
import type { ProfileSpec } from './profiles';
import { batchStatusOf, countStatuses, queueStatusOf, type StatusCounts, type StatusViewer } from './queueCounts';
import { dumpQueueItem, freshRun, isTerminal, type QueueItem, type QueueItemStatus } from './queueRow';
import { newSession, type SessionState } from './session';
import { SYSTEM_USER } from './sockets';

export { isTerminal, itemTimes, type QueueItem, type QueueItemStatus } from './queueRow';
export type { StatusCounts } from './queueCounts';

/** Receives every queue-level event; events.ts turns them into socket payloads. */
export interface QueueNotifier {
  statusChanged(item: QueueItem): void;
  batchEnqueued(queueId: string, batch: BatchJson, enqueued: number, requested: number, priority: number, userId?: string): void;
  itemsCanceled(queueId: string, itemIds: number[]): void;
  itemsRetried(queueId: string, itemIds: number[]): void;
  cleared(queueId: string): void;
  sessionEvent(event: 'graph_execution_state_complete' | 'session_canceled', item: QueueItem): void;
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

  /** Whether a finished item may still move to `status` in this generation (see the profile's overwrite flags). */
  private reopens(item: QueueItem, status: QueueItemStatus): boolean {
    if (status === 'canceled') return this.profile.cancelOverwritesFinished;
    return status === 'failed' && this.profile.failureOverwritesFinished;
  }

  /**
   * `_transition_queue_item_status`: bumps `status_sequence`, sets SQL-trigger timestamps and emits
   * `queue_item_status_changed`; a terminal item does not move and emits nothing from 6.0 (docs/protocol.md §2.2).
   */
  transition(item: QueueItem, status: QueueItemStatus, error?: ErrorInfo, silent = false): boolean {
    if (isTerminal(item.status) ? !this.reopens(item, status) : item.status === status) return false;
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
    for (const i of this.chain(item))
      // ≤4.2.3 `cancel_queue_item` also announces the session's cancel (session_queue_sqlite.py@v4.2.3).
      if (this.transition(i, 'canceled') && this.profile.queueFollowsSessionEvents) this.notifier?.sessionEvent('session_canceled', i);
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
    return countStatuses(items);
  }

  /** `SessionQueueStatus` as `viewer` gets it. */
  queueStatus(queueId: string, viewer: StatusViewer): JsonObject {
    return queueStatusOf(this.inQueue(queueId), queueId, viewer, this.profile);
  }

  /** `BatchStatus`; with `userId`, of that user's items only (a non-admin's route). */
  batchStatus(queueId: string, batchId: string, userId?: string): JsonObject {
    const items = this.inQueue(queueId).filter((i) => i.batch_id === batchId && (userId === undefined || i.user_id === userId));
    return batchStatusOf(items, queueId, batchId, this.profile);
  }

  /** `SessionQueueItem` model dump; `excludeNone` for the routes that set `response_model_exclude_none`. */
  dump(item: QueueItem, excludeNone: boolean): JsonObject {
    return dumpQueueItem(item, this.profile, excludeNone);
  }
}
