import { createHash } from 'node:crypto';

/*
 * The NDJSON records of CONTRACT.md. The library emits these same objects; the CLI prints them.
 * Keys are snake_case like InvokeAI's own; a field that cannot be known is null, never absent.
 */

/** Where a fact came from. */
export type Via = 'socket' | 'queue_item' | 'board_diff';

export interface ImageRecord {
  type: 'image';
  /** Stable id of this fact: the same across restarts and daemons, different for different facts ({@link recordId}). */
  record_id: string;
  server: string;
  queue_id: string;
  item_id: number;
  batch_id: string | null;
  session_id: string | null;
  /** The workflow's node id (`invocation_source_id`). */
  node_id: string | null;
  /** The execution-graph copy that ran (`invocation.id` / `ImageDTO.node_id`). */
  prepared_node_id: string | null;
  node_type: string | null;
  image_name: string;
  /** The board the image is on, from its DTO; `"none"` for uncategorized. */
  board_id: string;
  /** The board the graph asked for: `"none"` when none, null when unknown. */
  requested_board_id: string | null;
  is_intermediate: boolean;
  width: number | null;
  height: number | null;
  image_url: string | null;
  /** An existing image returned by a cache hit; listed under its node but not in `new_images`. */
  cached: boolean;
  /** The run that started a chain of called workflows; otherwise the item's own id. */
  root_item_id: number;
  via: Via;
  /** `--download`: absolute path of the saved file. */
  file?: string;
  ts: string;
}

export type TerminalStatus = 'completed' | 'failed' | 'canceled';

export type CancelReason = 'timeout' | 'signal';

export interface ItemNodeSummary {
  node_type: string | null;
  board_id: string;
  image_names: string[];
}

export interface BoardSummary {
  added: string[];
  count_before: number | null;
  count_after: number | null;
}

export interface ItemRecord {
  type: 'item';
  /** Stable id of this fact ({@link recordId}). */
  record_id: string;
  server: string;
  queue_id: string;
  item_id: number;
  batch_id: string | null;
  session_id: string | null;
  root_item_id: number;
  status: TerminalStatus;
  error_type: string | null;
  error_message: string | null;
  /** Why this daemon canceled the item: `run --timeout` or a signal to `run`; null when someone else did, or it was not canceled. */
  cancel_reason: CancelReason | null;
  nodes: Record<string, ItemNodeSummary>;
  new_images: string[];
  boards: Record<string, BoardSummary>;
  via: Via[];
  /** False when the outputs could not all be confirmed (a warning says why). */
  complete: boolean;
  ts: string;
}

export type OutputRecord = ImageRecord | ItemRecord;

/** The spelling InvokeAI uses in its API paths for "no board". */
export const NO_BOARD = 'none';

/**
 * `record_id`: the first 32 hex digits of SHA-256 over `<server>\n<session_id>\nitem` (item records) or
 * `<server>\n<session_id>\nimage\n<image_name>` (image records). Session ids are UUIDs, so ids stay distinct even
 * when a server's item ids restart after a database reset. An item whose session is unknown (it vanished before
 * it was ever read) is keyed by its queue and item id instead.
 */
export function recordId(server: string, sessionId: string | null, queueId: string, itemId: number, imageName?: string): string {
  const session = sessionId ?? `${queueId}/${itemId}`;
  const text = imageName === undefined ? `${server}\n${session}\nitem` : `${server}\n${session}\nimage\n${imageName}`;
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);
}
