import { Subject, Subscription, asyncScheduler, from, timer, type ObservableInput, type SchedulerLike } from 'rxjs';
import { errorMessage } from '../errors';
import { Ledger, itemKey } from '../ledger/ledger';
import type { LedgerOptions } from '../ledger/reduce';
import type { Effect, ItemInput, LookupOutcome, RungName, RungOutcome, RungRequest } from '../ledger/types';
import type { OutputRecord } from '../records';

/** The effects the ledger asks for, as the engine performs them. Each answers once (an Observable or a Promise). */
export interface EngineDeps {
  lookupImages(names: readonly string[]): ObservableInput<ReadonlyMap<string, LookupOutcome>>;
  runRung(rung: RungName, request: RungRequest): ObservableInput<RungOutcome>;
  /** `root_item_id` of a queue item (null when it has none, or it cannot be read). */
  readRoot(queueId: string, itemId: number): ObservableInput<number | null>;
}

export type EngineOutput =
  | { kind: 'record'; record: OutputRecord }
  | { kind: 'warn'; message: string }
  | { kind: 'postponed'; queueId: string; itemId: number; why: string };

type Input = ItemInput extends infer T ? (T extends unknown ? Omit<T, 'at'> : never) : never;

interface Queued {
  queueId: string;
  itemId: number;
  input: ItemInput;
}

/**
 * Runs the ledger: stamps each input with the scheduler's clock, hands it to the pure reducer, and performs the
 * effects it answers with — lookups, rungs, waits — feeding each result back as a new input. Inputs are handled one
 * at a time, in arrival order (a result that arrives synchronously waits its turn), so an item's records come out in
 * the order its reducer emitted them. Time only passes through `scheduler`.
 */
export class ItemEngine {
  readonly output$ = new Subject<EngineOutput>();
  private readonly ledger: Ledger;
  private readonly queue: Queued[] = [];
  private draining = false;
  private readonly work = new Subscription();
  /** Effects under way (lookups, rungs, root reads); waits are counted apart. */
  private busy = 0;
  /** Waits under way, with the item each belongs to. */
  private readonly waits = new Map<Subscription, string>();
  private readonly postponed = new Set<string>();
  private readonly idle$ = new Subject<void>();
  private closed = false;
  /** Shutting down: every item, open now or heard of later, reports what is known without waiting. */
  private stopping = false;
  private readonly stopped = new Set<string>();

  constructor(
    opts: LedgerOptions,
    private readonly deps: EngineDeps,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {
    this.ledger = new Ledger(opts);
  }

  get openItems(): number {
    return this.ledger.openCount;
  }

  isFinished(queueId: string, itemId: number): boolean {
    return this.ledger.isFinished(queueId, itemId);
  }

  isOpen(queueId: string, itemId: number): boolean {
    return this.ledger.isOpen(queueId, itemId);
  }

  /** After a server's database reset its ids mean other items: the ones reported before are forgotten. */
  forgetFinished(queueId: string): void {
    this.ledger.forgetFinished(queueId);
  }

  markFinished(queueId: string, itemId: number): void {
    this.ledger.markFinished(queueId, itemId);
  }

  push(queueId: string, itemId: number, input: Input): void {
    if (this.closed) return;
    this.queue.push({ queueId, itemId, input: { ...input, at: this.scheduler.now() } });
    if (this.draining) return;
    this.draining = true;
    try {
      for (let q = this.queue.shift(); q; q = this.queue.shift()) this.handle(q);
    } finally {
      this.draining = false;
    }
    this.checkIdle();
  }

  /** Postponed items (their server was unreachable) try again: called when the server answers again. */
  retryPostponed(): void {
    const keys = [...this.postponed];
    this.postponed.clear();
    for (const key of keys) {
      const [queueId, id] = key.split('\u0000') as [string, string];
      this.push(queueId, Number(id), { kind: 'retry' });
    }
  }

  /** True when no lookup, rung or wait is under way. */
  get idle(): boolean {
    return this.busy === 0 && this.waits.size === 0;
  }

  /** Shutdown: ends every wait now, and no item waits again; each reports what is known. */
  flushWaits(): void {
    this.stopping = true;
    for (const [sub] of [...this.waits]) {
      sub.unsubscribe();
      this.waits.delete(sub);
    }
    for (const s of [...this.ledger.openItems()]) this.push(s.queueId, s.itemId, { kind: 'stop' });
    this.checkIdle();
  }

  /** Resolves true once idle, false after `timeoutMs` (on the engine's scheduler). */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.idle) return Promise.resolve(true);
    return new Promise((resolve) => {
      const sub = new Subscription();
      sub.add(this.idle$.subscribe(() => (sub.unsubscribe(), resolve(true))));
      sub.add(this.scheduler.schedule(() => (sub.unsubscribe(), resolve(false)), timeoutMs));
    });
  }

  close(): void {
    this.closed = true;
    this.work.unsubscribe();
    for (const sub of this.waits.keys()) sub.unsubscribe();
    this.waits.clear();
    this.output$.complete();
  }

  private handle(q: Queued): void {
    if (this.stopping && q.input.kind !== 'stop') {
      const key = itemKey(q.queueId, q.itemId);
      if (!this.stopped.has(key)) {
        this.stopped.add(key);
        this.handle({ ...q, input: { kind: 'stop', at: q.input.at } });
      }
    } else if (q.input.kind === 'stop') this.stopped.add(itemKey(q.queueId, q.itemId));
    for (const effect of this.ledger.apply(q.queueId, q.itemId, q.input)) this.perform(q.queueId, q.itemId, effect);
  }

  private perform(queueId: string, itemId: number, e: Effect): void {
    switch (e.kind) {
      case 'emit':
        return this.output$.next({ kind: 'record', record: e.record });
      case 'warn':
        return this.output$.next({ kind: 'warn', message: e.message });
      case 'postponed':
        this.postponed.add(itemKey(queueId, itemId));
        return this.output$.next({ kind: 'postponed', queueId, itemId, why: e.why });
      case 'done':
        return this.endWaits(itemKey(queueId, itemId));
      case 'lookup':
        return this.run(
          () => this.deps.lookupImages(e.names),
          (outcomes) => ({ kind: 'lookups', outcomes }),
          (err) => ({ kind: 'lookups', outcomes: new Map(e.names.map((n) => [n, { kind: 'failed', error: err }])) }),
          queueId,
          itemId,
        );
      case 'rung':
        return this.run(
          () => this.deps.runRung(e.rung, e.request),
          (outcome) => ({ kind: 'rung', outcome }),
          (err) => ({ kind: 'rung', outcome: { rung: e.rung, kind: 'failed', error: err } }),
          queueId,
          itemId,
        );
      case 'read_root':
        return this.run(
          () => this.deps.readRoot(queueId, itemId),
          (rootItemId) => ({ kind: 'root', rootItemId }),
          () => ({ kind: 'root', rootItemId: null }),
          queueId,
          itemId,
        );
      case 'wait':
        return this.wait(queueId, itemId, e.ms, e.why);
    }
  }

  /** One effect: its single answer (or its failure, contained) becomes the item's next input. */
  private run<T>(start: () => ObservableInput<T>, ok: (v: T) => Input, failed: (err: string) => Input, queueId: string, itemId: number): void {
    this.busy += 1;
    let answered = false;
    const answer = (input: Input): void => {
      if (answered) return;
      answered = true;
      this.busy -= 1;
      this.push(queueId, itemId, input);
    };
    try {
      this.work.add(from(start()).subscribe({ next: (v) => answer(ok(v)), error: (err: unknown) => answer(failed(errorMessage(err))), complete: () => answer(failed('no answer')) }));
    } catch (err) {
      answer(failed(errorMessage(err)));
    }
  }

  private wait(queueId: string, itemId: number, ms: number, why: Extract<ItemInput, { kind: 'waited' }>['why']): void {
    const sub: Subscription = timer(ms, this.scheduler).subscribe(() => {
      this.waits.delete(sub);
      this.push(queueId, itemId, { kind: 'waited', why });
    });
    if (!sub.closed) this.waits.set(sub, itemKey(queueId, itemId));
  }

  /** An item that ended waits for nothing more: a grace still running would only keep the engine busy. */
  private endWaits(key: string): void {
    for (const [sub, of] of this.waits) {
      if (of !== key) continue;
      sub.unsubscribe();
      this.waits.delete(sub);
    }
  }

  private checkIdle(): void {
    if (this.idle) this.idle$.next();
  }
}
