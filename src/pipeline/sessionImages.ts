import type { ImageDto } from '../invoke/wire';
import type { ImageListQuery } from '../invoke/api';
import type { SessionImagesRequest, SessionImagesResult } from './itemRun';

export interface ListingDeps {
  listImages(q: ImageListQuery): Promise<{ items: ImageDto[]; total: number }>;
}

export interface ListingOptions {
  includeIntermediate: boolean;
  /** First page size; doubles on each further page up to `maxPage`. @default 20 */
  firstPage?: number;
  /** @default 200 */
  maxPage?: number;
  /** Safety stop per board, in images read. @default 5000 */
  maxScan?: number;
}

/**
 * Rung (b) of the ladder: images of one session found in board listings, newest first. A listing has no
 * session filter (docs/protocol.md §5.5), so each board is read page by page until images older than the item's start:
 * the cost follows the number of images made since the item started, not the size of the board.
 */
export async function findSessionImagesInListings(
  deps: ListingDeps,
  req: SessionImagesRequest,
  opts: ListingOptions,
): Promise<SessionImagesResult> {
  const found: ImageDto[] = [];
  let exhaustive = true;
  for (const board of req.boards) {
    const r = await scanBoard(deps, board, req, opts);
    found.push(...r.images.filter((d) => !found.some((f) => f.image_name === d.image_name)));
    exhaustive &&= r.exhaustive;
  }
  return { images: found, exhaustive, via: 'board_diff' };
}

async function scanBoard(
  deps: ListingDeps,
  board: string,
  req: SessionImagesRequest,
  opts: ListingOptions,
): Promise<{ images: ImageDto[]; exhaustive: boolean }> {
  const images: ImageDto[] = [];
  let limit = opts.firstPage ?? 20;
  const maxPage = opts.maxPage ?? 200;
  const maxScan = opts.maxScan ?? 5000;
  let offset = 0;
  for (;;) {
    const page = await deps.listImages({
      board_id: board,
      offset,
      limit,
      order_dir: 'DESC',
      // Starred images would otherwise come first whatever their age, and break the stop rule.
      starred_first: false,
      ...(opts.includeIntermediate ? {} : { is_intermediate: false }),
    });
    let older = false;
    for (const dto of page.items) {
      if (req.since && dto.created_at && dto.created_at < req.since && !(dto as { starred?: unknown }).starred) {
        older = true;
        continue;
      }
      if (dto.session_id === req.sessionId && !req.known.has(dto.image_name)) images.push(dto);
    }
    offset += page.items.length;
    if (older || page.items.length < limit || offset >= page.total) return { images, exhaustive: true };
    // Without a start time there is no place to stop but the end of the board.
    if (offset >= maxScan) return { images, exhaustive: false };
    limit = Math.min(maxPage, limit * 2);
  }
}
