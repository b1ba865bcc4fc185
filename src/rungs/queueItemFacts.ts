import { graphNodeSchema, splitLegacyError, type WireQueueItem, type WireSession } from '../invoke/wire';
import { imageCapability, requestedBoardOf } from '../ledger/nodeKinds';
import type { GraphSavers, QueueItemFacts, SessionFacts } from '../ledger/types';

/*
 * A queue item as the server answered it, turned into the ledger's facts. Node ids are user-chosen, so every map
 * keyed by them is a Map built from the object's own keys (`__proto__` is a node id like any other).
 */

function entries(obj: Readonly<Record<string, unknown>> | null | undefined): [string, unknown][] {
  return obj ? Object.keys(obj).map((k) => [k, obj[k]]) : [];
}

function graphNodes(nodes: Readonly<Record<string, unknown>> | null | undefined): Map<string, { type: string; isIntermediate: boolean; requestedBoard: string }> {
  const out = new Map<string, { type: string; isIntermediate: boolean; requestedBoard: string }>();
  for (const [id, raw] of entries(nodes)) {
    const n = graphNodeSchema.safeParse(raw);
    if (n.success) out.set(id, { type: n.data.type, isIntermediate: n.data.is_intermediate === true, requestedBoard: requestedBoardOf(n.data) });
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function sessionFacts(s: WireSession): SessionFacts {
  const results = new Map<string, Readonly<Record<string, unknown>>>();
  for (const [id, r] of entries(s.results)) if (isObject(r)) results.set(id, r);
  const mapping = new Map<string, string>();
  for (const [id, src] of entries(s.prepared_source_mapping)) if (typeof src === 'string') mapping.set(id, src);
  const nodes = graphNodes(s.execution_graph?.nodes);
  return {
    // While pending or running, the item holds the session as enqueued: an empty execution graph (docs/protocol.md §5.2).
    written: nodes.size > 0 || results.size > 0,
    results,
    executed: new Set(s.executed ?? []),
    errors: new Set(entries(s.errors).map(([id]) => id)),
    mapping,
    nodes,
  };
}

/** The submitted graph's nodes that could save an image (not intermediates). */
export function graphSavers(s: WireSession | null | undefined): GraphSavers {
  const out = new Map<string, { type: string; requestedBoard: string }>();
  for (const [id, n] of graphNodes(s?.graph?.nodes)) {
    if (imageCapability(n.type) !== 'no' && !n.isIntermediate) out.set(id, { type: n.type, requestedBoard: n.requestedBoard });
  }
  return out;
}

/**
 * `session`: where this generation keeps the finished run — the queue item (4.2.4+), the sessions API (3.x, passed
 * in), or nowhere (4.0–4.2.3: the item's session is never updated, so it says nothing about what ran).
 */
export function queueItemFacts(item: WireQueueItem, session: WireSession | null): QueueItemFacts {
  const legacy = splitLegacyError(item.error ?? null);
  return {
    status: item.status,
    batchId: item.batch_id,
    sessionId: item.session_id,
    rootItemId: item.root_item_id ?? null,
    errorType: item.error_type ?? legacy.errorType,
    errorMessage: item.error_message ?? legacy.errorMessage,
    startedAt: item.started_at ?? null,
    createdAt: item.created_at ?? null,
    graphSavers: graphSavers(item.session),
    session: session ? sessionFacts(session) : null,
  };
}
