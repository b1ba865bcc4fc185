/*
 * The NDJSON records of CONTRACT.md. The library emits these same objects; the CLI prints them.
 * Keys are snake_case like InvokeAI's own; a field that cannot be known is null, never absent.
 */

/** Where a fact came from. */
export type Via = 'socket' | 'queue_item' | 'board_diff';

export interface ImageRecord {
  type: 'image';
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
  server: string;
  queue_id: string;
  item_id: number;
  batch_id: string | null;
  session_id: string | null;
  root_item_id: number;
  status: TerminalStatus;
  error_type: string | null;
  error_message: string | null;
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
