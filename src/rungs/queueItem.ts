import { OutputsError, errorMessage } from '../errors';
import type { InvokeApi } from '../invoke/api';
import type { ServerCaps } from '../invoke/generation';
import type { QueueItems } from '../invoke/queueItems';
import type { WireQueueItem, WireSession } from '../invoke/wire';
import type { RungName, RungOutcome, RungRequest } from '../ledger/types';
import { queueItemFacts } from './queueItemFacts';

export interface QueueItemRungDeps {
  api: InvokeApi;
  items: QueueItems;
  caps: () => ServerCaps;
}

/** A server that cannot be reached is no answer: the item waits for it rather than being reported incomplete. */
export function failure(rung: RungName, err: unknown): RungOutcome {
  const error = errorMessage(err);
  return err instanceof OutputsError && err.code === 'UNREACHABLE' ? { rung, kind: 'unreachable', error } : { rung, kind: 'failed', error };
}

/** The session of the run where this generation keeps it: the queue item (4.2.4+) or the sessions API (3.x). */
async function storedSession(deps: QueueItemRungDeps, item: WireQueueItem): Promise<WireSession | null> {
  const caps = deps.caps();
  if (caps.sessionResults) return item.session ?? null;
  if (caps.sessionsRoute) return deps.api.session(item.session_id);
  return null;
}

/**
 * The queue item rung: the finished item as the server stored it. Its session is the authority on what ran
 * (docs/protocol.md §8.4) once it was written back; before that, or where it never is, it proves nothing.
 */
export async function queueItemRung(deps: QueueItemRungDeps, req: RungRequest): Promise<RungOutcome> {
  try {
    const item = await deps.items.one(req.queueId, req.itemId);
    if (!item) return { rung: 'queue_item', kind: 'gone' };
    const facts = queueItemFacts(item, await storedSession(deps, item));
    return { rung: 'queue_item', kind: 'item', item: facts, sessionAuthoritative: facts.session?.written === true };
  } catch (err) {
    return failure('queue_item', err);
  }
}
