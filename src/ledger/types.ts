import type { ImageDto } from '../invoke/wire';
import type { CancelReason, ImageRecord, OutputRecord, TerminalStatus, Via } from '../records';

/*
 * The item ledger's vocabulary. The ledger is pure: it receives inputs (what the socket, the queue session and
 * finished lookups tell about an item) and answers with effects (lookups to make, records to emit); it never does
 * I/O and never reads a clock (every input carries its own time).
 */

export type RungName = 'queue_item' | 'listing' | 'board_diff';

/** Where the knowledge that a node ran, or what it returned, came from. */
export type Evidence =
  | 'event_started'
  | 'event_complete'
  | 'event_error'
  /** An `invocation_*` event that failed validation but still named its item and node. */
  | 'event_unparsed'
  | 'session_results'
  | 'session_executed'
  | 'session_errors'
  | 'execution_graph'
  | 'submitted_graph'
  | 'listing';

/** One execution of a node (a prepared copy of a workflow node), as far as it is known. */
export interface NodeFacts {
  readonly preparedId: string;
  /** The workflow node it is a copy of; null while unknown. */
  readonly sourceId: string | null;
  readonly nodeType: string | null;
  readonly isIntermediate: boolean | null;
  /** The board it asked for (`"none"` for none); null while unknown. */
  readonly requestedBoard: string | null;
  /** It started (or anything later is known of it). */
  readonly ran: boolean;
  readonly completed: boolean;
  readonly failed: boolean;
  /** The image names its output returned, once that output is known with its names; null while unknown. */
  readonly outputs: readonly string[] | null;
  /** Its output is a video (6.14): accounted for, and never an image record. */
  readonly video: boolean;
  readonly evidence: readonly Evidence[];
}

/** A node as an input describes it: every field optional, merged into what is known. */
export type NodeSighting = { preparedId: string } & Partial<Omit<NodeFacts, 'preparedId' | 'evidence'>> & { evidence: Evidence };

export type ImageState =
  /** Named by a node; its DTO is being (or about to be) read. */
  | 'claimed'
  /** Made by this item (DTO `session_id` is the item's session). */
  | 'new'
  /** A cache hit: an image of an earlier session, handed out again. */
  | 'cached'
  /** Not an output: a pass-through, an upload, another node's image, or an intermediate. */
  | 'rejected'
  /** Its DTO answered 404: the image was deleted before it could be read. */
  | 'gone'
  /** The lookup failed (a server error); tried again before the item is reported. */
  | 'failed';

export interface ImageFact {
  readonly name: string;
  /** The execution copy that named or made it; null when a listing found it with no node. */
  readonly preparedId: string | null;
  /** The first rung that named it. */
  readonly via: Via;
  readonly state: ImageState;
  readonly attempts: number;
  readonly dto: ImageDto | null;
  /** The record that went out (or was delivered before a restart). */
  readonly record: ImageRecord | null;
  /** Claim order, for execution order when DTO times tie. */
  readonly seq: number;
  readonly error: string | null;
}

export interface TerminalFacts {
  status: TerminalStatus;
  errorType: string | null;
  errorMessage: string | null;
}

/** The outcome of one image DTO lookup. */
export type LookupOutcome =
  | { kind: 'found'; dto: ImageDto }
  | { kind: 'gone' }
  | { kind: 'failed'; error: string }
  | { kind: 'unreachable'; error: string };

/** In `RungRequest.boards`: every image, whatever its board (a listing without `board_id`, docs/protocol.md §5.5). */
export const ALL_BOARDS = '*';

/** What the ladder's rungs need to know of an item. */
export interface RungRequest {
  queueId: string;
  itemId: number;
  sessionId: string | null;
  /** Boards the item's nodes asked for, plus uncategorized; {@link ALL_BOARDS} when they are unknown. */
  boards: readonly string[];
  /** `YYYY-MM-DD HH:MM:SS.fff` UTC: listings stop at images older than this. */
  since: string | null;
  known: ReadonlySet<string>;
}

/** The session as the server stored it, reduced to what the ledger reads (docs/protocol.md §5.2). */
export interface SessionFacts {
  /** The run's session was written back (its execution graph is not empty): results are final. */
  written: boolean;
  /** Prepared id → output object. */
  results: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  executed: ReadonlySet<string>;
  errors: ReadonlySet<string>;
  mapping: ReadonlyMap<string, string>;
  /** Prepared id → what the execution graph says of it. */
  nodes: ReadonlyMap<string, { type: string; isIntermediate: boolean; requestedBoard: string }>;
}

/** Source nodes of a submitted graph that could save an image, with the board each asked for. */
export type GraphSavers = ReadonlyMap<string, { type: string; requestedBoard: string }>;

/** The queue item as read at the item's end. */
export interface QueueItemFacts {
  status: string;
  batchId: string;
  sessionId: string;
  rootItemId: number | null;
  errorType: string | null;
  errorMessage: string | null;
  startedAt: string | null;
  createdAt: string | null;
  /** From the graph as submitted (every generation keeps it). */
  graphSavers: GraphSavers;
  /** The run's session where this generation keeps it; null where it keeps none (4.0–4.2.3). */
  session: SessionFacts | null;
}

export type RungOutcome =
  | { rung: 'queue_item'; kind: 'item'; item: QueueItemFacts; sessionAuthoritative: boolean }
  | { rung: 'queue_item'; kind: 'gone' }
  | { rung: 'listing' | 'board_diff'; kind: 'images'; dtos: readonly ImageDto[]; exhaustive: boolean; note: string | null }
  | { rung: RungName; kind: 'unreachable'; error: string }
  | { rung: RungName; kind: 'failed'; error: string };

/** Inputs of one item. Every input carries `at`, the engine's clock (ms), so records get their time without a clock here. */
export type ItemInput = { at: number } & (
  | { kind: 'node'; node: NodeSighting; result: Readonly<Record<string, unknown>> | null; batchId: string | null; sessionId: string | null }
  | { kind: 'status'; status: string; batchId: string | null; sessionId: string | null; errorType: string | null; errorMessage: string | null }
  | { kind: 'terminal'; status: TerminalStatus; batchId: string | null; sessionId: string | null; errorType: string | null; errorMessage: string | null }
  /** The item is gone from the server (deleted, cleared, pruned) with no terminal status known. */
  | { kind: 'vanished'; batchId: string | null; sessionId: string | null }
  | { kind: 'cancel_requested'; reason: CancelReason }
  | { kind: 'lookups'; outcomes: ReadonlyMap<string, LookupOutcome> }
  | { kind: 'rung'; outcome: RungOutcome }
  | { kind: 'root'; rootItemId: number | null }
  | { kind: 'waited'; why: WaitReason }
  /** The server answers again: a postponed item tries once more. */
  | { kind: 'retry' }
  /** The daemon is stopping: report what is known, wait for nothing more. */
  | { kind: 'stop' }
  /** Image records delivered before a restart (from the state file). */
  | { kind: 'seed'; images: readonly ImageRecord[]; sessionId: string | null; batchId: string | null }
);

export type WaitReason = 'cancel_grace' | 'settle' | 'lookup_retry';

export type Effect =
  | { kind: 'lookup'; names: readonly string[] }
  | { kind: 'rung'; rung: RungName; request: RungRequest }
  /** Read the queue item for its `root_item_id` (a called workflow's child), before its first image goes out. */
  | { kind: 'read_root' }
  | { kind: 'wait'; ms: number; why: WaitReason }
  | { kind: 'emit'; record: OutputRecord }
  | { kind: 'warn'; message: string }
  /** The server could not be reached: retry the item when it answers again. */
  | { kind: 'postponed'; why: string }
  /** The item record went out: the item may be forgotten. */
  | { kind: 'done' };
