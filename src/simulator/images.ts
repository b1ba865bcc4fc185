import { createHash } from 'node:crypto';
import { sqliteTime, uuid } from './clock';
import { encodePng, encodeWebp, type Rgba } from './encode';
import type { Json } from './json';

export type ImageCategory = 'general' | 'mask' | 'control' | 'user' | 'other';
/** `internal`: made by a node; `external`: uploaded (`POST /images/upload`). */
export type ImageOrigin = 'internal' | 'external';
export const IMAGE_CATEGORIES: readonly ImageCategory[] = ['general', 'mask', 'control', 'user', 'other'];

/** `ImageDTO` as `GET /images/i/{name}` returns it (docs/protocol.md §5.5); nulls are serialized. */
export interface ImageDTO extends MediaRecordFields {
  image_name: string;
  image_url: string;
  thumbnail_url: string;
  image_origin: ImageOrigin;
  image_category: ImageCategory;
  image_subfolder: string;
}

/** The fields `ImageDTO` and `VideoDTO` share, with the same names and meaning. */
export interface MediaRecordFields {
  width: number;
  height: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  is_intermediate: boolean;
  session_id: string | null;
  node_id: string | null;
  starred: boolean;
  has_workflow: boolean;
  board_id: string | null;
}

/** Compact record: 100 000 of these must stay cheap, so DTOs and bytes are built on demand. */
export interface ImageRecord {
  readonly name: string;
  readonly seq: number;
  width: number;
  height: number;
  category: ImageCategory;
  isIntermediate: boolean;
  sessionId: string | null;
  nodeId: string | null;
  boardId: string | null;
  starred: boolean;
  readonly createdMs: number;
  updatedMs: number;
  hasWorkflow: boolean;
  metadata: Json;
  readonly origin: ImageOrigin;
  /** An upload's own bytes, served as they came (PNG uploads only; others get a solid PNG of their size). */
  readonly bytes?: Buffer;
  /** Who uploaded it (multi-user mode): the uploader may read it, like the images its runs made. */
  readonly ownerId?: string;
}

export interface NewImage {
  name?: string;
  width: number;
  height: number;
  category?: ImageCategory;
  isIntermediate: boolean;
  sessionId: string | null;
  nodeId: string | null;
  boardId: string | null;
  hasWorkflow?: boolean;
  metadata?: Json;
  origin?: ImageOrigin;
  bytes?: Buffer;
  ownerId?: string;
}

export interface ImageQuery {
  /** `undefined` = every board; `null` = uncategorized. */
  boardId?: string | null;
  isIntermediate?: boolean;
  categories?: readonly ImageCategory[];
  origin?: ImageOrigin;
  searchTerm?: string;
  orderDir: 'ASC' | 'DESC';
  starredFirst: boolean;
}

const NONE = '\u0000none';

/** Ordered by `seq` = creation order, which is `created_at` order; listings never sort. */
class OrderedList {
  readonly items: ImageRecord[] = [];
  starred = 0;
  insert(r: ImageRecord): void {
    const a = this.items;
    if (a.length === 0 || (a[a.length - 1]?.seq ?? -1) < r.seq) a.push(r);
    else a.splice(firstAtOrAfter(a, r.seq), 0, r);
    if (r.starred) this.starred++;
  }
  remove(r: ImageRecord): void {
    const a = this.items;
    const lo = firstAtOrAfter(a, r.seq);
    if (a[lo] === r) {
      a.splice(lo, 1);
      if (r.starred) this.starred--;
    }
  }
}

/** Index of the first record with `seq` at or after the given one, in a list ordered by `seq` (binary search). */
function firstAtOrAfter(a: readonly ImageRecord[], seq: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid]?.seq ?? 0) < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ImageStore {
  private readonly byName = new Map<string, ImageRecord>();
  private readonly all = new OrderedList();
  private readonly byBoard = new Map<string, OrderedList>();
  private seq = 0;
  private readonly pngCache = new Map<string, Buffer>();

  get size(): number {
    return this.byName.size;
  }

  get(name: string): ImageRecord | undefined {
    return this.byName.get(name);
  }

  private list(boardId: string | null): OrderedList {
    const key = boardId ?? NONE;
    let l = this.byBoard.get(key);
    if (!l) {
      l = new OrderedList();
      this.byBoard.set(key, l);
    }
    return l;
  }

  add(img: NewImage, now: number = Date.now()): ImageRecord {
    const r: ImageRecord = {
      name: img.name ?? `${uuid()}.png`,
      seq: this.seq++,
      width: img.width,
      height: img.height,
      category: img.category ?? 'general',
      isIntermediate: img.isIntermediate,
      sessionId: img.sessionId,
      nodeId: img.nodeId,
      boardId: img.boardId,
      starred: false,
      createdMs: now,
      updatedMs: now,
      hasWorkflow: img.hasWorkflow ?? false,
      metadata: img.metadata ?? null,
      origin: img.origin ?? 'internal',
      ...(img.bytes ? { bytes: img.bytes } : {}),
      ...(img.ownerId === undefined ? {} : { ownerId: img.ownerId }),
    };
    if (this.byName.has(r.name)) throw new Error(`image ${r.name} already exists`);
    this.byName.set(r.name, r);
    this.all.insert(r);
    this.list(r.boardId).insert(r);
    return r;
  }

  delete(name: string): ImageRecord | undefined {
    const r = this.byName.get(name);
    if (!r) return undefined;
    this.byName.delete(name);
    this.all.remove(r);
    this.list(r.boardId).remove(r);
    return r;
  }

  move(name: string, boardId: string | null): ImageRecord | undefined {
    const r = this.byName.get(name);
    if (!r) return undefined;
    if (r.boardId === boardId) return r;
    this.list(r.boardId).remove(r);
    r.boardId = boardId;
    this.list(boardId).insert(r);
    return r;
  }

  setStarred(name: string, starred: boolean): ImageRecord | undefined {
    const r = this.byName.get(name);
    if (!r || r.starred === starred) return r;
    const d = starred ? 1 : -1;
    this.all.starred += d;
    this.list(r.boardId).starred += d;
    r.starred = starred;
    r.updatedMs = Date.now();
    return r;
  }

  /** Images of a board (`null` = uncategorized), oldest first. */
  boardImages(boardId: string | null): readonly ImageRecord[] {
    return this.byBoard.get(boardId ?? NONE)?.items ?? [];
  }

  allImages(): readonly ImageRecord[] {
    return this.all.items;
  }

  /**
   * `GET /images/` semantics: filters, then `starred DESC, created_at <dir>` (docs/protocol.md §5.5).
   * Returns the page and the total without sorting anything.
   */
  query(q: ImageQuery, offset: number, limit: number): { items: ImageRecord[]; total: number } {
    const list = q.boardId === undefined ? this.all : (this.byBoard.get(q.boardId ?? NONE) ?? new OrderedList());
    const a = list.items;
    const cats = q.categories && q.categories.length < IMAGE_CATEGORIES.length ? new Set(q.categories) : undefined;
    const term = q.searchTerm?.toLowerCase();
    const filtered = q.isIntermediate !== undefined || cats !== undefined || q.origin !== undefined || (term !== undefined && term !== '');
    const match = (r: ImageRecord): boolean =>
      (q.isIntermediate === undefined || r.isIntermediate === q.isIntermediate) &&
      (q.origin === undefined || r.origin === q.origin) &&
      (cats === undefined || cats.has(r.category)) &&
      (term === undefined || term === '' || matchesTerm(r, term));
    const desc = q.orderDir === 'DESC';
    const twoPass = q.starredFirst && list.starred > 0;
    if (!filtered && !twoPass) {
      const total = a.length;
      const items: ImageRecord[] = [];
      for (let i = offset; i < Math.min(total, offset + limit); i++) {
        const r = a[desc ? total - 1 - i : i];
        if (r) items.push(r);
      }
      return { items, total };
    }
    const items: ImageRecord[] = [];
    let seen = 0;
    const passes: ((r: ImageRecord) => boolean)[] = twoPass ? [(r) => r.starred, (r) => !r.starred] : [() => true];
    for (const pass of passes)
      for (let i = 0; i < a.length; i++) {
        const r = a[desc ? a.length - 1 - i : i] as ImageRecord;
        if (!pass(r) || !match(r)) continue;
        if (seen >= offset && items.length < limit) items.push(r);
        seen++;
      }
    return { items, total: seen };
  }

  toDTO(r: ImageRecord): ImageDTO {
    return {
      image_name: r.name,
      // LocalUrlService: relative, no leading slash, no base_url prefix (docs/protocol.md §5.5).
      image_url: `api/v1/images/i/${r.name}/full`,
      thumbnail_url: `api/v1/images/i/${r.name}/thumbnail`,
      image_origin: r.origin,
      image_category: r.category,
      width: r.width,
      height: r.height,
      created_at: sqliteTime(r.createdMs),
      updated_at: sqliteTime(r.updatedMs),
      deleted_at: null,
      is_intermediate: r.isIntermediate,
      session_id: r.sessionId,
      node_id: r.nodeId,
      starred: r.starred,
      has_workflow: r.hasWorkflow,
      image_subfolder: '',
      board_id: r.boardId,
    };
  }

  /** PNG bytes, made on first request only (seeded boards of 100 000 images cost no bytes). */
  png(r: ImageRecord): Buffer {
    if (r.bytes) return r.bytes;
    const meta = r.metadata === null ? undefined : JSON.stringify(r.metadata);
    const key = `${r.width}x${r.height}:${colorKey(r.name)}:${meta === undefined ? '' : r.name}`;
    let buf = this.pngCache.get(key);
    if (!buf) {
      buf = encodePng(r.width, r.height, colorOf(r.name), meta === undefined ? {} : { invokeai_metadata: meta });
      if (this.pngCache.size >= 16) this.pngCache.delete(this.pngCache.keys().next().value as string);
      this.pngCache.set(key, buf);
    }
    return buf;
  }

  /** WebP thumbnail, longest side at most 256 px like InvokeAI's. */
  thumbnail(r: ImageRecord): Buffer {
    const scale = Math.min(1, 256 / Math.max(r.width, r.height));
    return encodeWebp(Math.max(1, Math.round(r.width * scale)), Math.max(1, Math.round(r.height * scale)), colorOf(r.name));
  }
}

function matchesTerm(r: ImageRecord, term: string): boolean {
  return sqliteTime(r.createdMs).includes(term) || (r.metadata !== null && JSON.stringify(r.metadata).toLowerCase().includes(term));
}

function colorKey(name: string): number {
  return createHash('md5').update(name).digest().readUInt32BE(0) & 0xffffff;
}

function colorOf(name: string): Rgba {
  const c = colorKey(name);
  return { r: (c >> 16) & 0xff, g: (c >> 8) & 0xff, b: c & 0xff, a: 255 };
}
