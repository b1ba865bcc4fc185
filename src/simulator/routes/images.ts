import type { SimContext } from '../context';
import type { ImageQuery, ImageRecord, ImageStore } from '../images';
import { HttpError, q, type Router } from '../router';
import { boardKey, categoriesOf } from './boards';
import { bodyList, bodyObject } from './body';

/** Missing images are plain 404s in single-user mode. */
function imageOf(images: ImageStore, name: string): ImageRecord {
  const img = images.get(name);
  if (!img) throw new HttpError(404, 'Not Found');
  return img;
}

function listQuery(query: URLSearchParams): ImageQuery {
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
}

type Removal = { affected_boards: string[]; deleted_images: string[]; failed_images: string[] };

function removeImages({ images, cache }: SimContext, names: string[]): Removal {
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
}

/** Image routes (docs/protocol.md §5.5). */
export function imageRoutes(r: Router, ctx: SimContext): void {
  imageListRoutes(r, ctx);
  imageRecordRoutes(r, ctx);
  imageDeleteRoutes(r, ctx);
  imageFileRoutes(r, ctx);
}

/** Listings: pages of DTOs, names, DTOs by name. */
function imageListRoutes(r: Router, { images, profile }: SimContext): void {
  r.add('GET', '/images/', ({ query }) => {
    const offset = q.int(query, 'offset') ?? 0;
    const limit = q.int(query, 'limit') ?? 10;
    const { items, total } = images.query(listQuery(query), offset, limit);
    return { status: 200, json: { limit, offset, total, items: items.map((i) => images.toDTO(i)) } };
  });

  if (profile.imageNamesRoute) r.add('GET', '/images/names', ({ query }) => {
    const { items, total } = images.query(listQuery(query), 0, Number.MAX_SAFE_INTEGER);
    return { status: 200, json: { image_names: items.map((i) => i.name), starred_count: items.filter((i) => i.starred).length, total_count: total } };
  });

  // DTOs in request order, names that do not resolve skipped (`get_images_by_names`, routers/images.py@v6.0.0).
  if (profile.imagesByNamesRoute) r.add('POST', '/images/images_by_names', ({ body }) => {
    const names = bodyList(bodyObject(body)['image_names'], ['body', 'image_names'], 'string');
    const found = names.map((n) => images.get(n)).filter((i): i is ImageRecord => i !== undefined);
    return { status: 200, json: found.map((i) => images.toDTO(i)) };
  });
}

/** One image's record: DTO, changes, stars, URLs, metadata, workflow. */
function imageRecordRoutes(r: Router, { images }: SimContext): void {
  r.add('GET', '/images/i/{image_name}', ({ params }) => ({ status: 200, json: images.toDTO(imageOf(images, params['image_name'] ?? '')) }));

  r.add('PATCH', '/images/i/{image_name}', ({ params, body }) => {
    const img = imageOf(images, params['image_name'] ?? '');
    const changes = bodyObject(body);
    if (typeof changes['starred'] === 'boolean') images.setStarred(img.name, changes['starred']);
    if (typeof changes['is_intermediate'] === 'boolean') img.isIntermediate = changes['is_intermediate'];
    if (typeof changes['session_id'] === 'string') img.sessionId = changes['session_id'];
    const cat = changes['image_category'];
    if (cat === 'general' || cat === 'mask' || cat === 'control' || cat === 'user' || cat === 'other') img.category = cat;
    img.updatedMs = Date.now();
    return { status: 200, json: images.toDTO(img) };
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

  r.add('GET', '/images/i/{image_name}/urls', ({ params }) => {
    const dto = images.toDTO(imageOf(images, params['image_name'] ?? ''));
    return { status: 200, json: { image_name: dto.image_name, image_url: dto.image_url, thumbnail_url: dto.thumbnail_url } };
  });

  r.add('GET', '/images/i/{image_name}/metadata', ({ params }) => ({ status: 200, json: imageOf(images, params['image_name'] ?? '').metadata }));

  r.add('GET', '/images/i/{image_name}/workflow', ({ params }) => {
    imageOf(images, params['image_name'] ?? '');
    return { status: 200, json: { workflow: null, graph: null } };
  });
}

/** Deletions: one image, a list, the uncategorized ones, the intermediates. */
function imageDeleteRoutes(r: Router, ctx: SimContext): void {
  const { images } = ctx;
  r.add('DELETE', '/images/i/{image_name}', ({ params }) => ({ status: 200, json: removeImages(ctx, [params['image_name'] ?? '']) }));

  r.add('POST', '/images/delete', ({ body }) => ({
    status: 200,
    json: removeImages(ctx, bodyList(bodyObject(body)['image_names'], ['body', 'image_names'], 'string')),
  }));

  r.add('DELETE', '/images/uncategorized', () => ({ status: 200, json: removeImages(ctx, images.boardImages(null).map((i) => i.name)) }));

  r.add('GET', '/images/intermediates', () => ({ status: 200, json: images.allImages().filter((i) => i.isIntermediate).length }));

  r.add('DELETE', '/images/intermediates', () => {
    const names = images
      .allImages()
      .filter((i) => i.isIntermediate)
      .map((i) => i.name);
    removeImages(ctx, names);
    return { status: 200, json: names.length };
  });
}

/** The bytes: full PNG (GET and HEAD) and WebP thumbnail. */
function imageFileRoutes(r: Router, { images }: SimContext): void {
  r.add(['GET', 'HEAD'], '/images/i/{image_name}/full', ({ params }) => ({
    status: 200,
    bytes: images.png(imageOf(images, params['image_name'] ?? '')),
    contentType: 'image/png',
    headers: { 'cache-control': 'max-age=31536000', 'content-disposition': `inline; filename="${params['image_name'] ?? ''}"` },
  }));

  r.add('GET', '/images/i/{image_name}/thumbnail', ({ params }) => ({
    status: 200,
    bytes: images.thumbnail(imageOf(images, params['image_name'] ?? '')),
    contentType: 'image/webp',
  }));
}
