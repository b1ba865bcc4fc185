import { z } from 'zod';

/*
 * Schemas for what InvokeAI sends, across generations (docs/protocol.md §2, §5, §6.1).
 * Loose objects everywhere: the server adds fields over time, and we must keep working.
 * Payloads are `unknown` until they pass through here.
 */

const nullishString = z.string().nullish();

export const imageFieldSchema = z.looseObject({ image_name: z.string().min(1) });

export const boardFieldSchema = z.looseObject({ board_id: z.string() });

// Only the fields read here are kept: an invocation dump carries every input the node ran with (metadata,
// conditioning, model identifiers), and copying those for every event is most of the parsing cost.
export const invocationSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  is_intermediate: z.boolean().nullish(),
  use_cache: z.boolean().nullish(),
  board: z.union([boardFieldSchema, z.null(), z.string()]).optional(),
});
export type WireInvocation = z.infer<typeof invocationSchema>;

const resultSchema = z.record(z.string(), z.unknown());

// v4.2.4+ (item_id, batch_id, session_id, invocation, invocation_source_id)
const invocationEventModern = z.looseObject({
  queue_id: z.string(),
  item_id: z.number().int(),
  batch_id: z.string(),
  session_id: z.string(),
  user_id: z.string().nullish(),
  invocation: invocationSchema,
  invocation_source_id: z.string(),
});

// v3.2–v4.2.3 (queue_item_id, queue_batch_id, graph_execution_state_id, node, source_node_id)
const invocationEventLegacy = z.looseObject({
  queue_id: z.string(),
  queue_item_id: z.number().int(),
  queue_batch_id: z.string(),
  graph_execution_state_id: z.string(),
  node: invocationSchema,
  source_node_id: z.string(),
});

const statusModern = z.looseObject({
  queue_id: z.string(),
  item_id: z.number().int(),
  batch_id: z.string(),
  session_id: z.string(),
  user_id: z.string().nullish(),
  status: z.string(),
  status_sequence: z.number().int().nullish(),
  error_type: nullishString,
  error_message: nullishString,
});

// 3.3–4.2.3: nested `queue_item`; 3.2: flat with queue_item_id
const statusNested = z.looseObject({
  queue_id: z.string(),
  queue_item: z.looseObject({
    item_id: z.number().int(),
    batch_id: z.string(),
    session_id: z.string(),
    status: z.string(),
    error: nullishString,
  }),
});
const statusFlatLegacy = z.looseObject({
  queue_id: z.string(),
  queue_item_id: z.number().int(),
  batch_id: z.string(),
  session_id: z.string(),
  status: z.string(),
  error: nullishString,
});

const itemsCanceled = z.looseObject({
  queue_id: z.string(),
  canceled_item_ids: z.array(z.number().int()),
});

const queueCleared = z.looseObject({ queue_id: z.string(), user_id: z.string().nullish() });

export type ItemStatus = 'pending' | 'in_progress' | 'waiting' | 'completed' | 'failed' | 'canceled';
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'canceled']);

interface ItemRef {
  queueId: string;
  itemId: number;
  batchId: string;
  sessionId: string;
  /** `"redacted"` marks a sanitized companion about another user's item (docs/protocol.md §2.2). */
  userId: string | null;
}

export interface NodeEvent extends ItemRef {
  kind: 'started' | 'complete' | 'error';
  invocation: WireInvocation;
  sourceId: string;
  /** `invocation_complete` only. */
  result: Record<string, unknown> | null;
}

export interface StatusEvent extends ItemRef {
  kind: 'status';
  status: string;
  sequence: number | null;
  errorType: string | null;
  errorMessage: string | null;
}

export interface CanceledItemsEvent {
  kind: 'items_canceled';
  queueId: string;
  itemIds: number[];
}

export interface ClearedEvent {
  kind: 'cleared';
  queueId: string;
}

export type QueueEvent = NodeEvent | StatusEvent | CanceledItemsEvent | ClearedEvent;

/** The socket events this client listens to; everything else is ignored. */
export const QUEUE_EVENT_NAMES = [
  'invocation_started',
  'invocation_complete',
  'invocation_error',
  'queue_item_status_changed',
  'queue_items_canceled',
  'queue_cleared',
] as const;
export type QueueEventName = (typeof QUEUE_EVENT_NAMES)[number];

export type ParseResult = { ok: true; event: QueueEvent } | { ok: false; error: string };

function firstIssue(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path.length ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message}`;
}

function nodeEvent(kind: NodeEvent['kind'], raw: unknown): ParseResult {
  const m = invocationEventModern.safeParse(raw);
  let ev: NodeEvent;
  if (m.success) {
    const d = m.data;
    ev = {
      kind,
      queueId: d.queue_id,
      itemId: d.item_id,
      batchId: d.batch_id,
      sessionId: d.session_id,
      userId: d.user_id ?? null,
      invocation: d.invocation,
      sourceId: d.invocation_source_id,
      result: null,
    };
  } else {
    const l = invocationEventLegacy.safeParse(raw);
    if (!l.success) return { ok: false, error: firstIssue(m.error) };
    const d = l.data;
    ev = {
      kind,
      queueId: d.queue_id,
      itemId: d.queue_item_id,
      batchId: d.queue_batch_id,
      sessionId: d.graph_execution_state_id,
      userId: null,
      invocation: d.node,
      sourceId: d.source_node_id,
      result: null,
    };
  }
  if (kind === 'complete') {
    const r = resultSchema.safeParse((raw as { result?: unknown }).result);
    if (!r.success) return { ok: false, error: `result: ${firstIssue(r.error)}` };
    ev.result = r.data;
  }
  return { ok: true, event: ev };
}

function statusEvent(raw: unknown): ParseResult {
  const m = statusModern.safeParse(raw);
  if (m.success) {
    const d = m.data;
    return {
      ok: true,
      event: {
        kind: 'status',
        queueId: d.queue_id,
        itemId: d.item_id,
        batchId: d.batch_id,
        sessionId: d.session_id,
        userId: d.user_id ?? null,
        status: d.status,
        sequence: d.status_sequence ?? null,
        errorType: d.error_type ?? null,
        errorMessage: d.error_message ?? null,
      },
    };
  }
  const n = statusNested.safeParse(raw);
  const legacy = n.success
    ? { queueId: n.data.queue_id, ...n.data.queue_item }
    : (() => {
        const f = statusFlatLegacy.safeParse(raw);
        return f.success ? { queueId: f.data.queue_id, ...f.data, item_id: f.data.queue_item_id } : null;
      })();
  if (!legacy) return { ok: false, error: firstIssue(m.error) };
  const { errorType, errorMessage } = splitLegacyError(legacy.error ?? null);
  return {
    ok: true,
    event: {
      kind: 'status',
      queueId: legacy.queueId,
      itemId: legacy.item_id,
      batchId: legacy.batch_id,
      sessionId: legacy.session_id,
      userId: null,
      status: legacy.status,
      sequence: null,
      errorType,
      errorMessage,
    },
  };
}

/** Before 4.2.4 a failure was one `error` string, usually `"Type: message"` or a traceback. */
export function splitLegacyError(error: string | null): { errorType: string | null; errorMessage: string | null } {
  if (!error) return { errorType: null, errorMessage: null };
  const lastLine = error.trim().split('\n').pop() ?? error;
  const m = /^([A-Za-z_][\w.]*):\s*(.*)$/s.exec(lastLine);
  return m ? { errorType: m[1] ?? null, errorMessage: m[2] ?? null } : { errorType: null, errorMessage: error };
}

/** Parses one socket payload into a normalised event; never throws. */
export function parseQueueEvent(name: string, raw: unknown): ParseResult {
  switch (name) {
    case 'invocation_complete':
      return nodeEvent('complete', raw);
    case 'invocation_started':
      return nodeEvent('started', raw);
    case 'invocation_error':
      return nodeEvent('error', raw);
    case 'queue_item_status_changed':
      return statusEvent(raw);
    case 'queue_items_canceled': {
      const r = itemsCanceled.safeParse(raw);
      return r.success
        ? { ok: true, event: { kind: 'items_canceled', queueId: r.data.queue_id, itemIds: r.data.canceled_item_ids } }
        : { ok: false, error: firstIssue(r.error) };
    }
    case 'queue_cleared': {
      const r = queueCleared.safeParse(raw);
      return r.success
        ? { ok: true, event: { kind: 'cleared', queueId: r.data.queue_id } }
        : { ok: false, error: firstIssue(r.error) };
    }
    default:
      return { ok: false, error: `unknown event ${name}` };
  }
}

// ---- HTTP shapes (docs/protocol.md §5) ----

export const imageDtoSchema = z.looseObject({
  image_name: z.string(),
  image_url: z.string().nullish(),
  board_id: z.string().nullish(),
  is_intermediate: z.boolean().nullish(),
  session_id: z.string().nullish(),
  node_id: z.string().nullish(),
  width: z.number().int().nullish(),
  height: z.number().int().nullish(),
  created_at: z.string().nullish(),
  image_category: z.string().nullish(),
});
export type ImageDto = z.infer<typeof imageDtoSchema>;

// As for invocations: node dumps are large, and only these fields of them are read.
export const graphNodeSchema = z.object({
  type: z.string(),
  is_intermediate: z.boolean().nullish(),
  board: z.unknown().optional(),
});

/**
 * A JSON object keyed by user-chosen strings (node ids): passed through as JSON.parse made it. zod's `record` would
 * rebuild it and silently drop a key like `__proto__`; readers turn these into Maps (see rungs/queueItemFacts.ts).
 */
export const jsonObject = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object');

export const sessionSchema = z.object({
  id: z.string(),
  graph: z.object({ nodes: jsonObject.nullish() }).nullish(),
  execution_graph: z.object({ nodes: jsonObject.nullish() }).nullish(),
  results: jsonObject.nullish(),
  errors: jsonObject.nullish(),
  prepared_source_mapping: jsonObject.nullish(),
  executed: z.array(z.string()).nullish(),
  executed_history: z.array(z.string()).nullish(),
});
export type WireSession = z.infer<typeof sessionSchema>;

export const queueItemSchema = z.looseObject({
  item_id: z.number().int(),
  queue_id: z.string().nullish(),
  status: z.string(),
  status_sequence: z.number().int().nullish(),
  batch_id: z.string(),
  session_id: z.string(),
  error_type: nullishString,
  error_message: nullishString,
  error: nullishString,
  created_at: nullishString,
  started_at: nullishString,
  completed_at: nullishString,
  user_id: nullishString,
  priority: z.number().int().nullish(),
  root_item_id: z.number().int().nullish(),
  parent_item_id: z.number().int().nullish(),
  retried_from_item_id: z.number().int().nullish(),
  session: sessionSchema.nullish(),
});
export type WireQueueItem = z.infer<typeof queueItemSchema>;

export const enqueueResultSchema = z.looseObject({
  queue_id: z.string().nullish(),
  enqueued: z.number().int(),
  requested: z.number().int().nullish(),
  batch: z.looseObject({ batch_id: z.string() }),
  item_ids: z.array(z.number().int()).nullish(),
});
export type WireEnqueueResult = z.infer<typeof enqueueResultSchema>;

/** `BatchStatus` (`GET /queue/{q}/b/{batch_id}/status`); `waiting` from 6.14. */
export const batchStatusSchema = z.looseObject({
  batch_id: z.string(),
  pending: z.number().int(),
  in_progress: z.number().int(),
  waiting: z.number().int().nullish(),
  completed: z.number().int(),
  failed: z.number().int(),
  canceled: z.number().int(),
  total: z.number().int(),
});
export type WireBatchStatus = z.infer<typeof batchStatusSchema>;

export const boardDtoSchema = z.looseObject({
  board_id: z.string(),
  board_name: z.string().nullish(),
  image_count: z.number().int().nullish(),
});
export type WireBoard = z.infer<typeof boardDtoSchema>;

export const imageListSchema = z.looseObject({
  items: z.array(imageDtoSchema),
  offset: z.number().int(),
  limit: z.number().int(),
  total: z.number().int(),
});

/** A page of `GET /queue/{q}/list`: `SessionQueueItemDTO`s (no session) up to 5.15, full items in 6.0–6.6. */
export const listPageSchema = z.looseObject({ items: z.array(queueItemSchema), has_more: z.boolean() });

/** `GET /queue/{q}/status`: `{queue: SessionQueueStatus, processor}`. */
export const queueStatusSchema = z.looseObject({
  queue: z.looseObject({ pending: z.number().int(), in_progress: z.number().int(), waiting: z.number().int().nullish() }),
});

export const itemIdsSchema = z.looseObject({ item_ids: z.array(z.number().int()), total_count: z.number().int().nullish() });

export const appVersionSchema = z.looseObject({ version: z.string() });
export const authStatusSchema = z.looseObject({ multiuser_enabled: z.boolean() });
export const loginSchema = z.looseObject({ token: z.string(), expires_in: z.number().nullish() });
export const stringArraySchema = z.array(z.string());
