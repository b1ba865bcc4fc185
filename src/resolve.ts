import { asyncScheduler, firstValueFrom, timer, type SchedulerLike } from 'rxjs';
import type { Dispatcher } from 'undici';
import { ItemEngine } from './engine/engine';
import { OutputsError, errorMessage } from './errors';
import { ServerConnection } from './invoke/connection';
import { TERMINAL_STATUSES, type WireQueueItem } from './invoke/wire';
import { noopLogger, type Logger } from './log';
import { ImageDownloader } from './output/download';
import type { ImageRecord, ItemRecord, OutputRecord } from './records';
import { engineDeps, ladderRungs } from './rungs';
import { terminalNotice } from './session/catchUp';

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
  scheduler?: SchedulerLike;
}

export interface ResolveResult {
  images: ImageRecord[];
  item: ItemRecord;
}

/**
 * Resolves one queue item after the fact with the same ledger and ladder as `watch`. An item still running is
 * waited for. Throws `OutputsError` `NOT_FOUND` when the item does not exist in the queue.
 */
export async function resolveItem(opts: ResolveOptions): Promise<ResolveResult> {
  const log = opts.logger ?? noopLogger;
  const conn = new ServerConnection({ url: opts.url, token: opts.token ?? null, username: opts.username ?? null, password: opts.password ?? null, log, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}) });
  const downloader = opts.download ? new ImageDownloader({ dir: opts.download, http: conn.http, log: log.child('download') }) : null;
  try {
    const caps = await conn.reach();
    const item = await untilEnded(conn, opts);
    const records = await ladder(conn, caps.workflowCalls, opts, item);
    const images = records.filter((r): r is ImageRecord => r.type === 'image');
    for (const img of images) {
      try {
        if (downloader) img.file = await downloader.download(img);
      } catch (err) {
        log.warn(`download of ${img.image_name} failed: ${errorMessage(err)}`);
      }
    }
    const rec = records.find((r): r is ItemRecord => r.type === 'item');
    if (!rec) throw new OutputsError('HTTP_ERROR', `queue item ${opts.itemId}: no item record produced`);
    return { images, item: rec };
  } finally {
    await downloader?.close();
    await conn.close();
  }
}

/** The item once it ended, read every `pollMs` while it runs. */
async function untilEnded(conn: ServerConnection, opts: ResolveOptions): Promise<WireQueueItem> {
  const queueId = opts.queueId ?? 'default';
  const scheduler = opts.scheduler ?? asyncScheduler;
  const deadline = scheduler.now() + (opts.timeoutMs ?? Infinity);
  for (;;) {
    const item = await conn.items.one(queueId, opts.itemId);
    if (!item) throw new OutputsError('NOT_FOUND', `queue item ${opts.itemId} not found in queue ${queueId}`);
    if (TERMINAL_STATUSES.has(item.status)) return item;
    if (scheduler.now() >= deadline) throw new OutputsError('TIMEOUT', `queue item ${opts.itemId} still ${item.status}`);
    if (opts.signal?.aborted) throw new OutputsError('CLOSED', 'aborted');
    await firstValueFrom(timer(opts.pollMs ?? 1000, scheduler));
  }
}

/** The ladder for one ended item: its records, the item record last. An unreachable server is exit 3, not a wait. */
function ladder(conn: ServerConnection, workflowCalls: boolean, opts: ResolveOptions, item: WireQueueItem): Promise<OutputRecord[]> {
  const log = opts.logger ?? noopLogger;
  const includeIntermediate = opts.includeIntermediate === true;
  const engine = new ItemEngine(
    {
      server: conn.server,
      includeIntermediate,
      imageUrl: (name, relative) => conn.api.imageUrl(name, relative),
      // After the fact the session is what it is: nothing left to wait for.
      cancelGraceMs: 0,
      settleTimeoutMs: 0,
      settleBackoffMs: 0,
      workflowCalls,
      rungs: ladderRungs({ includeIntermediate }),
      maxLookupAttempts: 3,
    },
    engineDeps(conn, { includeIntermediate }),
    opts.scheduler ?? asyncScheduler,
  );
  return new Promise<OutputRecord[]>((resolve, reject) => {
    const got: OutputRecord[] = [];
    const done = (fn: () => void): void => {
      sub.unsubscribe();
      engine.close();
      fn();
    };
    const sub = engine.output$.subscribe((o) => {
      if (o.kind === 'warn') return log.warn(o.message);
      if (o.kind === 'postponed') return done(() => reject(new OutputsError('UNREACHABLE', `${conn.server}: ${o.why}`)));
      got.push(o.record);
      if (o.record.type === 'item') done(() => resolve(got));
    });
    engine.push(opts.queueId ?? 'default', opts.itemId, terminalNotice(item));
  });
}
