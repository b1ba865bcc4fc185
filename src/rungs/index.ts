import { defer } from 'rxjs';
import type { EngineDeps } from '../engine/engine';
import type { ServerConnection } from '../invoke/connection';
import type { RungName, RungOutcome, RungRequest } from '../ledger/types';
import { boardDiffRung } from './boardDiff';
import { ImageLookup } from './imageLookup';
import { findSessionImages } from './listing';
import { failure, queueItemRung } from './queueItem';

export interface RungsOptions {
  includeIntermediate: boolean;
  /** A board only this run writes to (`run --temp-board`): enables the board diff rung. */
  tempBoard?: string | null;
}

/**
 * The ladder, in order: the socket (live, in the ledger), the queue item (or 3.x's sessions API), image listings
 * matched by `session_id`, and the board diff of a run's own board. Each rung is a small function over the server
 * connection that says what it proved and whether it was exhaustive.
 */
export function ladderRungs(opts: RungsOptions): RungName[] {
  return opts.tempBoard ? ['queue_item', 'listing', 'board_diff'] : ['queue_item', 'listing'];
}

/** The engine's effects, performed against one server. */
export function engineDeps(conn: ServerConnection, opts: RungsOptions): EngineDeps & { lookup: ImageLookup } {
  const lookup = new ImageLookup(conn.api, () => conn.caps);
  const rung = async (name: RungName, req: RungRequest): Promise<RungOutcome> => {
    switch (name) {
      case 'queue_item':
        return queueItemRung({ api: conn.api, items: conn.items, caps: () => conn.caps }, req);
      case 'listing':
        try {
          const r = await findSessionImages({ listImages: (q) => conn.api.listImages(q) }, req, { includeIntermediate: opts.includeIntermediate });
          return { rung: 'listing', kind: 'images', dtos: r.images, exhaustive: r.exhaustive, note: r.note };
        } catch (err) {
          return failure('listing', err);
        }
      case 'board_diff':
        return opts.tempBoard ? boardDiffRung(conn.api, lookup, opts.tempBoard, req) : { rung: 'board_diff', kind: 'failed', error: 'no board of the run' };
    }
  };
  return {
    lookup,
    lookupImages: (names) => defer(() => lookup.load(names)),
    runRung: (name, req) => defer(() => rung(name, req)),
    readRoot: (queueId, itemId) =>
      defer(async () => {
        try {
          return (await conn.items.one(queueId, itemId))?.root_item_id ?? null;
        } catch {
          // The item record reads it again; until then the item is its own root.
          return null;
        }
      }),
  };
}
