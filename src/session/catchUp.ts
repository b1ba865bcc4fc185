import type { QueueItems } from '../invoke/queueItems';
import { TERMINAL_STATUSES, splitLegacyError, type WireQueueItem } from '../invoke/wire';
import type { TerminalStatus } from '../records';
import type { ItemWork } from './toInputs';

/** What a catch-up looks at in one queue, and where what it finds goes. Watch keeps a cursor; run, a set of ids. */
export interface CatchUpScope {
  /** Ids to look at now; `full` asks for a fresh listing of the queue (a connect, or every so often). */
  candidates(queue: string, full: boolean): Promise<{ ids: number[]; items: ReadonlyMap<number, WireQueueItem> | null }>;
  /** Another user's item, seen redacted by a non-admin: never ours to report. */
  foreign(queue: string, id: number): void;
  /** Still pending, running or waiting. */
  unfinished(queue: string, item: WireQueueItem): void;
  /** What is known of an id before this read (null: never heard of it). */
  known(queue: string, id: number): { batchId: string | null; sessionId: string | null } | null;
  /** Gone from the server before anyone heard of it: not ours. */
  unknownGone(queue: string, id: number): void;
}

/** A non-admin reading another user's item on a multi-user server gets it redacted (docs/protocol.md §5.2). */
export function isForeignItem(item: WireQueueItem): boolean {
  return item.user_id === 'redacted' || item.batch_id === 'redacted';
}

/** The one terminal notice of an item read over HTTP. */
export function terminalNotice(item: WireQueueItem): ItemWork['input'] {
  const legacy = splitLegacyError(item.error ?? null);
  return {
    kind: 'terminal',
    status: item.status as TerminalStatus,
    batchId: item.batch_id,
    sessionId: item.session_id,
    errorType: item.error_type ?? legacy.errorType,
    errorMessage: item.error_message ?? legacy.errorMessage,
  };
}

/**
 * The one catch-up routine of watch and run: reads the items a scope names (in batches where the server can) and
 * turns what it finds into notices — an item that ended is handed to the ledger as ended, one that is gone as
 * vanished (the ledger's "vanished means canceled" rule), one still running stays followed.
 */
export async function catchUp(items: QueueItems, queue: string, scope: CatchUpScope, full: boolean, push: (w: ItemWork) => void): Promise<number> {
  const { ids, items: listed } = await scope.candidates(queue, full);
  if (ids.length === 0) return 0;
  const found = listed ?? (await items.many(queue, ids));
  let notices = 0;
  for (const id of ids) {
    const item = found.get(id) ?? null;
    if (item && isForeignItem(item)) {
      scope.foreign(queue, id);
      continue;
    }
    if (item && !TERMINAL_STATUSES.has(item.status)) {
      scope.unfinished(queue, item);
      continue;
    }
    const known = scope.known(queue, id);
    if (!item && !known) {
      scope.unknownGone(queue, id);
      continue;
    }
    notices += 1;
    push({ queueId: queue, itemId: id, input: item ? terminalNotice(item) : { kind: 'vanished', batchId: known?.batchId ?? null, sessionId: known?.sessionId ?? null } });
  }
  return notices;
}
