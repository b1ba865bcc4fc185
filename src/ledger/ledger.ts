import { errorMessage } from '../errors';
import { BoundedSet } from './boundedSet';
import { itemRecord } from './records';
import { reduceItem, type LedgerOptions } from './reduce';
import { withProblem, type ItemState } from './state';
import type { Effect, ItemInput } from './types';

export const itemKey = (queueId: string, itemId: number): string => `${queueId}\u0000${itemId}`;

/**
 * Every open item's state, and the items already reported (so late and duplicate events are dropped). Routes each
 * input to its item's reducer and contains failures: an item whose input cannot be processed (a value that breaks
 * an assumption, a bug) is reported `complete: false` with one warning; no other item notices.
 */
export class Ledger {
  private readonly items = new Map<string, ItemState>();
  private readonly finished: BoundedSet<string>;
  /** Items whose processing failed: they are only waited on for their end, then reported incomplete. */
  private readonly broken = new Set<string>();

  constructor(
    private readonly opts: LedgerOptions,
    finishedMemory = 100_000,
  ) {
    this.finished = new BoundedSet(finishedMemory);
  }

  get openCount(): number {
    return this.items.size;
  }

  isFinished(queueId: string, itemId: number): boolean {
    return this.finished.has(itemKey(queueId, itemId));
  }

  isOpen(queueId: string, itemId: number): boolean {
    return this.items.has(itemKey(queueId, itemId));
  }

  /** Forgets which items of a queue were reported (its server's ids start over after a database reset). */
  forgetFinished(queueId: string): void {
    const prefix = `${queueId}\u0000`;
    this.finished.deleteWhere((k) => k.startsWith(prefix));
  }

  /** Marks an item reported without processing it (a record delivered before a restart). */
  markFinished(queueId: string, itemId: number): void {
    const key = itemKey(queueId, itemId);
    this.items.delete(key);
    this.finished.add(key);
  }

  apply(queueId: string, itemId: number, input: ItemInput): Effect[] {
    const key = itemKey(queueId, itemId);
    if (this.finished.has(key)) return [];
    const prev = this.items.get(key);
    if (this.broken.has(key)) return this.finishBroken(key, prev, input);
    let effects: Effect[];
    try {
      const step = reduceItem(prev, input, { queueId, itemId }, this.opts);
      this.items.set(key, step.state);
      effects = step.effects;
    } catch (err) {
      this.broken.add(key);
      const problem = `its events could not be processed (${errorMessage(err)})`;
      if (prev) this.items.set(key, withProblem(prev, problem));
      return [{ kind: 'warn', message: `item ${itemId} (queue ${queueId}): ${problem}; it will be reported incomplete` }, ...this.finishBroken(key, this.items.get(key), input)];
    }
    if (effects.some((e) => e.kind === 'done')) this.forget(key);
    return effects;
  }

  /** A broken item ends like any other (at its terminal status), with what was known of it and `complete: false`. */
  private finishBroken(key: string, s: ItemState | undefined, input: ItemInput): Effect[] {
    const terminal = input.kind === 'terminal' || (input.kind === 'status' && ['completed', 'failed', 'canceled'].includes(input.status));
    if (!s || !(terminal || input.kind === 'vanished' || s.terminal)) return [];
    const status = s.terminal?.status ?? (input.kind === 'terminal' || input.kind === 'status' ? (input.status as 'completed' | 'failed' | 'canceled') : 'canceled');
    const ended: ItemState = { ...s, terminal: s.terminal ?? { status, errorType: null, errorMessage: null } };
    let record;
    try {
      record = itemRecord(ended, false, input.at, this.opts);
    } catch {
      record = itemRecord({ ...ended, images: new Map() }, false, input.at, this.opts);
    }
    this.forget(key);
    return [{ kind: 'emit', record }, { kind: 'done' }];
  }

  private forget(key: string): void {
    this.items.delete(key);
    this.broken.delete(key);
    this.finished.add(key);
  }

  /** Open items, for the safety net and for diagnostics. */
  openItems(): IterableIterator<ItemState> {
    return this.items.values();
  }
}
