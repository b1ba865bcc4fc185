import { TERMINAL_STATUSES, parseQueueEvent, type NodeEvent, type QueueEvent } from '../invoke/wire';
import { requestedBoardOf } from '../ledger/nodeKinds';
import type { Evidence, ItemInput } from '../ledger/types';
import type { TerminalStatus } from '../records';

type Input = ItemInput extends infer T ? (T extends unknown ? Omit<T, 'at'> : never) : never;

/** One ledger input for one item. */
export interface ItemWork {
  queueId: string;
  itemId: number;
  input: Input;
}

/** What a socket payload became: work for the ledger, a reason it was refused, or nothing worth keeping. */
export type Parsed = { kind: 'work'; work: ItemWork[]; event: QueueEvent | null } | { kind: 'invalid'; error: string; work: ItemWork[] } | { kind: 'cleared'; queueId: string };

/** A sanitized companion about another user's item (docs/protocol.md §2.2): never ours to track. */
export function isRedacted(e: { userId?: string | null; batchId?: string | null }): boolean {
  return e.userId === 'redacted' || e.batchId === 'redacted';
}

const EVIDENCE: Record<NodeEvent['kind'], Evidence> = { started: 'event_started', complete: 'event_complete', error: 'event_error' };

function nodeWork(e: NodeEvent): ItemWork {
  const inv = e.invocation;
  return {
    queueId: e.queueId,
    itemId: e.itemId,
    input: {
      kind: 'node',
      node: {
        preparedId: inv.id,
        sourceId: e.sourceId,
        nodeType: inv.type,
        isIntermediate: inv.is_intermediate === true,
        requestedBoard: requestedBoardOf(inv),
        ran: true,
        completed: e.kind === 'complete',
        failed: e.kind === 'error',
        evidence: EVIDENCE[e.kind],
      },
      result: e.kind === 'complete' ? e.result : null,
      batchId: e.batchId,
      sessionId: e.sessionId,
    },
  };
}

function toWork(e: QueueEvent): ItemWork[] {
  switch (e.kind) {
    case 'items_canceled':
      return e.itemIds.map((itemId) => ({
        queueId: e.queueId,
        itemId,
        input: { kind: 'terminal', status: 'canceled', batchId: null, sessionId: null, errorType: null, errorMessage: null },
      }));
    case 'cleared':
      return [];
    case 'status': {
      const ids = { batchId: e.batchId, sessionId: e.sessionId, errorType: e.errorType, errorMessage: e.errorMessage };
      const input: Input = TERMINAL_STATUSES.has(e.status) ? { kind: 'terminal', status: e.status as TerminalStatus, ...ids } : { kind: 'status', status: e.status, ...ids };
      return [{ queueId: e.queueId, itemId: e.itemId, input }];
    }
    default:
      return [nodeWork(e)];
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * What an `invocation_*` payload that failed validation still says: that a node of an item ran (or completed). The
 * node is then known to have run, with its output unknown, so the item cannot end up complete without another rung
 * accounting for it.
 */
function hint(name: string, raw: unknown): ItemWork | null {
  if (!name.startsWith('invocation_') || typeof raw !== 'object' || raw === null) return null;
  const p = raw as Record<string, unknown>;
  const inv = (p['invocation'] ?? p['node']) as Record<string, unknown> | undefined;
  const queueId = str(p['queue_id']);
  const itemId = num(p['item_id']) ?? num(p['queue_item_id']);
  const preparedId = str(inv?.['id']);
  if (queueId === null || itemId === null || preparedId === null || isRedacted({ userId: str(p['user_id']) })) return null;
  const evidence: Evidence = 'event_unparsed';
  const sourceId = str(p['invocation_source_id']) ?? str(p['source_node_id']);
  const nodeType = str(inv?.['type']);
  return {
    queueId,
    itemId,
    input: {
      kind: 'node',
      node: { preparedId, ran: true, completed: name === 'invocation_complete', failed: name === 'invocation_error', evidence, ...(sourceId ? { sourceId } : {}), ...(nodeType ? { nodeType } : {}) },
      result: null,
      batchId: str(p['batch_id']) ?? str(p['queue_batch_id']),
      sessionId: str(p['session_id']) ?? str(p['graph_execution_state_id']),
    },
  };
}

/** Parses one socket payload at the edge; never throws. Redacted companions drop out here, in one place. */
export function parseToWork(name: string, payload: unknown): Parsed {
  const r = parseQueueEvent(name, payload);
  if (!r.ok) {
    const h = hint(name, payload);
    return { kind: 'invalid', error: r.error, work: h ? [h] : [] };
  }
  const e = r.event;
  if (e.kind === 'cleared') return { kind: 'cleared', queueId: e.queueId };
  if (e.kind !== 'items_canceled' && isRedacted(e)) return { kind: 'work', work: [], event: null };
  return { kind: 'work', work: toWork(e), event: e };
}
