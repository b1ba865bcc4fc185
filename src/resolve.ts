import type { Dispatcher } from 'undici';
import { OutputsError } from './errors';
import { TERMINAL_STATUSES } from './invoke/wire';
import { noopLogger, type Logger } from './log';
import { ImageDownloader } from './output/download';
import { ItemRun } from './pipeline/itemRun';
import type { ImageRecord, ItemRecord } from './records';
import { createServerContext } from './serverContext';

export interface ResolveOptions {
  url: string;
  itemId: number;
  /** @default "default" */
  queueId?: string;
  token?: string | null;
  username?: string | null;
  password?: string | null;
  includeIntermediate?: boolean;
  /** Saves each output image to `<download>/<board_id>/<image_name>` and adds `file` to its record. */
  download?: string;
  /** An item still running is polled until it ends; give up after this many ms. @default Infinity */
  timeoutMs?: number;
  /** Poll interval for an item still running, ms. @default 1000 */
  pollMs?: number;
  logger?: Logger;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
}

export interface ResolveResult {
  images: ImageRecord[];
  item: ItemRecord;
}

/**
 * Resolves one queue item after the fact with the same ladder as `watch`. An item still running is waited for.
 * Throws `OutputsError` `NOT_FOUND` when the item does not exist in the queue.
 */
export async function resolveItem(opts: ResolveOptions): Promise<ResolveResult> {
  const log = opts.logger ?? noopLogger;
  const queueId = opts.queueId ?? 'default';
  let downloader: ImageDownloader | undefined;
  const server = createServerContext({
    url: opts.url,
    token: opts.token ?? null,
    username: opts.username ?? null,
    password: opts.password ?? null,
    includeIntermediate: opts.includeIntermediate ?? false,
    log,
    ...(opts.download ? { saveImage: (rec: ImageRecord) => downloader!.download(rec) } : {}),
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
  });
  if (opts.download) downloader = new ImageDownloader({ dir: opts.download, http: server.http, log: log.child('download') });
  try {
    await server.reach();
    const deadline = Date.now() + (opts.timeoutMs ?? Infinity);
    for (;;) {
      const item = await server.api.queueItem(queueId, opts.itemId);
      if (!item) throw new OutputsError('NOT_FOUND', `queue item ${opts.itemId} not found in queue ${queueId}`);
      if (TERMINAL_STATUSES.has(item.status)) {
        const run = new ItemRun(server.resolver, queueId, opts.itemId);
        const records = await run.finish({
          queueId,
          itemId: opts.itemId,
          status: item.status,
          batchId: item.batch_id,
          sessionId: item.session_id,
          errorType: item.error_type ?? null,
          errorMessage: item.error_message ?? null,
        });
        const images = records.filter((r): r is ImageRecord => r.type === 'image');
        const rec = records.find((r): r is ItemRecord => r.type === 'item');
        if (!rec) throw new OutputsError('HTTP_ERROR', `queue item ${opts.itemId}: no item record produced`);
        return { images, item: rec };
      }
      if (Date.now() >= deadline) throw new OutputsError('TIMEOUT', `queue item ${opts.itemId} still ${item.status}`);
      if (opts.signal?.aborted) throw new OutputsError('CLOSED', 'aborted');
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    }
  } finally {
    await downloader?.close();
    await server.http.close();
  }
}
