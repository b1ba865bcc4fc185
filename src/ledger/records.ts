import { NO_BOARD, recordId, type BoardSummary, type ImageRecord, type ItemNodeSummary, type ItemRecord, type Via } from '../records';
import type { ItemState } from './state';
import type { ImageFact } from './types';

/* Record assembly: pure functions of the ledger's facts (CONTRACT.md's records). */

export interface RecordOptions {
  server: string;
  /** Absolute URL of an image file; InvokeAI's `image_url` is relative to the server root (docs/protocol.md §5.5). */
  imageUrl(name: string, relative: string | null): string;
}

const iso = (at: number): string => new Date(at).toISOString();

export function imageRecord(s: ItemState, f: ImageFact, at: number, opts: RecordOptions): ImageRecord {
  const dto = f.dto!;
  const node = f.preparedId === null ? undefined : s.nodes.get(f.preparedId);
  return {
    type: 'image',
    record_id: recordId(opts.server, s.sessionId, s.queueId, s.itemId, f.name),
    server: opts.server,
    queue_id: s.queueId,
    item_id: s.itemId,
    batch_id: s.batchId,
    session_id: s.sessionId,
    node_id: node?.sourceId ?? null,
    prepared_node_id: f.preparedId,
    node_type: node?.nodeType ?? null,
    image_name: f.name,
    board_id: dto.board_id ?? NO_BOARD,
    requested_board_id: node?.requestedBoard ?? null,
    is_intermediate: dto.is_intermediate === true,
    width: dto.width ?? null,
    height: dto.height ?? null,
    image_url: opts.imageUrl(f.name, dto.image_url ?? null),
    cached: f.state === 'cached',
    root_item_id: s.rootItemId ?? s.itemId,
    via: f.via,
    ts: iso(at),
  };
}

/** Execution order: the DTO's creation time (unknown first), then the order the images were first named. */
function executionOrder(a: ImageFact, b: ImageFact): number {
  const ta = a.dto?.created_at ?? '';
  const tb = b.dto?.created_at ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.seq - b.seq;
}

export function itemRecord(s: ItemState, complete: boolean, at: number, opts: RecordOptions): ItemRecord {
  const t = s.terminal!;
  // Keys are workflow node ids and board ids: user-chosen strings, `__proto__` included.
  const nodes = Object.create(null) as Record<string, ItemNodeSummary>;
  const boards = Object.create(null) as Record<string, BoardSummary>;
  const vias: Via[] = [];
  const newImages: string[] = [];
  const out = [...s.images.values()].filter((f) => f.record !== null).sort(executionOrder);
  for (const f of out) {
    const img = f.record!;
    if (!vias.includes(img.via)) vias.push(img.via);
    // An image whose workflow node is unknown is left out of `nodes` (never keyed by an execution id); the item
    // is then not complete, and a warning says why.
    if (img.node_id !== null) {
      const n = (nodes[img.node_id] ??= { node_type: img.node_type, board_id: img.board_id, image_names: [] });
      n.image_names.push(img.image_name);
    }
    if (img.cached) continue;
    newImages.push(img.image_name);
    (boards[img.board_id] ??= { added: [], count_before: null, count_after: null }).added.push(img.image_name);
  }
  const failed = t.status === 'failed';
  return {
    type: 'item',
    record_id: recordId(opts.server, s.sessionId, s.queueId, s.itemId),
    server: opts.server,
    queue_id: s.queueId,
    item_id: s.itemId,
    batch_id: s.batchId,
    session_id: s.sessionId,
    root_item_id: s.rootItemId ?? s.itemId,
    status: t.status,
    error_type: failed ? t.errorType : null,
    error_message: failed ? t.errorMessage : null,
    cancel_reason: t.status === 'canceled' ? s.cancelRequested : null,
    nodes,
    new_images: newImages,
    boards,
    via: vias,
    complete,
    ts: iso(at),
  };
}
