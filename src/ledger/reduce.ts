import { TERMINAL_STATUSES } from '../invoke/wire';
import type { TerminalStatus, Via } from '../records';
import { withListing, withLookups, withOutput, withSession } from './evidence';
import { beginEnd, climb, emitImages, type LadderOptions, type Step } from './ladder';
import { newItem, withNode, withProblem, type ItemState } from './state';
import type { Effect, ImageFact, ItemInput, RungOutcome } from './types';

export type { Step } from './ladder';
export type LedgerOptions = LadderOptions;

/**
 * The item ledger: `reduce(state, input) → { state, effects }`, with no I/O. Inputs are what the socket, the queue
 * session and finished lookups tell; effects are what to ask the server next and which records to emit. Whether the
 * item is `complete` is derived from its facts when it ends (see completeness.ts), never set along the way.
 */
export function reduceItem(prev: ItemState | undefined, input: ItemInput, key: { queueId: string; itemId: number }, opts: LedgerOptions): Step {
  const s0 = prev ?? newItem(key.queueId, key.itemId);
  if (s0.phase === 'done') return { state: s0, effects: [] };
  const fx: Effect[] = [];
  let s = apply(s0, input, fx, opts);
  s = emitImages(s, fx, input.at, opts);
  if (s.terminal !== null) s = climb(beginEnd(s, fx, opts), fx, input.at, opts);
  return { state: s, effects: fx };
}

function apply(s: ItemState, input: ItemInput, fx: Effect[], opts: LedgerOptions): ItemState {
  switch (input.kind) {
    case 'node': {
      const r = withOutput(withIds(s, input), input.node, input.result, 'socket', opts);
      return lookup(r.state, r.lookups, fx);
    }
    case 'status':
      return onStatus(withIds(s, input), input);
    case 'terminal':
      return withTerminal(withIds(s, input), input.status, input.errorType, input.errorMessage);
    case 'vanished': {
      const gone = withProblem({ ...withIds(s, input), gone: true }, 'queue item is gone (deleted, cleared or pruned)');
      const tried = new Map(gone.tried).set('queue_item', { exhaustive: false, note: 'gone' });
      // Vanished means canceled: it was running or waiting, so a server restart or a delete ended it.
      return withTerminal({ ...gone, tried }, 'canceled', null, null);
    }
    case 'cancel_requested':
      return s.cancelRequested === null ? { ...s, cancelRequested: input.reason } : s;
    case 'lookups': {
      const next = withLookups(s, input.outcomes, opts);
      const unreachable = [...input.outcomes.values()].find((o) => o.kind === 'unreachable');
      return unreachable && next.phase === 'ladder' ? postpone(next, fx, unreachable.error) : next;
    }
    case 'rung':
      return onRung({ ...s, rungBusy: null }, input.outcome, fx, opts);
    case 'root':
      return { ...s, rootItemId: input.rootItemId ?? s.itemId, rootKnown: true, rootPending: false };
    case 'waited':
      if (input.why === 'cancel_grace' && s.phase === 'grace') return { ...s, phase: 'ladder' };
      if (input.why === 'settle' && s.phase === 'settling') return rereadQueueItem(s);
      return s;
    case 'retry':
      return s.phase === 'postponed' ? { ...s, phase: 'ladder' } : s;
    case 'stop':
      // A settling item is read once more (its session may be written by now), then reported as it is.
      if (s.phase === 'settling') return rereadQueueItem({ ...s, stopping: true });
      return { ...s, stopping: true, phase: s.phase === 'grace' ? 'ladder' : s.phase };
    case 'seed':
      return seeded(withIds(s, input), input.images);
  }
}

function withIds(s: ItemState, ids: { batchId?: string | null; sessionId?: string | null }): ItemState {
  const batchId = s.batchId ?? ids.batchId ?? null;
  const sessionId = s.sessionId ?? ids.sessionId ?? null;
  return batchId === s.batchId && sessionId === s.sessionId ? s : { ...s, batchId, sessionId };
}

function lookup(s: ItemState, names: readonly string[], fx: Effect[]): ItemState {
  if (names.length === 0) return s;
  fx.push({ kind: 'lookup', names });
  const inFlight = new Set(s.inFlight);
  for (const n of names) inFlight.add(n);
  return { ...s, inFlight };
}

function onStatus(s: ItemState, e: Extract<ItemInput, { kind: 'status' }>): ItemState {
  if (TERMINAL_STATUSES.has(e.status)) return withTerminal(s, e.status as TerminalStatus, e.errorType, e.errorMessage);
  switch (e.status) {
    case 'in_progress':
      return { ...s, startSeen: true, waiting: false };
    case 'pending':
      return { ...s, announcedPending: true, waiting: false };
    case 'waiting':
      return { ...s, waiting: true };
    default:
      return s;
  }
}

function withTerminal(s: ItemState, status: TerminalStatus, errorType: string | null, errorMessage: string | null): ItemState {
  if (s.terminal !== null) return s;
  return { ...s, terminal: { status, errorType, errorMessage } };
}

function postpone(s: ItemState, fx: Effect[], why: string): ItemState {
  fx.push({ kind: 'postponed', why });
  return { ...s, phase: 'postponed', postponements: s.postponements + 1 };
}

function rereadQueueItem(s: ItemState): ItemState {
  const tried = new Map(s.tried);
  tried.delete('queue_item');
  return { ...s, tried, phase: 'ladder' };
}

function onRung(s: ItemState, o: RungOutcome, fx: Effect[], opts: LedgerOptions): ItemState {
  if (o.kind === 'unreachable') return postpone(s, fx, o.error);
  const tried = new Map(s.tried);
  if (o.kind === 'failed') {
    tried.set(o.rung, { exhaustive: false, note: o.error });
    return withProblem({ ...s, tried }, `${o.rung === 'queue_item' ? 'queue item' : 'image listing'} could not be read: ${o.error}`);
  }
  if (o.kind === 'gone') {
    tried.set('queue_item', { exhaustive: false, note: 'gone' });
    return withTerminal(withProblem({ ...s, tried, gone: true }, 'queue item is gone (deleted, cleared or pruned)'), 'canceled', null, null);
  }
  if (o.kind === 'images') {
    tried.set(o.rung, { exhaustive: o.exhaustive, note: o.note });
    const via: Via = 'board_diff';
    const state = withListing({ ...s, tried }, o.dtos, via, opts);
    return o.exhaustive || !o.note ? state : withProblem(state, o.note);
  }
  const item = o.item;
  if (!TERMINAL_STATUSES.has(item.status)) {
    // Not over after all (a stale notice): back to following it.
    return { ...s, terminal: null, phase: 'open', tried: new Map(), settleSince: null, settleAttempts: 0 };
  }
  tried.set('queue_item', { exhaustive: o.sessionAuthoritative, note: null });
  const authoritative = { ...s, tried, terminal: { status: item.status as TerminalStatus, errorType: item.errorType, errorMessage: item.errorMessage } };
  const r = withSession(authoritative, item, o.sessionAuthoritative, opts);
  return lookup(r.state, r.lookups, fx);
}

/** Image records delivered before a restart: known and counted in the item record, never emitted again. */
function seeded(s: ItemState, images: Extract<ItemInput, { kind: 'seed' }>['images']): ItemState {
  let state = s;
  for (const rec of images) {
    if (state.images.has(rec.image_name)) continue;
    if (rec.prepared_node_id !== null) {
      state = withNode(state, {
        preparedId: rec.prepared_node_id,
        sourceId: rec.node_id,
        nodeType: rec.node_type,
        requestedBoard: rec.requested_board_id,
        completed: true,
        evidence: 'event_complete',
      });
    }
    const fact: ImageFact = {
      name: rec.image_name,
      preparedId: rec.prepared_node_id,
      via: rec.via,
      state: rec.cached ? 'cached' : 'new',
      attempts: 1,
      dto: null,
      record: rec,
      seq: state.seq,
      error: null,
    };
    (state.images as Map<string, ImageFact>).set(rec.image_name, fact);
    state = { ...state, seq: state.seq + 1, rootItemId: state.rootItemId ?? rec.root_item_id, rootKnown: true };
  }
  return state;
}
