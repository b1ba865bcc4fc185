import type { SimContext } from '../context';
import { HttpError, type Router } from '../router';
import { bodyList, bodyObject, bodyString } from './body';

/** Board membership (`board_images.py`): add and remove one or many images; no socket events (docs/protocol.md §5.4). */
export function boardImageRoutes(r: Router, ctx: SimContext): void {
  const { boards, images } = ctx;
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
