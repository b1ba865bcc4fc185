import type { BoardChanges, BoardRecord } from '../boards';
import type { SimContext } from '../context';
import { IMAGE_CATEGORIES, type ImageCategory } from '../images';
import { HttpError, q, Unprocessable, type Router } from '../router';
import { bodyList, bodyObject, bodyString } from './body';

/** `none` in paths means "no board" (docs/protocol.md §5.4). */
export const boardKey = (id: string): string | null => (id === 'none' ? null : id);

export function categoriesOf(query: URLSearchParams): ImageCategory[] | undefined {
  const cats = query.getAll('categories');
  if (cats.length === 0) return undefined;
  cats.forEach((c, i) => {
    if (!(IMAGE_CATEGORIES as readonly string[]).includes(c))
      throw new Unprocessable([
        { type: 'enum', loc: ['query', 'categories', i], msg: "Input should be 'general', 'mask', 'control', 'user' or 'other'", input: c },
      ]);
  });
  return cats as ImageCategory[];
}

/** Boards and board membership (docs/protocol.md §5.4); no socket events exist for any of it. */
export function boardRoutes(r: Router, ctx: SimContext): void {
  const { boards, images, cache } = ctx;
  const board = (id: string): BoardRecord => {
    const b = boards.get(id);
    if (!b) throw new HttpError(404, 'Board not found');
    return b;
  };

  r.add('GET', '/boards/', ({ query }) => {
    const all = q.bool(query, 'all');
    const offset = q.int(query, 'offset');
    const limit = q.int(query, 'limit');
    const orderBy = q.oneOf(query, 'order_by', ['created_at', 'board_name'] as const) ?? 'created_at';
    const dir = q.oneOf(query, 'direction', ['ASC', 'DESC'] as const) ?? 'DESC';
    const includeArchived = q.bool(query, 'include_archived') ?? false;
    const list = boards
      .list()
      .filter((b) => includeArchived || !b.archived)
      .sort((a, b) => (orderBy === 'board_name' ? a.board_name.localeCompare(b.board_name) : a.createdMs - b.createdMs));
    if (dir === 'DESC') list.reverse();
    if (all === true) return { status: 200, json: list.map((b) => boards.toDTO(b)) };
    if (offset !== undefined && limit !== undefined)
      return { status: 200, json: { limit, offset, total: list.length, items: list.slice(offset, offset + limit).map((b) => boards.toDTO(b)) } };
    throw new HttpError(400, "Invalid request: Must provide either 'all' or both 'offset' and 'limit'");
  });

  r.add('POST', '/boards/', ({ query }) => {
    const name = q.required(query, 'board_name');
    if (name.length > 300)
      throw new Unprocessable([{ type: 'string_too_long', loc: ['query', 'board_name'], msg: 'String should have at most 300 characters', input: name, ctx: { max_length: 300 } }]);
    return { status: 201, json: boards.toDTO(boards.create(name)) };
  });

  r.add('GET', '/boards/{board_id}', ({ params }) => ({ status: 200, json: boards.toDTO(board(params['board_id'] ?? '')) }));

  r.add('PATCH', '/boards/{board_id}', ({ params, body }) => {
    const b = board(params['board_id'] ?? '');
    const raw = bodyObject(body);
    const changes: BoardChanges = {};
    for (const [k, v] of Object.entries(raw)) {
      if (k === 'board_name') changes.board_name = bodyString(v, ['body', k]);
      else if (k === 'cover_image_name') changes.cover_image_name = v === null ? null : bodyString(v, ['body', k]);
      else if (k === 'archived' && typeof v === 'boolean') changes.archived = v;
      else if (k === 'board_visibility' && (v === 'private' || v === 'shared' || v === 'public')) changes.board_visibility = v;
      else throw new Unprocessable([{ type: 'extra_forbidden', loc: ['body', k], msg: 'Extra inputs are not permitted', input: v }]);
    }
    boards.update(b.board_id, changes);
    return { status: 201, json: boards.toDTO(b) };
  });

  r.add('DELETE', '/boards/{board_id}', ({ params, query }) => {
    const b = board(params['board_id'] ?? '');
    const includeImages = q.bool(query, 'include_images') ?? false;
    const names = images.boardImages(b.board_id).map((i) => i.name);
    for (const n of names) {
      if (includeImages) {
        images.delete(n);
        cache.evictImage(n);
      } else images.move(n, null);
    }
    boards.delete(b.board_id);
    return {
      status: 200,
      json: {
        board_id: b.board_id,
        deleted_board_images: names,
        deleted_images: includeImages ? names : [],
        deleted_board_videos: [],
        deleted_videos: [],
        failed_images: [],
        failed_videos: [],
      },
    };
  });

  r.add('GET', '/boards/{board_id}/image_names', ({ params, query }) => {
    const id = boardKey(params['board_id'] ?? '');
    const isIntermediate = q.bool(query, 'is_intermediate');
    const cats = categoriesOf(query);
    const names = images
      .boardImages(id)
      .filter((i) => (isIntermediate === undefined || i.isIntermediate === isIntermediate) && (cats === undefined || cats.includes(i.category)))
      .map((i) => i.name);
    return { status: 200, json: names };
  });

  const addToBoard = (boardId: string, names: string[]): { affected_boards: string[]; added_images: string[] } => {
    // The real route wraps failures in a 500 (board_images.py).
    if (!boards.has(boardId)) throw new HttpError(500, 'Failed to add images to board');
    const affected = new Set<string>([boardId]);
    const added: string[] = [];
    for (const n of names) {
      const img = images.get(n);
      if (!img) continue;
      affected.add(img.boardId ?? 'none');
      images.move(n, boardId);
      added.push(n);
    }
    return { affected_boards: [...affected], added_images: added };
  };

  const removeFromBoard = (names: string[]): { affected_boards: string[]; removed_images: string[] } => {
    const affected = new Set<string>(['none']);
    const removed: string[] = [];
    for (const n of names) {
      const img = images.get(n);
      if (!img) continue;
      affected.add(img.boardId ?? 'none');
      images.move(n, null);
      removed.push(n);
    }
    return { affected_boards: [...affected], removed_images: removed };
  };

  r.add('POST', '/board_images/', ({ body }) => {
    const b = bodyObject(body);
    const boardId = bodyString(b['board_id'], ['body', 'board_id']);
    const name = bodyString(b['image_name'], ['body', 'image_name']);
    if (!images.get(name)) throw new HttpError(500, 'Failed to add image to board');
    return { status: 201, json: addToBoard(boardId, [name]) };
  });

  r.add('DELETE', '/board_images/', ({ body }) => {
    const name = bodyString(bodyObject(body)['image_name'], ['body', 'image_name']);
    if (!images.get(name)) throw new HttpError(500, 'Failed to remove image from board');
    return { status: 201, json: removeFromBoard([name]) };
  });

  r.add('POST', '/board_images/batch', ({ body }) => {
    const b = bodyObject(body);
    const boardId = bodyString(b['board_id'], ['body', 'board_id']);
    return { status: 201, json: addToBoard(boardId, bodyList(b['image_names'], ['body', 'image_names'], 'string')) };
  });

  r.add('POST', '/board_images/batch/delete', ({ body }) => ({
    status: 201,
    json: removeFromBoard(bodyList(bodyObject(body)['image_names'], ['body', 'image_names'], 'string')),
  }));
}
