import type { ImageDto } from '../../src/invoke/wire';
import type { LedgerOptions } from '../../src/ledger/reduce';
import type { ItemInput, NodeSighting, QueueItemFacts, SessionFacts } from '../../src/ledger/types';

export const SERVER = 'http://sim';
export const SESSION = 'sess-1';

export function ledgerOptions(over: Partial<LedgerOptions> = {}): LedgerOptions {
  return {
    server: SERVER,
    includeIntermediate: false,
    imageUrl: (name) => `${SERVER}/api/v1/images/i/${name}/full`,
    cancelGraceMs: 3000,
    settleTimeoutMs: 10_000,
    settleBackoffMs: 250,
    workflowCalls: false,
    rungs: ['queue_item', 'listing'],
    maxLookupAttempts: 3,
    ...over,
  };
}

type Input = ItemInput extends infer T ? (T extends unknown ? Omit<T, 'at'> : never) : never;

export function started(preparedId: string, sourceId: string, nodeType = 'save_image', board: string | null = 'none'): Input {
  const node: NodeSighting = { preparedId, sourceId, nodeType, isIntermediate: false, requestedBoard: board, ran: true, evidence: 'event_started' };
  return { kind: 'node', node, result: null, batchId: 'b', sessionId: SESSION };
}

export function completed(preparedId: string, sourceId: string, images: string[], nodeType = 'save_image', board: string | null = 'none'): Input {
  const node: NodeSighting = { preparedId, sourceId, nodeType, isIntermediate: false, requestedBoard: board, completed: true, evidence: 'event_complete' };
  const result = images.length === 1 ? { image: { image_name: images[0] }, width: 8, height: 8, type: 'image_output' } : { collection: images.map((image_name) => ({ image_name })), type: 'image_collection_output' };
  return { kind: 'node', node, result, batchId: 'b', sessionId: SESSION };
}

export function status(s: string): Input {
  return { kind: 'status', status: s, batchId: 'b', sessionId: SESSION, errorType: null, errorMessage: null };
}

export function dto(name: string, preparedId: string, over: Partial<ImageDto> = {}): ImageDto {
  return { image_name: name, board_id: null, is_intermediate: false, session_id: SESSION, node_id: preparedId, width: 8, height: 8, created_at: '2026-12-04 10:00:00.000', image_url: null, ...over };
}

export function session(results: Record<string, Record<string, unknown>>, mapping: Record<string, string>, over: Partial<SessionFacts> = {}): SessionFacts {
  return {
    written: true,
    results: new Map(Object.entries(results)),
    executed: new Set(Object.keys(results)),
    errors: new Set(),
    mapping: new Map(Object.entries(mapping)),
    nodes: new Map(Object.keys(results).map((id) => [id, { type: 'save_image', isIntermediate: false, requestedBoard: 'none' }])),
    ...over,
  };
}

export function queueItem(s: SessionFacts | null, over: Partial<QueueItemFacts> = {}): QueueItemFacts {
  return { status: 'completed', batchId: 'b', sessionId: SESSION, rootItemId: null, errorType: null, errorMessage: null, startedAt: '2026-12-04 09:59:59.000', createdAt: null, graphSavers: new Map(), session: s, ...over };
}

export const imageResult = (name: string): Record<string, unknown> => ({ image: { image_name: name }, width: 8, height: 8, type: 'image_output' });
