import { EMPTY, Subject, merge, concatMap, defer, filter, finalize, firstValueFrom, from, groupBy, mergeMap, of, tap, timer, map, race, type Observable } from 'rxjs';
import type { ImageRecord, OutputRecord } from '../records';
import { TERMINAL_STATUSES, type QueueEvent } from '../invoke/wire';
import { BoundedSet } from './boundedSet';
import { ItemRun, type ResolverContext, type TerminalNotice } from './itemRun';

/** Work for one item: an event from the socket, or a terminal notice found by reconciliation. */
export type ItemWork =
  | { kind: 'event'; queueId: string; itemId: number; event: QueueEvent; graced?: boolean }
  | { kind: 'terminal'; queueId: string; itemId: number; notice: TerminalNotice };

/**
 * How long a canceled item that was running waits for its last node: a node without a cancellation checkpoint runs
 * to its end and saves its image after the `canceled` status (docs/protocol.md §8.5). @default 3000
 */
export const DEFAULT_CANCEL_GRACE_MS = 3000;

export interface TrackerOptions {
  queues: ReadonlySet<string>;
  /** How many finished item keys to remember for dropping late and duplicate events. @default 100000 */
  finishedMemory?: number;
}

/** The daemon's memory of items: which are open (in flight) and which are already reported. */
export class TrackerState {
  readonly open = new Map<string, ItemRun>();
  readonly finished: BoundedSet<string>;
  /** Image records of an item already delivered before a restart (from the state file). */
  seed: (queueId: string, itemId: number) => readonly ImageRecord[] = () => [];
  /** Work units accepted and not yet done. */
  private pending = 0;
  private readonly idle$ = new Subject<void>();

  constructor(finishedMemory = 100_000) {
    this.finished = new BoundedSet(finishedMemory);
  }

  beginWork(): void {
    this.pending += 1;
  }

  endWork(): void {
    this.pending -= 1;
    if (this.pending === 0) this.idle$.next();
  }

  get busy(): boolean {
    return this.pending > 0;
  }

  /** Canceled items waiting out their grace, by key. */
  readonly graces = new Map<string, { timer: NodeJS.Timeout; fire: () => void }>();

  /** Ends every grace now (shutdown: report what is known rather than wait). */
  flushGraces(): void {
    for (const [key, g] of this.graces) {
      clearTimeout(g.timer);
      this.graces.delete(key);
      g.fire();
    }
  }

  /** Resolves true once no work is in flight, false after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    return firstValueFrom(race(this.idle$.pipe(map(() => true)), timer(timeoutMs).pipe(map(() => false))));
  }
}

export const itemKey = (queueId: string, itemId: number): string => `${queueId}\u0000${itemId}`;

const isRedacted = (e: { userId: string | null; batchId: string }): boolean =>
  e.userId === 'redacted' || e.batchId === 'redacted';

/** Turns queue events into per-item work; bulk cancels fan out, foreign and other queues' events drop out. */
export function toItemWork(events$: Observable<QueueEvent>, queues: ReadonlySet<string>): Observable<ItemWork> {
  return events$.pipe(
    filter((e) => queues.has(e.queueId)),
    mergeMap((e): Observable<ItemWork> => {
      switch (e.kind) {
        case 'items_canceled':
          return from(
            e.itemIds.map((itemId): ItemWork => ({
              kind: 'terminal',
              queueId: e.queueId,
              itemId,
              notice: { queueId: e.queueId, itemId, status: 'canceled', errorType: null, errorMessage: null },
            })),
          );
        case 'cleared':
          return EMPTY;
        default:
          return isRedacted(e) ? EMPTY : of({ kind: 'event', queueId: e.queueId, itemId: e.itemId, event: e });
      }
    }),
  );
}

/**
 * The core pipeline: groups work by queue item, confirms each image as soon as its node completes, and at the
 * item's terminal status runs the fallback ladder and emits the `item` record after all of the item's images.
 * Per item, work is handled in order (concatMap); items proceed in parallel.
 */
export function trackOutputs(work$: Observable<ItemWork>, ctx: ResolverContext, state = new TrackerState()): Observable<OutputRecord> {
  const closed$ = new Subject<string>();
  const later$ = new Subject<ItemWork>();
  const grace = ctx.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
  const wait = (key: string, w: ItemWork): void => {
    if (state.graces.has(key)) return;
    state.beginWork();
    const fire = (): void => {
      state.graces.delete(key);
      later$.next({ ...w, graced: true } as ItemWork);
      state.endWork();
    };
    state.graces.set(key, { timer: setTimeout(fire, grace), fire });
  };
  return merge(work$, later$).pipe(
    filter((w) => matters(w, ctx) && !state.finished.has(itemKey(w.queueId, w.itemId))),
    tap(() => state.beginWork()),
    groupBy((w) => itemKey(w.queueId, w.itemId), {
      duration: (g) => closed$.pipe(filter((k) => k === g.key)),
    }),
    mergeMap((group) => {
      const first = group.key;
      let run = state.open.get(first);
      return group.pipe(
        concatMap((w) =>
          defer(async (): Promise<OutputRecord[]> => {
            run ??= openRun(state, ctx, w);
            if (run.finished) return [];
            if (w.kind === 'terminal') return run.finish(w.notice);
            const e = w.event;
            if (e.kind === 'complete') return run.onNodeComplete(e);
            if (e.kind === 'started' || e.kind === 'error') run.noteNode(e);
            if (e.kind !== 'status') return [];
            if (e.status === 'in_progress') run.running = run.startSeen = true;
            if (e.status === 'pending') run.announcedPending = true;
            // A parent suspended on a called workflow (6.14+) runs no node until it resumes: a cancel then ends it at once.
            else if (e.status === 'waiting') run.running = false;
            if (!TERMINAL_STATUSES.has(e.status)) return [];
            if (e.status === 'canceled' && run.running && grace > 0 && !w.graced) {
              wait(first, w);
              return [];
            }
            return run.finish(e);
          }).pipe(
            mergeMap((records) => from(records)),
            finalize(() => state.endWork()),
          ),
        ),
        tap((rec) => {
          if (rec.type !== 'item') return;
          state.open.delete(first);
          state.finished.add(first);
          closed$.next(first);
        }),
      );
    }),
  );
}

/**
 * Only a node's completion and a terminal status can yield records; the rest of the stream (`invocation_started`,
 * `invocation_error`, running statuses: about half of all events) would only queue a no-op per item, so it stops
 * here. Except on servers that keep no results (4.0–4.2.3): there a node's start is the only place that ties an
 * execution copy to its workflow node, should its completion be lost.
 */
function matters(w: ItemWork, ctx: ResolverContext): boolean {
  if (w.kind === 'terminal') return true;
  const e = w.event;
  if (e.kind === 'started' || e.kind === 'error') return !ctx.sessionResults && !ctx.sessionsRoute;
  // Status events are few (three or four per item) and tell a running item from a pending one.
  return e.kind === 'complete' || e.kind === 'status';
}

function openRun(state: TrackerState, ctx: ResolverContext, w: ItemWork): ItemRun {
  const key = itemKey(w.queueId, w.itemId);
  const run = new ItemRun(ctx, w.queueId, w.itemId);
  run.seed(state.seed(w.queueId, w.itemId));
  state.open.set(key, run);
  // Items stay open from their first event to their record; this many at once means records are not coming out
  // (a server that never finishes items, or lost terminal events): worth a warning at each new order of magnitude.
  if (state.open.size >= OPEN_WARNING && (state.open.size & (state.open.size - 1)) === 0) {
    ctx.log.warn(`${state.open.size} queue items are open (started, not yet finished); memory grows with them`);
  }
  return run;
}

/** Open items from which a warning is logged (then at every doubling). */
const OPEN_WARNING = 4096;
