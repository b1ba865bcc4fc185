import type { InvokeApi } from '../invoke/api';
import type { RungOutcome, RungRequest } from '../ledger/types';
import type { ImageLookup } from './imageLookup';
import { failure } from './queueItem';

/**
 * The board diff rung, for a run that writes into a board of its own (`run --temp-board`): every image on that
 * board belongs to the run, so its full name list, checked image by image for the item's session, is exhaustive —
 * whatever the listings' order or creation times say.
 */
export async function boardDiffRung(api: InvokeApi, lookup: ImageLookup, board: string, req: RungRequest): Promise<RungOutcome> {
  try {
    const names = (await api.boardImageNames(board, { isIntermediate: false })).filter((n) => !req.known.has(n));
    const outcomes = await lookup.load(names);
    const dtos = [];
    const unread: string[] = [];
    for (const [name, o] of outcomes) {
      if (o.kind === 'unreachable') return { rung: 'board_diff', kind: 'unreachable', error: o.error };
      if (o.kind === 'failed') unread.push(name);
      if (o.kind === 'found' && o.dto.session_id === req.sessionId) dtos.push(o.dto);
    }
    dtos.sort((a, b) => ((a.created_at ?? '') < (b.created_at ?? '') ? -1 : 1));
    const note = unread.length ? `${unread.length} image(s) of board ${board} could not be read` : null;
    return { rung: 'board_diff', kind: 'images', dtos, exhaustive: unread.length === 0, note };
  } catch (err) {
    return failure('board_diff', err);
  }
}
