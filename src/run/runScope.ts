import type { ItemEngine } from '../engine/engine';
import type { WireQueueItem } from '../invoke/wire';
import type { CatchUpScope } from '../session/catchUp';

/** Run's catch-up scope: exactly the run's own items (its batch's), until each is reported. */
export class RunScope implements CatchUpScope {
  /** Every item of the run heard of (enqueued, or a child of a called workflow in its batch). */
  readonly ids = new Set<number>();
  readonly reported = new Set<number>();

  constructor(
    private readonly batchId: string,
    private readonly engine: ItemEngine,
  ) {}

  get unreported(): number[] {
    return [...this.ids].filter((id) => !this.reported.has(id)).sort((a, b) => a - b);
  }

  candidates(queue: string): Promise<{ ids: number[]; items: ReadonlyMap<number, WireQueueItem> | null }> {
    return Promise.resolve({ ids: this.unreported.filter((id) => !this.engine.isFinished(queue, id)), items: null });
  }

  foreign(): void {
    /* the run's own items are never another user's */
  }

  unfinished(): void {
    /* still running: followed by its events, and read again at the next poll */
  }

  known(_queue: string, id: number): { batchId: string | null; sessionId: string | null } | null {
    return this.ids.has(id) ? { batchId: this.batchId, sessionId: null } : null;
  }

  unknownGone(): void {
    /* not ours */
  }
}
