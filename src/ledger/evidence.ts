import type { ImageDto } from '../invoke/wire';
import type { Via } from '../records';
import { PASS_THROUGH_NODE_TYPES, readResult } from './nodeKinds';
import { withClaims, withFound, withImage, withNode, type ItemState } from './state';
import type { ImageState, LookupOutcome, NodeFacts, NodeSighting, QueueItemFacts } from './types';

/*
 * How each kind of evidence changes what the ledger knows of an item. Pure functions of (state, evidence).
 */

export interface EvidenceOptions {
  includeIntermediate: boolean;
}

/** Whether a node's images are outputs to report at all (pass-throughs and intermediates are not). */
export function reportsImages(n: NodeFacts, opts: EvidenceOptions): boolean {
  if (n.nodeType !== null && PASS_THROUGH_NODE_TYPES.has(n.nodeType)) return false;
  return n.isIntermediate !== true || opts.includeIntermediate;
}

/** A node's output, from an `invocation_complete` or the stored session: its names become claims to confirm. */
export function withOutput(
  s: ItemState,
  sighting: NodeSighting,
  result: Readonly<Record<string, unknown>> | null,
  via: Via,
  opts: EvidenceOptions,
): { state: ItemState; lookups: string[] } {
  const read = result ? readResult(result) : null;
  let state = withNode(s, {
    ...sighting,
    ...(read ? { outputs: read.namesKnown ? read.names : null, video: read.video } : {}),
  });
  const node = state.nodes.get(sighting.preparedId)!;
  if (!read || read.names.length === 0 || !reportsImages(node, opts)) return { state, lookups: [] };
  const claimed = withClaims(state, read.names, node.preparedId, via);
  state = claimed.state;
  return { state, lookups: claimed.fresh };
}

/** What the stored session says: every node it ran, what each returned, which failed, and how ids map. */
export function withSession(s: ItemState, item: QueueItemFacts, authoritative: boolean, opts: EvidenceOptions): { state: ItemState; lookups: string[] } {
  let state: ItemState = {
    ...s,
    batchId: item.batchId,
    sessionId: item.sessionId,
    rootItemId: item.rootItemId ?? s.rootItemId ?? s.itemId,
    rootKnown: true,
    startedAt: item.startedAt ?? s.startedAt,
    createdAt: item.createdAt ?? s.createdAt,
    graphSavers: item.graphSavers.size > 0 ? item.graphSavers : s.graphSavers,
  };
  const session = item.session;
  if (!session) return { state, lookups: [] };
  state = { ...state, sessionAuthoritative: authoritative, sessionWritten: session.written, sessionExpected: true };
  const lookups: string[] = [];
  const describe = (preparedId: string): Omit<NodeSighting, 'evidence'> => {
    const g = session.nodes.get(preparedId);
    return {
      preparedId,
      sourceId: session.mapping.get(preparedId) ?? null,
      ...(g ? { nodeType: g.type, isIntermediate: g.isIntermediate, requestedBoard: g.requestedBoard } : {}),
    };
  };
  for (const [preparedId, result] of session.results) {
    const r = withOutput(state, { ...describe(preparedId), completed: true, evidence: 'session_results' }, result, 'queue_item', opts);
    state = r.state;
    lookups.push(...r.lookups);
  }
  for (const preparedId of session.errors) state = withNode(state, { ...describe(preparedId), failed: true, evidence: 'session_errors' });
  // Executed with no result held (a server that lost or never kept it): the node completed, its output is unknown —
  // never evidence that it made nothing. `executed` also names source nodes once all their copies ran: skipped.
  for (const preparedId of session.executed) {
    if (session.results.has(preparedId) || !(session.nodes.has(preparedId) || session.mapping.has(preparedId))) continue;
    state = withNode(state, { ...describe(preparedId), completed: true, evidence: 'session_executed' });
  }
  // A node is prepared when it is about to run: every node in the execution graph of a completed run ran to its end.
  if (item.status === 'completed') {
    for (const preparedId of session.nodes.keys()) {
      if (!session.results.has(preparedId)) state = withNode(state, { ...describe(preparedId), completed: true, evidence: 'execution_graph' });
    }
  }
  // Nodes the events named: the session now tells what they were, and, once written, that those absent from it
  // returned nothing (a node stopped by a cancel saves no output).
  for (const n of state.nodes.values()) {
    state = withNode(state, { ...describe(n.preparedId), evidence: 'execution_graph' });
    if (authoritative && session.written && n.outputs === null && !session.results.has(n.preparedId) && !n.completed) {
      state = withNode(state, { preparedId: n.preparedId, outputs: [], evidence: 'session_executed' });
    }
  }
  return { state, lookups };
}

/** Images a listing found for the item's session, each with its DTO: new facts, classified at once. */
export function withListing(s: ItemState, dtos: readonly ImageDto[], via: Via, opts: EvidenceOptions): ItemState {
  let state = s;
  for (const dto of dtos) {
    if (state.images.has(dto.image_name)) continue;
    const preparedId = dto.node_id ?? null;
    if (preparedId !== null) state = withNode(state, { preparedId, ran: true, completed: true, evidence: 'listing' });
    state = withFound(state, dto, via);
    state = withImage(state, dto.image_name, classified(state, dto, preparedId, opts));
  }
  return state;
}

/** DTO lookups that came back: each image is now new, a cache hit, not an output, gone, or still to retry. */
export function withLookups(s: ItemState, outcomes: ReadonlyMap<string, LookupOutcome>, opts: EvidenceOptions): ItemState {
  let state = s;
  const inFlight = new Set(s.inFlight);
  for (const [name, outcome] of outcomes) {
    inFlight.delete(name);
    const fact = state.images.get(name);
    if (!fact) continue;
    const attempts = fact.attempts + 1;
    // An image reported before a restart is looked up again only for its creation time (its place in new_images):
    // whatever the lookup says, it stays reported as it was.
    if (fact.record !== null) {
      state = withImage(state, name, { attempts, ...(outcome.kind === 'found' ? { dto: outcome.dto } : {}) });
      continue;
    }
    if (outcome.kind === 'found') state = withImage(state, name, { attempts, error: null, ...classified(state, outcome.dto, fact.preparedId, opts) });
    else if (outcome.kind === 'gone') state = withImage(state, name, { attempts, state: 'gone', error: null });
    else if (outcome.kind === 'failed') state = withImage(state, name, { attempts, state: 'failed', error: outcome.error });
    // An unreachable server is no answer: the image stays to be read, without using up an attempt.
    else state = withImage(state, name, { state: 'claimed', error: outcome.error });
  }
  return { ...state, inFlight };
}

/** The DTO's `session_id`/`node_id` tell who made an image (docs/protocol.md §4.1). */
function classified(s: ItemState, dto: ImageDto, preparedId: string | null, opts: EvidenceOptions): { state: ImageState; dto: ImageDto } {
  const is = (state: ImageState): { state: ImageState; dto: ImageDto } => ({ state, dto });
  if (dto.is_intermediate === true && !opts.includeIntermediate) return is('rejected');
  const sid = dto.session_id ?? null;
  if (sid === null) return is('rejected'); // an upload handed on
  if (sid !== s.sessionId) return is('cached');
  return dto.node_id && preparedId && dto.node_id !== preparedId ? is('rejected') : is('new');
}
