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

export interface RunWorkflowOptions {
  url: string;
  /** @default "default" */
  queueId?: string;
  token?: string | null;
  /** Log in with these on a multi-user server (instead of a token). */
  username?: string | null;
  password?: string | null;
  /** Exactly one of these: a bare graph, a whole `enqueue_batch` body, or an editor workflow export. */
  graph?: unknown;
  batch?: unknown;
  workflow?: unknown;
  /** Names the input in error messages (the CLI passes `--graph FILE`). @default "graph", "batch" or "workflow" */
  source?: string;
  /** Board for every output node that has one (`"none"`: uncategorized). It must exist. */
  board?: string;
  /** Run into a new board made for the run (with `board`: then move the outputs there and delete it). */
  tempBoard?: boolean;
  /** Queue items to run (overrides the batch's `runs`). */
  runs?: number;
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
