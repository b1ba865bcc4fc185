import { sqliteTime } from './clock';
import type { NodeFieldValue } from './graph';
import { stripNulls, type Json, type JsonObject } from './json';
import type { ItemModelExtra, ProfileSpec } from './profiles';
import { dumpSession, type SessionState } from './session';

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

/** What every new queue row starts with: pending, sequence 0, no error, no run times. */
export function freshRun(now: number): Pick<QueueItem, 'status' | 'status_sequence' | 'error_type' | 'error_message' | 'error_traceback' | 'createdMs' | 'updatedMs' | 'startedMs' | 'completedMs'> {
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

/** Defaults of the fields only 5.10–6.8 had (nothing sets them in the simulator: no API validation runs, no credits). */
const EXTRA_DEFAULTS: Readonly<Record<ItemModelExtra, Json>> = {
  is_api_validation_run: false,
  published_workflow_id: null,
  api_input_fields: null,
  api_output_fields: null,
  credits: null,
};

function modelExtras(p: ProfileSpec): JsonObject {
  const out: JsonObject = {};
  for (const k of p.itemModelExtras) out[k] = EXTRA_DEFAULTS[k];
  return out;
}

/** `SessionQueueItem` model dump; `excludeNone` for the routes that set `response_model_exclude_none`. */
export function dumpQueueItem(item: QueueItem, p: ProfileSpec, excludeNone: boolean): JsonObject {
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
    ...modelExtras(p),
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
