import type { ImageDto } from '../invoke/wire';
import type { CancelReason, Via } from '../records';
import type { Evidence, GraphSavers, ImageFact, NodeFacts, NodeSighting, RungName, TerminalFacts } from './types';

/**
 * What the ledger knows of one queue item. Every input yields a new state object; its node and image maps are
 * handed on from one state to the next and updated in place (copying them for each of an item's events was most of
 * the ledger's cost), so a state must not be used again once it was reduced.
 */
export interface ItemState {
  readonly queueId: string;
  readonly itemId: number;
  readonly batchId: string | null;
  readonly sessionId: string | null;
  /** The run that started a chain of called workflows; null until known (the item's own id by default). */
  readonly rootItemId: number | null;
  readonly rootKnown: boolean;
  readonly rootPending: boolean;
  /** Seen `in_progress`: the item was followed from its start. */
  readonly startSeen: boolean;
  /** Seen `pending`: items start pending silently, so this marks a called workflow's child or a resuming parent. */
  readonly announcedPending: boolean;
  /** Suspended on a called workflow (6.14): it runs no node until it resumes. */
  readonly waiting: boolean;
  readonly terminal: TerminalFacts | null;
  /** Gone from the server (deleted, cleared, pruned) before its outcome could be read. */
  readonly gone: boolean;
  readonly cancelRequested: CancelReason | null;
  readonly phase: 'open' | 'grace' | 'ladder' | 'settling' | 'postponed' | 'done';
  readonly nodes: ReadonlyMap<string, NodeFacts>;
  readonly images: ReadonlyMap<string, ImageFact>;
  readonly seq: number;
  /** Image names whose DTO lookup is in flight. */
  readonly inFlight: ReadonlySet<string>;
  readonly rungBusy: RungName | null;
  /** Rungs tried at the item's end, and whether each was exhaustive. */
  readonly tried: ReadonlyMap<RungName, { exhaustive: boolean; note: string | null }>;
  /** The server's stored session holds every node that ran (docs/protocol.md §5.2): what it lacks did not run. */
  readonly sessionAuthoritative: boolean;
  /** The run's session was written back (a canceled item's session is written once its last node stopped). */
  readonly sessionWritten: boolean;
  /** The server writes the session back at the run's end (4.2.4+, or 3.x's sessions API): worth waiting for. */
  readonly sessionExpected: boolean;
  /** Source nodes of the submitted graph that could have saved an image (known from the queue item or the run). */
  readonly graphSavers: GraphSavers;
  readonly startedAt: string | null;
  readonly createdAt: string | null;
  /** Problems of the item as a whole (not of one image): it is reported incomplete with these. */
  readonly problems: readonly string[];
  readonly settleSince: number | null;
  readonly settleAttempts: number;
  /** Reads of the queue item that found the server unreachable in a row. */
  readonly postponements: number;
  /** The daemon is stopping: no more waiting for a node or a session. */
  readonly stopping: boolean;
}

export function newItem(queueId: string, itemId: number): ItemState {
  return {
    queueId,
    itemId,
    batchId: null,
    sessionId: null,
    rootItemId: null,
    rootKnown: false,
    rootPending: false,
    startSeen: false,
    announcedPending: false,
    waiting: false,
    terminal: null,
    gone: false,
    cancelRequested: null,
    phase: 'open',
    nodes: new Map(),
    images: new Map(),
    seq: 0,
    inFlight: new Set(),
    rungBusy: null,
    tried: new Map(),
    sessionAuthoritative: false,
    sessionWritten: false,
    sessionExpected: false,
    graphSavers: new Map(),
    startedAt: null,
    createdAt: null,
    problems: [],
    settleSince: null,
    settleAttempts: 0,
    postponements: 0,
    stopping: false,
  };
}

const EMPTY_NODE: Omit<NodeFacts, 'preparedId'> = {
  sourceId: null,
  nodeType: null,
  isIntermediate: null,
  requestedBoard: null,
  ran: false,
  completed: false,
  failed: false,
  outputs: null,
  video: false,
  evidence: [],
};

/** Merges a sighting into what is known of the node: known facts stay, unknown ones are filled in. */
export function withNode(s: ItemState, sighting: NodeSighting): ItemState {
  const old = s.nodes.get(sighting.preparedId) ?? { preparedId: sighting.preparedId, ...EMPTY_NODE };
  const merged: NodeFacts = {
    preparedId: old.preparedId,
    sourceId: old.sourceId ?? sighting.sourceId ?? null,
    nodeType: old.nodeType ?? sighting.nodeType ?? null,
    isIntermediate: old.isIntermediate ?? sighting.isIntermediate ?? null,
    requestedBoard: old.requestedBoard ?? sighting.requestedBoard ?? null,
    ran: old.ran || sighting.ran === true || sighting.completed === true || sighting.failed === true,
    completed: old.completed || sighting.completed === true,
    failed: old.failed || sighting.failed === true,
    outputs: old.outputs ?? sighting.outputs ?? null,
    video: old.video || sighting.video === true,
    evidence: old.evidence.includes(sighting.evidence) ? old.evidence : [...old.evidence, sighting.evidence],
  };
  (s.nodes as Map<string, NodeFacts>).set(merged.preparedId, merged);
  return s;
}

/** Names claimed by a node: new ones become facts to look up; known ones stay as they are. */
export function withClaims(s: ItemState, names: readonly string[], preparedId: string | null, via: Via): { state: ItemState; fresh: string[] } {
  const fresh = names.filter((n) => !s.images.has(n));
  if (fresh.length === 0) return { state: s, fresh };
  const images = s.images as Map<string, ImageFact>;
  let seq = s.seq;
  for (const name of fresh) {
    images.set(name, { name, preparedId, via, state: 'claimed', attempts: 0, dto: null, record: null, seq: seq++, error: null });
  }
  return { state: { ...s, seq }, fresh };
}

export function withImage(s: ItemState, name: string, change: Partial<ImageFact>): ItemState {
  const old = s.images.get(name);
  if (!old) return s;
  (s.images as Map<string, ImageFact>).set(name, { ...old, ...change });
  return s;
}

/** An image a listing found, already with its DTO: known from then on, classified by the caller. */
export function withFound(s: ItemState, dto: ImageDto, via: Via): ItemState {
  if (s.images.has(dto.image_name)) return s;
  (s.images as Map<string, ImageFact>).set(dto.image_name, {
    name: dto.image_name,
    preparedId: dto.node_id ?? null,
    via,
    state: 'claimed',
    attempts: 1,
    dto,
    record: null,
    seq: s.seq,
    error: null,
  });
  return { ...s, seq: s.seq + 1 };
}

export function withProblem(s: ItemState, problem: string): ItemState {
  return s.problems.includes(problem) ? s : { ...s, problems: [...s.problems, problem] };
}

export function addEvidence(evidence: readonly Evidence[], e: Evidence): readonly Evidence[] {
  return evidence.includes(e) ? evidence : [...evidence, e];
}

/** Whether a node might still be running: it started, and neither finished nor failed as far as is known. */
export function isUnsettled(n: NodeFacts): boolean {
  return n.ran && !n.completed && !n.failed && n.outputs === null;
}
