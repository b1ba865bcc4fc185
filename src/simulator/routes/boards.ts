import type { BoardChanges, BoardRecord, BoardStore } from '../boards';
import type { SimContext } from '../context';
import { IMAGE_CATEGORIES, type ImageCategory } from '../images';
import type { Json } from '../json';
import { HttpError, q, Unprocessable, type RouteResult, type Router } from '../router';
import { boardImageRoutes } from './boardImages';
import { bodyObject, bodyString } from './body';

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

/** `GET /boards/`: every board (`all`), or a page of them; neither is a 400 (docs/protocol.md §5.4). */
function listBoards(boards: BoardStore, query: URLSearchParams): RouteResult {
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
}

/** `BoardChanges` of a PATCH body; unknown keys are a 422 (the model forbids extras). */
function boardChanges(raw: Readonly<Record<string, Json>>): BoardChanges {
  const changes: BoardChanges = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'board_name') changes.board_name = bodyString(v, ['body', k]);
    else if (k === 'cover_image_name') changes.cover_image_name = v === null ? null : bodyString(v, ['body', k]);
    else if (k === 'archived' && typeof v === 'boolean') changes.archived = v;
    else if (k === 'board_visibility' && (v === 'private' || v === 'shared' || v === 'public')) changes.board_visibility = v;
    else throw new Unprocessable([{ type: 'extra_forbidden', loc: ['body', k], msg: 'Extra inputs are not permitted', input: v }]);
  }
  return changes;
}

/**
 * `DELETE /boards/{id}`: its images and videos are uncategorized (listed as `deleted_board_*`), or deleted with
 * `include_images` (listed as `deleted_*`, routers/boards.py@v6.14.0-rc1).
 */
function deleteBoard({ boards, images, videos, cache }: SimContext, b: BoardRecord, includeImages: boolean): RouteResult {
  const names = images.boardImages(b.board_id).map((i) => i.name);
  const videoNames = videos.boardVideos(b.board_id).map((v) => v.name);
  for (const n of names) {
    if (includeImages) {
      images.delete(n);
      cache.evictImage(n);
    } else images.move(n, null);
  }
  for (const n of videoNames) {
    const v = includeImages ? videos.delete(n) : videos.get(n);
    if (v && !includeImages) v.boardId = null;
  }
  boards.delete(b.board_id);
  const json = {
    board_id: b.board_id,
    deleted_board_images: includeImages ? [] : names,
    deleted_images: includeImages ? names : [],
    deleted_board_videos: includeImages ? [] : videoNames,
    deleted_videos: includeImages ? videoNames : [],
    failed_images: [],
    failed_videos: [],
  };
  return { status: 200, json };
}

/** Boards and board membership (docs/protocol.md §5.4); no socket events exist for any of it. */
export function boardRoutes(r: Router, ctx: SimContext): void {
  const { boards } = ctx;
  const board = (id: string): BoardRecord => {
    const b = boards.get(id);
    if (!b) throw new HttpError(404, 'Board not found');
    return b;
  };
  r.add('GET', '/boards/', ({ query }) => listBoards(boards, query));
  r.add('POST', '/boards/', ({ query }) => {
    const name = q.required(query, 'board_name');
    if (name.length > 300)
      throw new Unprocessable([{ type: 'string_too_long', loc: ['query', 'board_name'], msg: 'String should have at most 300 characters', input: name, ctx: { max_length: 300 } }]);
    return { status: 201, json: boards.toDTO(boards.create(name)) };
  });
  r.add('GET', '/boards/{board_id}', ({ params }) => ({ status: 200, json: boards.toDTO(board(params['board_id'] ?? '')) }));
  r.add('PATCH', '/boards/{board_id}', ({ params, body }) => {
    const b = board(params['board_id'] ?? '');
    boards.update(b.board_id, boardChanges(bodyObject(body)));
    return { status: 201, json: boards.toDTO(b) };
  });
  r.add('DELETE', '/boards/{board_id}', ({ params, query }) => deleteBoard(ctx, board(params['board_id'] ?? ''), q.bool(query, 'include_images') ?? false));
  boardImageNamesRoute(r, ctx);
  boardImageRoutes(r, ctx);
}

/** `GET /boards/{id}/image_names`: bare names, unordered, unpaged (docs/protocol.md §5.4). */
function boardImageNamesRoute(r: Router, { images }: SimContext): void {
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
}
