import type { SchedulerLike } from 'rxjs';
import type { Dispatcher } from 'undici';
import type { Logger } from '../log';
import type { ImageRecord, ItemRecord, OutputRecord } from '../records';

export interface RunProgress {
  itemId: number;
  nodeId: string;
  nodeType: string;
  phase: 'started' | 'progress' | 'complete' | 'error';
  /** 0..1 for `progress` when the server knows it. */
  percentage?: number | null;
  message?: string;
}

/** What `run` enqueues and which of its inputs it sets first (the input half of `RunWorkflowOptions`). */
export interface RunInputOptions {
  /** Exactly one of these: a bare graph, a whole `enqueue_batch` body, an editor workflow export, or `workflowId`. */
  graph?: unknown;
  batch?: unknown;
  workflow?: unknown;
  /** Id of a saved workflow in the server's library (`GET /api/v1/workflows/i/{id}`), converted like `workflow`. */
  workflowId?: string;
  /**
   * Inputs to set before enqueueing, target → value (taken as given, not parsed). A target is `NODE_ID.FIELD`; in
   * editor workflows also `LABEL.FIELD` (a node's label) or the label of a field of the workflow's form.
   * Values are checked against the field's type where the node catalog knows it.
   * @default {}
   */
  set?: Readonly<Record<string, unknown>>;
  /**
   * Local images to upload (PNG, JPEG or WebP; category `user`, not intermediate, uncategorized), target → path;
   * the field is set to `{"image_name": …}` of the upload. Uploads are never reported as outputs.
   * @default {}
   */
  images?: Readonly<Record<string, string>>;
  /** How `set` and `images` are named in messages (the CLI passes `--set`, `--image`). @default "set", "images" */
  inputNames?: { set?: string; images?: string };
  /** Names the input in error messages. @default "graph", "batch", "workflow" or "workflow <id>" */
  source?: string;
  /** Board for every output node that has one. */
  board?: string;
  /** Queue items to run (overrides the batch's `runs`). */
  runs?: number;
}

export interface RunWorkflowOptions extends RunInputOptions {
  url: string;
  /** @default "default" */
  queueId?: string;
  token?: string | null;
  /** Log in with these on a multi-user server (instead of a token). */
  username?: string | null;
  password?: string | null;
  /** Board for every output node that has one (`"none"`: uncategorized). It must exist. */
  board?: string;
  /** Run into a new board made for the run (with `board`: then move the outputs there and delete it). */
  tempBoard?: boolean;
  /** Cancel the run's items and report them canceled after this long, ms. */
  timeoutMs?: number;
  /** Aborting cancels the run's items on the server, like a timeout; its records say `cancel_reason: "signal"`. */
  signal?: AbortSignal;
  includeIntermediate?: boolean;
  /** Saves each output image to `<download>/<board_id>/<image_name>` and adds `file` to its record. */
  download?: string;
  /** Adds `file` to each image record (an alternative to `download`). */
  saveImage?: (rec: ImageRecord) => Promise<string>;
  /** Each record as it is final (the CLI prints them as they come), in the order the items ran. */
  onRecord?: (rec: OutputRecord) => void;
  onProgress?: (p: RunProgress) => void;
  /** How often the run's unfinished items are also read over HTTP, ms (events can be missed). @default 2000 */
  pollMs?: number;
  /**
   * A canceled item whose node was running finishes that node (and saves its images) after the cancel; its record
   * waits for that node this long before the item is read, ms. @default 3000
   */
  cancelGraceMs?: number;
  /** Then at most this long for the server to write the canceled run's session, ms. @default 30000 */
  settleTimeoutMs?: number;
  logger?: Logger;
  dispatcher?: Dispatcher;
  /** Every timer of the run's core runs on it. @default asyncScheduler */
  scheduler?: SchedulerLike;
}

export interface RunResult {
  images: ImageRecord[];
  items: ItemRecord[];
  /** True when the run was canceled by the timeout or the signal. */
  canceled: boolean;
}
