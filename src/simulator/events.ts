import { eventTimestamp } from './clock';
import type { BatchJson, NodeJson } from './graph';
import { isJsonObject, record, type Json, type JsonObject } from './json';
import { storedOutput } from './generations';
import type { ProfileSpec } from './profiles';
import { itemTimes, type QueueItem, type QueueNotifier, type SessionQueue } from './queue';
import { SYSTEM_USER, type SocketHub } from './sockets';

const REDACTED = 'redacted';

/** Where payloads go: the socket hub, or an adapter that reshapes them for an older server generation. */
export type EventSink = Pick<SocketHub, 'toOwnerAndAdmin' | 'progress' | 'toOwnerWithCompanion' | 'toAdminWithQueueCompanion' | 'toQueueRoom'>;

/**
 * Builds every server→client payload as a full pydantic dump (nulls present, field order of the models in
 * events_common.py, docs/protocol.md §2) and hands it to the socket hub for routing.
 */
export class EventPublisher implements QueueNotifier {
  constructor(
    private readonly hub: EventSink,
    private readonly queue: SessionQueue,
    private readonly profile: ProfileSpec,
  ) {}

  private base(item: QueueItem): JsonObject {
    return {
      timestamp: eventTimestamp(),
      queue_id: item.queue_id,
      item_id: item.item_id,
      batch_id: item.batch_id,
      origin: item.origin,
      destination: item.destination,
      user_id: item.user_id,
    };
  }

  private invocationBase(item: QueueItem, invocation: NodeJson, sourceId: string): JsonObject {
    return { ...this.base(item), session_id: item.session_id, invocation, invocation_source_id: sourceId };
  }

  invocationStarted(item: QueueItem, invocation: NodeJson, sourceId: string): void {
    this.hub.toOwnerAndAdmin('invocation_started', this.invocationBase(item, invocation, sourceId), item.user_id);
  }

  invocationProgress(item: QueueItem, invocation: NodeJson, sourceId: string, message: string, percentage: number | null, image: Json): void {
    const payload: JsonObject = { ...this.invocationBase(item, invocation, sourceId), message, percentage, image };
    // Only GPU runs name a device; the simulator is a CPU (docs/protocol.md §2.1).
    if (this.profile.progressDevice) payload['device'] = null;
    this.hub.progress(this.profile.progressEvent, payload, item.user_id);
  }

  invocationComplete(item: QueueItem, invocation: NodeJson, sourceId: string, output: JsonObject): void {
    let result: JsonObject = { ...storedOutput(output, this.profile) };
    if (!this.profile.resultImageNames) result = withoutImages(result);
    this.hub.toOwnerAndAdmin('invocation_complete', { ...this.invocationBase(item, invocation, sourceId), result }, item.user_id);
  }

  invocationError(item: QueueItem, invocation: NodeJson, sourceId: string, errorType: string, errorMessage: string, errorTraceback: string): void {
    this.hub.toOwnerAndAdmin(
      'invocation_error',
      { ...this.invocationBase(item, invocation, sourceId), error_type: errorType, error_message: errorMessage, error_traceback: errorTraceback },
      item.user_id,
    );
  }

  statusChanged(item: QueueItem): void {
    const full: JsonObject = {
      ...this.base(item),
      status: item.status,
      status_sequence: this.profile.statusSequence ? item.status_sequence : null,
      error_type: item.error_type,
      error_message: item.error_message,
      error_traceback: item.error_traceback,
      ...itemTimes(item),
      batch_status: this.queue.batchStatus(item.queue_id, item.batch_id),
      // The owner's own counts, the current item's ids only if it is the owner's too (session_queue_sqlite.py@HEAD).
      queue_status: this.queue.queueStatus(item.queue_id, { countsOf: item.user_id, ...(this.profile.userIds ? { currentFor: item.user_id } : {}) }),
      session_id: item.session_id,
    };
    const batchStatus = { ...(full['batch_status'] as JsonObject), batch_id: REDACTED, origin: null, destination: null };
    const queueStatus: JsonObject = { ...(full['queue_status'] as JsonObject), item_id: null, batch_id: null, session_id: null };
    if ('user_pending' in queueStatus) {
      queueStatus['user_pending'] = null;
      queueStatus['user_in_progress'] = null;
    }
    const sanitized: JsonObject = {
      ...full,
      user_id: REDACTED,
      batch_id: REDACTED,
      session_id: REDACTED,
      origin: null,
      destination: null,
      error_type: null,
      error_message: null,
      error_traceback: null,
      batch_status: batchStatus,
      queue_status: queueStatus,
    };
    this.hub.toOwnerWithCompanion('queue_item_status_changed', full, sanitized, item.user_id, item.queue_id);
  }

  batchEnqueued(queueId: string, batch: BatchJson, enqueued: number, requested: number, priority: number, userId = SYSTEM_USER): void {
    const full: JsonObject = {
      timestamp: eventTimestamp(),
      queue_id: queueId,
      batch_id: batch.batch_id,
      enqueued,
      requested,
      priority,
      origin: batch.origin,
      user_id: userId,
    };
    const sanitized: JsonObject = { ...full, batch_id: REDACTED, origin: null, user_id: REDACTED };
    this.hub.toOwnerWithCompanion('batch_enqueued', full, sanitized, userId, queueId);
  }

  itemsCanceled(queueId: string, itemIds: number[]): void {
    this.bulk('queue_items_canceled', 'canceled_item_ids', queueId, itemIds);
  }

  itemsRetried(queueId: string, itemIds: number[]): void {
    this.bulk('queue_items_retried', 'retried_item_ids', queueId, itemIds);
  }

  private bulk(event: string, key: 'canceled_item_ids' | 'retried_item_ids', queueId: string, itemIds: number[]): void {
    const ts = eventTimestamp();
    const byUser = record<number[]>();
    for (const id of itemIds) (byUser[this.queue.get(id)?.user_id ?? SYSTEM_USER] ??= []).push(id);
    const users = Object.keys(byUser);
    const full: JsonObject = { timestamp: ts, queue_id: queueId, [key]: itemIds, user_ids: users, [`${key}_by_user`]: byUser };
    const empty: JsonObject = { timestamp: ts, queue_id: queueId, [key]: [], user_ids: [], [`${key}_by_user`]: record() };
    // Each owner gets a copy scoped to its own items (docs/protocol.md §2.3).
    const scoped = new Map(users.map((u): [string, JsonObject] => [u, { ...full, [key]: byUser[u] ?? [], user_ids: [u], [`${key}_by_user`]: Object.assign(record<Json>(), { [u]: byUser[u] ?? [] }) }]));
    this.hub.toAdminWithQueueCompanion(event, full, empty, queueId, scoped);
  }

  /** 3.x–4.2.3 only: `graph_execution_state_complete`, `session_canceled` (events_base.py@v4.2.3), in that era's names. */
  sessionEvent(event: 'graph_execution_state_complete' | 'session_canceled', item: QueueItem): void {
    const payload: JsonObject = {
      queue_id: item.queue_id,
      queue_item_id: item.item_id,
      queue_batch_id: item.batch_id,
      graph_execution_state_id: item.session_id,
      timestamp: eventTimestamp(),
    };
    this.hub.toQueueRoom(event, payload, item.queue_id);
  }

  cleared(queueId: string): void {
    // An admin / single-user clear deletes everything and is announced with user_id null to the queue room.
    this.hub.toQueueRoom('queue_cleared', { timestamp: eventTimestamp(), queue_id: queueId, user_id: null }, queueId);
  }
}

function isImageRef(v: Json | undefined): boolean {
  return isJsonObject(v) && typeof v['image_name'] === 'string';
}

/** What a server without inline image names sends: every top-level image field left out. */
function withoutImages(result: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(result)) {
    if (isImageRef(v) || (Array.isArray(v) && v.length > 0 && v.every(isImageRef))) continue;
    out[k] = v;
  }
  return out;
}
