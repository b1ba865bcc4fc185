import type { SimContext } from '../context';
import type { ImageQuery, ImageRecord } from '../images';
import { HttpError, q, type Router } from '../router';
import { boardKey, categoriesOf } from './boards';
import { bodyList, bodyObject } from './body';

/** Image routes (docs/protocol.md §5.5). Missing images are plain 404s in single-user mode. */
export function imageRoutes(r: Router, ctx: SimContext): void {
  const { images, cache } = ctx;
  const image = (name: string): ImageRecord => {
    const img = images.get(name);
    if (!img) throw new HttpError(404, 'Not Found');
    return img;
  };

  const listQuery = (query: URLSearchParams): ImageQuery => {
    const boardId = query.get('board_id');
    const isIntermediate = q.bool(query, 'is_intermediate');
    const categories = categoriesOf(query);
    const search = query.get('search_term');
    const origin = q.oneOf(query, 'image_origin', ['internal', 'external'] as const);
    return {
      ...(boardId === null ? {} : { boardId: boardKey(boardId) }),
      ...(isIntermediate === undefined ? {} : { isIntermediate }),
      ...(categories === undefined ? {} : { categories }),
      ...(origin === undefined ? {} : { origin }),
      ...(search === null ? {} : { searchTerm: search }),
      orderDir: q.oneOf(query, 'order_dir', ['ASC', 'DESC'] as const) ?? 'DESC',
      starredFirst: q.bool(query, 'starred_first') ?? true,
    };
  };

  r.add('GET', '/images/', ({ query }) => {
    const offset = q.int(query, 'offset') ?? 0;
    const limit = q.int(query, 'limit') ?? 10;
    const { items, total } = images.query(listQuery(query), offset, limit);
    return { status: 200, json: { limit, offset, total, items: items.map((i) => images.toDTO(i)) } };
  });

  r.add('GET', '/images/names', ({ query }) => {
    const lq = listQuery(query);
    const { items, total } = images.query(lq, 0, Number.MAX_SAFE_INTEGER);
    return { status: 200, json: { image_names: items.map((i) => i.name), starred_count: items.filter((i) => i.starred).length, total_count: total } };
  });

  r.add('POST', '/images/images_by_names', ({ body }) => {
    const names = bodyList(bodyObject(body)['image_names'], ['body', 'image_names'], 'string');
    const found = names.map((n) => images.get(n)).filter((i): i is ImageRecord => i !== undefined);
    return { status: 200, json: found.map((i) => images.toDTO(i)) };
  });

  r.add('GET', '/images/i/{image_name}', ({ params }) => ({ status: 200, json: images.toDTO(image(params['image_name'] ?? '')) }));

  r.add('PATCH', '/images/i/{image_name}', ({ params, body }) => {
    const img = image(params['image_name'] ?? '');
    const changes = bodyObject(body);
    if (typeof changes['starred'] === 'boolean') images.setStarred(img.name, changes['starred']);
    if (typeof changes['is_intermediate'] === 'boolean') img.isIntermediate = changes['is_intermediate'];
    if (typeof changes['session_id'] === 'string') img.sessionId = changes['session_id'];
    const cat = changes['image_category'];
    if (cat === 'general' || cat === 'mask' || cat === 'control' || cat === 'user' || cat === 'other') img.category = cat;
    img.updatedMs = Date.now();
    return { status: 200, json: images.toDTO(img) };
  });

  const remove = (names: string[]): { affected_boards: string[]; deleted_images: string[]; failed_images: string[] } => {
    const affected = new Set<string>();
    const deleted: string[] = [];
    for (const n of names) {
      const img = images.delete(n);
      if (!img) continue;
      affected.add(img.boardId ?? 'none');
      cache.evictImage(n);
      deleted.push(n);
    }
    return { affected_boards: [...affected], deleted_images: deleted, failed_images: [] };
  };

  r.add('DELETE', '/images/i/{image_name}', ({ params }) => ({ status: 200, json: remove([params['image_name'] ?? '']) }));

  r.add('POST', '/images/delete', ({ body }) => ({
    status: 200,
    json: remove(bodyList(bodyObject(body)['image_names'], ['body', 'image_names'], 'string')),
  }));

  r.add('DELETE', '/images/uncategorized', () => ({ status: 200, json: remove(images.boardImages(null).map((i) => i.name)) }));

  r.add('GET', '/images/intermediates', () => ({ status: 200, json: images.allImages().filter((i) => i.isIntermediate).length }));

  r.add('DELETE', '/images/intermediates', () => {
    const names = images
      .allImages()
      .filter((i) => i.isIntermediate)
      .map((i) => i.name);
    remove(names);
    return { status: 200, json: names.length };
  });

  for (const [path, starred] of [
    ['/images/star', true],
    ['/images/unstar', false],
  ] as const)
    r.add('POST', path, ({ body }) => {
      const names = bodyList(bodyObject(body)['image_names'], ['body', 'image_names'], 'string');
      const done: string[] = [];
      const affected = new Set<string>();
      for (const n of names) {
        const img = images.setStarred(n, starred);
        if (!img) continue;
        done.push(n);
        affected.add(img.boardId ?? 'none');
      }
      return { status: 200, json: { affected_boards: [...affected], [starred ? 'starred_images' : 'unstarred_images']: done } };
    });

  r.add(['GET', 'HEAD'], '/images/i/{image_name}/full', ({ params }) => ({
    status: 200,
    bytes: images.png(image(params['image_name'] ?? '')),
    contentType: 'image/png',
    headers: { 'cache-control': 'max-age=31536000', 'content-disposition': `inline; filename="${params['image_name'] ?? ''}"` },
  }));

  r.add('GET', '/images/i/{image_name}/thumbnail', ({ params }) => ({
    status: 200,
    bytes: images.thumbnail(image(params['image_name'] ?? '')),
    contentType: 'image/webp',
  }));

  r.add('GET', '/images/i/{image_name}/urls', ({ params }) => {
    const dto = images.toDTO(image(params['image_name'] ?? ''));
    return { status: 200, json: { image_name: dto.image_name, image_url: dto.image_url, thumbnail_url: dto.thumbnail_url } };
  });

  r.add('GET', '/images/i/{image_name}/metadata', ({ params }) => ({ status: 200, json: image(params['image_name'] ?? '').metadata }));

  r.add('GET', '/images/i/{image_name}/workflow', ({ params }) => {
    image(params['image_name'] ?? '');
    return { status: 200, json: { workflow: null, graph: null } };
  });

}
