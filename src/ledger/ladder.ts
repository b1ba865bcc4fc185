import { gaps, needsListing } from './completeness';
import type { EvidenceOptions } from './evidence';
import { imageRecord, itemRecord, type RecordOptions } from './records';
import { isUnsettled, withImage, type ItemState } from './state';
import { ALL_BOARDS, type Effect, type RungName } from './types';

export interface LadderOptions extends EvidenceOptions, RecordOptions {
  /** A canceled item with a node still running waits this long for that node before it is read, ms. */
  cancelGraceMs: number;
  /** At most this long (ms) does a canceled item wait for its session to be written once its last node stopped. */
  settleTimeoutMs: number;
  /** First pause before reading such an item again, ms; doubles each time. */
  settleBackoffMs: number;
  /** Items may be children of a called saved workflow (6.14+): their records name the chain's root. */
  workflowCalls: boolean;
  /** The rungs available at an item's end, in order. */
  rungs: readonly RungName[];
  /** DTO lookups of one image, counting the first, before it is given up as unreadable. */
  maxLookupAttempts: number;
}

export interface Step {
  state: ItemState;
  effects: Effect[];
}

/** A called workflow's child names its root; events do not say which, so such an item is read once (docs/protocol.md §8.8). */
function rootNeeded(s: ItemState, opts: LadderOptions): boolean {
  return opts.workflowCalls && !s.rootKnown && !(s.startSeen && !s.announcedPending);
}

/** Image records go out as soon as their DTO says they are outputs (and, for a called workflow's child, its root is known). */
export function emitImages(s: ItemState, fx: Effect[], at: number, opts: LadderOptions): ItemState {
  let state = s;
  for (const f of s.images.values()) {
    if (f.record !== null || (f.state !== 'new' && f.state !== 'cached')) continue;
    if (rootNeeded(state, opts)) {
      if (!state.rootPending) {
        fx.push({ kind: 'read_root' });
        state = { ...state, rootPending: true };
      }
      return state;
    }
    const record = imageRecord(state, f, at, opts);
    if (record.requested_board_id !== null && record.requested_board_id !== record.board_id && !record.cached) {
      fx.push({
        kind: 'warn',
        message: `image ${record.image_name} of node ${record.node_id ?? record.prepared_node_id ?? '?'} (item ${s.itemId}) is on board ${record.board_id}, not on the requested board ${record.requested_board_id}`,
      });
    }
    fx.push({ kind: 'emit', record });
    state = withImage(state, f.name, { record });
  }
  return state;
}

function hasUnsettledNode(s: ItemState): boolean {
  return [...s.nodes.values()].some(isUnsettled);
}

/** Starts the end of an item: a canceled item whose node still runs waits for it a little first. */
export function beginEnd(s: ItemState, fx: Effect[], opts: LadderOptions): ItemState {
  if (s.phase !== 'open') return s;
  if (s.terminal?.status === 'canceled' && !s.waiting && !s.stopping && opts.cancelGraceMs > 0 && hasUnsettledNode(s)) {
    fx.push({ kind: 'wait', ms: opts.cancelGraceMs, why: 'cancel_grace' });
    return { ...s, phase: 'grace' };
  }
  return { ...s, phase: 'ladder' };
}

function startRung(s: ItemState, rung: RungName, fx: Effect[]): ItemState {
  const known = new Set<string>(s.images.keys());
  const boards = new Set<string>(['none']);
  for (const n of s.nodes.values()) if (n.requestedBoard !== null) boards.add(n.requestedBoard);
  for (const g of s.graphSavers.values()) boards.add(g.requestedBoard);
  // Gone before its graph was read: the nodes heard of need not be all of them, nor their boards all it wrote to.
  const unknownBoards = s.gone && s.graphSavers.size === 0;
  fx.push({
    kind: 'rung',
    rung,
    request: { queueId: s.queueId, itemId: s.itemId, sessionId: s.sessionId, boards: unknownBoards ? [ALL_BOARDS] : [...boards], since: s.startedAt ?? s.createdAt, known },
  });
  return { ...s, rungBusy: rung };
}

/** A canceled item read before its session was written: read it again, later, while time allows. */
function settleWait(s: ItemState, fx: Effect[], at: number, opts: LadderOptions): ItemState | null {
  if (s.terminal?.status !== 'canceled' || s.sessionWritten || !s.tried.has('queue_item') || !hasUnsettledNode(s)) return null;
  if (s.gone || !s.sessionExpected || s.stopping) return null;
  const since = s.settleSince ?? at;
  if (at - since >= opts.settleTimeoutMs) return null;
  const ms = Math.min(opts.settleBackoffMs * 2 ** s.settleAttempts, opts.settleTimeoutMs - (at - since));
  fx.push({ kind: 'wait', ms, why: 'settle' });
  return { ...s, phase: 'settling', settleSince: since, settleAttempts: s.settleAttempts + 1 };
}

/** The next rung, retry or record of an item that ended; nothing while a rung or a lookup is under way. */
export function climb(s: ItemState, fx: Effect[], at: number, opts: LadderOptions): ItemState {
  if (s.phase === 'grace' && !hasUnsettledNode(s)) s = { ...s, phase: 'ladder' };
  if (s.phase !== 'ladder' || s.rungBusy !== null || s.inFlight.size > 0 || s.rootPending) return s;
  if (opts.rungs.includes('queue_item') && !s.tried.has('queue_item')) return startRung(s, 'queue_item', fx);
  const settling = settleWait(s, fx, at, opts);
  if (settling) return settling;
  const retry = [...s.images.values()].filter(
    (f) => f.state === 'claimed' || (f.state === 'failed' && f.attempts < opts.maxLookupAttempts) || (f.record !== null && f.dto === null && f.attempts < 2),
  );
  if (retry.length > 0) {
    fx.push({ kind: 'lookup', names: retry.map((f) => f.name) });
    return { ...s, inFlight: new Set(retry.map((f) => f.name)) };
  }
  if (s.sessionId !== null) {
    for (const rung of ['listing', 'board_diff'] as const) {
      if (opts.rungs.includes(rung) && !s.tried.has(rung) && needsListing(s, opts)) return startRung(s, rung, fx);
    }
  }
  return finish(s, fx, at, opts);
}

function finish(s: ItemState, fx: Effect[], at: number, opts: LadderOptions): ItemState {
  const reasons = gaps(s, opts);
  const complete = reasons.length === 0;
  if (!complete) fx.push({ kind: 'warn', message: `item ${s.itemId} (queue ${s.queueId}) reported incomplete: ${reasons.join('; ')}` });
  fx.push({ kind: 'emit', record: itemRecord(s, complete, at, opts) }, { kind: 'done' });
  return { ...s, phase: 'done' };
}
