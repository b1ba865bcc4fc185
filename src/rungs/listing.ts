import type { ImageListQuery } from '../invoke/api';
import type { ImageDto } from '../invoke/wire';
import { ALL_BOARDS, type RungRequest } from '../ledger/types';

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

export interface ListingResult {
  /** The session's images the request did not know yet, in execution order (oldest first). */
  images: ImageDto[];
  /** False when a board could not be read back to the item's start: then the item is not `complete`. */
  exhaustive: boolean;
  note: string | null;
}

/**
 * The listing rung: images of one session found in board listings, newest first. A listing has no session filter
 * (docs/protocol.md §5.5), so each board is read page by page until images older than the item's start: the cost
 * follows the number of images made since the item started, not the size of the board.
 */
export async function findSessionImages(deps: ListingDeps, req: RungRequest, opts: ListingOptions): Promise<ListingResult> {
  const found = new Map<string, { dto: ImageDto; rank: number }>();
  let exhaustive = true;
  const notes: string[] = [];
  let rank = 0;
  for (const board of req.boards) {
    const r = await scanBoard(deps, board, req, opts);
    // A board lists newest first: counting down makes the tie-break of equal creation times the reverse of listing
    // order, i.e. the order the images were stored in.
    for (const dto of r.images) if (!found.has(dto.image_name)) found.set(dto.image_name, { dto, rank: rank-- });
    if (!r.exhaustive) {
      exhaustive = false;
      notes.push(`the listing of board ${board} stopped after ${r.read} images without reaching the item's start`);
    }
  }
  const images = [...found.values()]
    .sort((a, b) => compareCreated(a.dto, b.dto) || a.rank - b.rank)
    .map((f) => f.dto);
  return { images, exhaustive, note: notes.length ? notes.join('; ') : null };
}

/** Execution order: creation time ascending (`YYYY-MM-DD HH:MM:SS.fff` sorts as text). */
function compareCreated(a: ImageDto, b: ImageDto): number {
  const ta = a.created_at ?? '';
  const tb = b.created_at ?? '';
  return ta === tb ? 0 : ta < tb ? -1 : 1;
}

async function scanBoard(deps: ListingDeps, board: string, req: RungRequest, opts: ListingOptions): Promise<{ images: ImageDto[]; exhaustive: boolean; read: number }> {
  const images: ImageDto[] = [];
  let limit = opts.firstPage ?? 20;
  const maxPage = opts.maxPage ?? 200;
  const maxScan = opts.maxScan ?? 5000;
  let offset = 0;
  for (;;) {
    const page = await deps.listImages({
      ...(board === ALL_BOARDS ? {} : { board_id: board }),
      offset,
      limit,
      order_dir: 'DESC',
      // Starred images would otherwise come first whatever their age, and break the stop rule.
      starred_first: false,
      ...(opts.includeIntermediate ? {} : { is_intermediate: false }),
    });
    let older = false;
    for (const dto of page.items) {
      if (req.since && dto.created_at && dto.created_at < req.since) {
        older = true;
        continue;
      }
      if (dto.session_id === req.sessionId && !req.known.has(dto.image_name)) images.push(dto);
    }
    offset += page.items.length;
    if (older || page.items.length < limit || offset >= page.total) return { images, exhaustive: true, read: offset };
    // Without a start time there is no place to stop but the end of the board.
    if (offset >= maxScan) return { images, exhaustive: false, read: offset };
    limit = Math.min(maxPage, limit * 2);
  }
}
