import type { NodeSighting } from '../ledger/types';
import type { RunProgress } from './options';

/** Progress events of the server generations (`invocation_denoise_progress` before 5.0). */
export const PROGRESS_EVENTS = ['invocation_progress', 'invocation_denoise_progress'];

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A step of a node of the run's batch; null for anything else (another batch, a malformed payload). */
export function stepProgress(payload: unknown, batchId: string): RunProgress | null {
  const p = payload as { batch_id?: unknown; item_id?: unknown; invocation_source_id?: unknown; invocation?: { type?: unknown }; percentage?: unknown; message?: unknown } | null;
  if (!p || typeof p !== 'object' || p.batch_id !== batchId || typeof p.item_id !== 'number') return null;
  return {
    itemId: p.item_id,
    nodeId: str(p.invocation_source_id),
    nodeType: str(p.invocation?.type),
    phase: 'progress',
    percentage: typeof p.percentage === 'number' ? p.percentage : null,
    ...(typeof p.message === 'string' ? { message: p.message } : {}),
  };
}

/** A node of the run starting, completing or failing, from the work the ledger gets. */
export function nodeProgress(itemId: number, node: NodeSighting): RunProgress | null {
  const phase = node.evidence === 'event_started' ? 'started' : node.evidence === 'event_complete' ? 'complete' : node.evidence === 'event_error' ? 'error' : null;
  if (phase === null) return null;
  return { itemId, nodeId: node.sourceId ?? '', nodeType: node.nodeType ?? '', phase };
}
