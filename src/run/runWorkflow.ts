import { randomUUID } from 'node:crypto';
import { EMPTY, Subject, concatMap, filter, merge, tap, type Subscription } from 'rxjs';
import type { Dispatcher } from 'undici';
import { OutputsError, errorMessage } from '../errors';
import { HttpError } from '../invoke/http';
import { QueueSocket } from '../invoke/socket';
import { TERMINAL_STATUSES, parseQueueEvent, type QueueEvent } from '../invoke/wire';
import { noopLogger, type Logger } from '../log';
import { HeldLogger } from './heldLogger';
import { ImageDownloader } from '../output/download';
import { TrackerState, toItemWork, trackOutputs, type ItemWork } from '../pipeline/trackOutputs';
import type { ImageRecord, ItemRecord, OutputRecord } from '../records';
import { createServerContext, type ServerContext } from '../serverContext';
import { RunBoards } from './boards';
import { settleCancels } from './settleCancels';
import type { EnqueueBody } from './input';
import { prepareInput, type PreparedInput, type RunInputOptions } from './prepare';

export interface RunProgress {
  itemId: number;
  nodeId: string;
  nodeType: string;
  phase: 'started' | 'progress' | 'complete' | 'error';
  /** 0..1 for `progress` when the server knows it. */
  percentage?: number | null;
  message?: string;
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
  /** Aborting cancels the run's items on the server, like a timeout. */
  signal?: AbortSignal;
  includeIntermediate?: boolean;
  /** Saves each output image to `<download>/<board_id>/<image_name>` and adds `file` to its record. */
  download?: string;
  /** Adds `file` to each image record (an alternative to `download`). */
  saveImage?: (rec: ImageRecord) => Promise<string>;
  /** Each record as it is final (the CLI prints them as they come). */
  onRecord?: (rec: OutputRecord) => void;
  onProgress?: (p: RunProgress) => void;
  /** How often items are also polled over HTTP, ms (events can be missed). @default 2000 */
  pollMs?: number;
  /**
   * A canceled item whose node was running finishes that node (and saves its images) after the cancel; its record
   * waits for that node this long at most, ms. Nodes that report step progress stop without a word. @default 3000
   */
  cancelGraceMs?: number;
  logger?: Logger;
  dispatcher?: Dispatcher;
}

export interface RunResult {
  images: ImageRecord[];
  items: ItemRecord[];
  /** True when the run was canceled by the timeout or the signal. */
  canceled: boolean;
}

/** Enqueues work, waits for it, and returns exactly its outputs: one `item` record per queue item. */
export async function runWorkflow(opts: RunWorkflowOptions): Promise<RunResult> {
  if (opts.runs !== undefined && !(Number.isInteger(opts.runs) && opts.runs >= 1)) throw new OutputsError('BAD_USAGE', `runs: must be a whole number of at least 1, got ${opts.runs}`);
  if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0)) throw new OutputsError('BAD_USAGE', `timeout: must be more than 0, got ${opts.timeoutMs}`);
  const run = new Run(opts, prepareInput(opts));
  try {
    return await run.execute();
  } finally {
    await run.dispose();
  }
}

/** Progress events of the server generations (`invocation_denoise_progress` before 5.0). */
const PROGRESS_EVENTS = ['invocation_progress', 'invocation_denoise_progress'];

class Run {
  private readonly log: HeldLogger;
  private readonly queueId: string;
  private readonly server: ServerContext;
  private readonly downloader: ImageDownloader | null;
  private readonly batchId = randomUUID();
  private readonly images: ImageRecord[] = [];
  private readonly items: ItemRecord[] = [];
  private readonly held = new Map<number, ImageRecord[]>();
  private readonly work$ = new Subject<ItemWork>();
  private readonly socket$ = new Subject<QueueEvent>();
  private readonly itemIds = new Set<number>();
  /** Prepared ids of nodes that reported step progress: canceled, they stop at the next step and say nothing. */
  private readonly interruptible = new Set<string>();
  private socket: QueueSocket | undefined;
  private sub: Subscription | undefined;
  private readonly boards: RunBoards;
  private expected = Infinity;
  /** The server can call saved workflows (6.14+): queue items of the run may spawn child items in its batch. */
  private workflowCalls = false;
  private confirming = false;
  private canceled = false;
  private enqueued = false;
  private settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  private body!: EnqueueBody;

  constructor(
    private readonly opts: RunWorkflowOptions,
    private readonly input: PreparedInput,
  ) {
    this.log = HeldLogger.wrap(opts.logger ?? noopLogger);
    this.queueId = opts.queueId ?? 'default';
    this.server = createServerContext({
      url: opts.url,
      token: opts.token ?? null,
      username: opts.username ?? null,
      password: opts.password ?? null,
      includeIntermediate: opts.includeIntermediate ?? false,
      log: this.log,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    // settleCancels() below already holds a canceled item until its running node ends; no second wait.
    this.server.resolver.cancelGraceMs = 0;
    this.boards = new RunBoards(this.server, this.log, { board: opts.board, includeIntermediate: opts.includeIntermediate === true });
    this.downloader = opts.download ? new ImageDownloader({ dir: opts.download, http: this.server.http, log: this.log }) : null;
  }

  async execute(): Promise<RunResult> {
    this.workflowCalls = (await this.server.reach()).workflowCalls;
    await this.boards.check();
    this.body = await this.input.enqueueBody(this.server.api, this.log);
    if (this.opts.tempBoard) this.body.batch.graph = await this.boards.createTemp(this.body.batch.graph);
    try {
      await this.boards.snapshot(this.body.batch.graph);
      const done = this.watch();
      // Awaited below; a pipeline error before then must not count as unhandled.
      done.catch(() => undefined);
      // Subscribed before enqueueing, so a fast run's events are not missed; our batch id tells them apart.
      await this.connect();
      if (this.opts.signal?.aborted) {
        this.log.warn('interrupted before anything was enqueued');
        this.canceled = true;
        return { images: [], items: [], canceled: true };
      }
      this.body.batch['batch_id'] = this.batchId;
      const result = await this.enqueue();
      this.enqueued = true;
      this.log.release();
      for (const id of result.item_ids ?? []) this.itemIds.add(id);
      this.log.info(`enqueued ${result.enqueued} item(s)${result.item_ids ? `: ${result.item_ids.join(', ')}` : ''} (batch ${this.batchId})`);
      if (result.enqueued < result.requested) this.log.warn(`the queue took ${result.enqueued} of ${result.requested} item(s): it is full`);
      // The items may all have finished before the answer came.
      this.expected = result.enqueued;
      this.checkDone();
      if (result.enqueued > 0) {
        const stopPolling = this.poll();
        const stopCancel = this.cancelOnTimeoutOrAbort();
        try {
          await done;
        } finally {
          stopPolling();
          stopCancel();
        }
      }
    } finally {
      await this.boards.finish(this.enqueued);
    }
    return { images: this.images, items: this.items, canceled: this.canceled };
  }

  private async enqueue(): Promise<{ enqueued: number; requested: number; item_ids?: number[] | null | undefined }> {
    try {
      const r = await this.server.api.enqueueBatch(this.queueId, this.body);
      return { enqueued: r.enqueued, requested: r.requested ?? r.enqueued, item_ids: r.item_ids ?? null };
    } catch (err) {
      // The server validated the graph and refused it: the input is at fault, not the run. Its message is the
      // whole story (exit 2 prints one line), so what was logged on the way here is dropped.
      if (err instanceof HttpError && err.status === 422) {
        this.log.drop();
        throw new OutputsError('BAD_INPUT', `${this.opts.source ?? 'input'}: the server refused it (${errorMessage(err)})`, { cause: err });
      }
      throw err;
    }
  }

  private connect(): Promise<void> {
    const auth = this.server.auth;
    const socket = new QueueSocket({
      endpoints: this.server.endpoints,
      queues: [this.queueId],
      // detect() learned the mode: a single-user server gets no token (docs/protocol.md §1.3).
      token: () => auth.token(),
      onRefused: () => auth.renew(),
      extraEvents: PROGRESS_EVENTS,
      log: this.log.child('socket'),
    });
    this.socket = socket;
    socket.on('event', (name, payload) => this.onSocketEvent(name, payload));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new OutputsError('UNREACHABLE', `${this.server.endpoints.server}: socket did not connect within 15 s`)), 15000);
      socket.on('connected', () => {
        clearTimeout(timer);
        resolve();
        // After a reconnect, what finished meanwhile is read over HTTP.
        void this.reconcile();
      });
      socket.start();
    });
  }

  /** Feeds the pipeline with our batch's events and polled terminal states; resolves when every item is out. */
  private watch(): Promise<void> {
    const events$ = this.socket$.pipe(filter((e) => ('batchId' in e ? e.batchId === this.batchId : true)));
    const ours = (w: ItemWork): boolean =>
      w.kind === 'terminal' ? this.itemIds.has(w.itemId) : 'batchId' in w.event && w.event.batchId === this.batchId;
    const work$ = settleCancels(
      merge(toItemWork(events$, new Set([this.queueId])), this.work$).pipe(
        filter(ours),
        tap((w) => this.itemIds.add(w.itemId)),
      ),
      { graceMs: this.opts.cancelGraceMs ?? 3000, interruptible: this.interruptible, log: this.log },
    );
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
      this.sub = trackOutputs(work$, this.server.resolver, new TrackerState())
        // One record at a time: board moves, counts and downloads of an item finish before the next item's start,
        // so the counts of consecutive items chain and records come out in order.
        .pipe(concatMap((rec) => (rec.type === 'image' ? this.hold(rec) : this.complete(rec))))
        .subscribe({ next: () => this.checkDone(), error: reject });
    });
  }

  /**
   * Done when every enqueued item and every item of the batch heard of since (children of called workflows share
   * it, docs/protocol.md §8.8) has its record. On servers with workflow calls the batch's counts confirm that none was missed.
   */
  private checkDone(): void {
    if (this.items.length < this.expected) return;
    const reported = new Set(this.items.map((i) => i.item_id));
    if ([...this.itemIds].some((id) => !reported.has(id))) return;
    if (!this.workflowCalls) this.settle?.resolve();
    else void this.confirmDone();
  }

  private async confirmDone(): Promise<void> {
    if (this.confirming) return;
    this.confirming = true;
    const seen = this.items.length;
    try {
      const status = await this.server.api.batchStatus(this.queueId, this.batchId);
      if (status.total <= this.items.length) this.settle?.resolve();
      else {
        this.log.debug(`batch ${this.batchId} has ${status.total} item(s), ${this.items.length} reported: looking for the others`);
        await this.discover();
      }
    } catch (err) {
      // Best effort: every item heard of is reported.
      this.log.debug(`batch status: ${errorMessage(err)}`);
      this.settle?.resolve();
    } finally {
      this.confirming = false;
      if (this.items.length !== seen) this.checkDone();
    }
  }

  /** Items of the batch whose events were all lost (a disconnect): among the queue's items newer than ours. */
  private async discover(): Promise<void> {
    const lowest = Math.min(...this.itemIds);
    const newer = ((await this.server.api.itemIds(this.queueId)) ?? []).filter((id) => id > lowest && !this.itemIds.has(id));
    for (let i = 0; i < newer.length; i += 100) {
      for (const item of await this.server.api.itemsByIds(this.queueId, newer.slice(i, i + 100))) {
        if (item.batch_id === this.batchId) this.itemIds.add(item.item_id);
      }
    }
    await this.reconcile();
  }

  private onSocketEvent(name: string, payload: unknown): void {
    if (PROGRESS_EVENTS.includes(name)) return this.progress(payload);
    const r = parseQueueEvent(name, payload);
    if (!r.ok) {
      this.log.warn(`dropped invalid ${name} event: ${r.error}`);
      return;
    }
    this.socket$.next(r.event);
    const e = r.event;
    if (this.opts.onProgress && (e.kind === 'started' || e.kind === 'complete' || e.kind === 'error') && e.batchId === this.batchId) {
      this.opts.onProgress({ itemId: e.itemId, nodeId: e.sourceId, nodeType: e.invocation.type, phase: e.kind });
    }
  }

  private progress(payload: unknown): void {
    const p = payload as { batch_id?: unknown; item_id?: unknown; invocation_source_id?: unknown; invocation?: { id?: unknown; type?: unknown }; percentage?: unknown; message?: unknown } | null;
    const str = (v: unknown): string => (typeof v === 'string' ? v : '');
    if (!p || p.batch_id !== this.batchId || typeof p.item_id !== 'number') return;
    if (typeof p.invocation?.id === 'string') this.interruptible.add(p.invocation.id);
    this.opts.onProgress?.({
      itemId: p.item_id,
      nodeId: str(p.invocation_source_id),
      nodeType: str(p.invocation?.type),
      phase: 'progress',
      percentage: typeof p.percentage === 'number' ? p.percentage : null,
      ...(typeof p.message === 'string' ? { message: p.message } : {}),
    });
  }

  /** Image records wait for their item: boards may still be moved and files downloaded. */
  private hold(rec: ImageRecord) {
    const list = this.held.get(rec.item_id) ?? [];
    list.push(rec);
    this.held.set(rec.item_id, list);
    return EMPTY;
  }

  private async complete(item: ItemRecord): Promise<void> {
    const images = this.held.get(item.item_id) ?? [];
    this.held.delete(item.item_id);
    // While other items of the run are still going, a board's count would include their images too.
    await this.boards.account(item, images, this.items.length + 1 < Math.max(this.expected, this.itemIds.size));
    for (const img of images) {
      try {
        if (this.downloader) img.file = await this.downloader.download(img);
        else if (this.opts.saveImage) img.file = await this.opts.saveImage(img);
      } catch (err) {
        this.log.warn(`download of ${img.image_name} failed: ${errorMessage(err)}`);
      }
    }
    for (const img of images) {
      this.images.push(img);
      this.opts.onRecord?.(img);
    }
    this.items.push(item);
    this.log.info(`item ${item.item_id} ${item.status}: ${item.new_images.length} new image(s)${item.error_type ? ` (${item.error_type}: ${item.error_message ?? ''})` : ''}`);
    this.opts.onRecord?.(item);
  }

  /** Events can be missed (a disconnect, a proxy): our unfinished items are also read over HTTP. */
  private poll(): () => void {
    const t = setInterval(() => void this.reconcile(), this.opts.pollMs ?? 2000);
    return () => clearInterval(t);
  }

  private reconciling = false;
  private async reconcile(): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    try {
      const reported = new Set(this.items.map((i) => i.item_id));
      for (const itemId of this.itemIds) {
        if (reported.has(itemId)) continue;
        const item = await this.server.api.queueItem(this.queueId, itemId);
        if (item && !TERMINAL_STATUSES.has(item.status)) continue;
        this.work$.next({
          kind: 'terminal',
          queueId: this.queueId,
          itemId,
          notice: { queueId: this.queueId, itemId, status: item?.status ?? 'canceled', batchId: this.batchId, sessionId: item?.session_id ?? '', errorType: item?.error_type ?? null, errorMessage: item?.error_message ?? null },
        });
      }
    } catch (err) {
      this.log.debug(`poll failed: ${errorMessage(err)}`);
    } finally {
      this.reconciling = false;
    }
  }

  private cancelOnTimeoutOrAbort(): () => void {
    const cancel = (why: string): void => {
      if (this.canceled) return;
      this.canceled = true;
      this.log.warn(`${why}: canceling the run's queue items`);
      void this.server.api
        .cancelByBatchIds(this.queueId, [this.batchId])
        .catch((err: unknown) => this.log.warn(`cancel failed: ${errorMessage(err)}`))
        .then(() => this.reconcile());
    };
    const timer = this.opts.timeoutMs === undefined ? undefined : setTimeout(() => cancel(`timeout after ${this.opts.timeoutMs} ms`), this.opts.timeoutMs);
    const onAbort = (): void => cancel('interrupted');
    this.opts.signal?.addEventListener('abort', onAbort);
    if (this.opts.signal?.aborted) onAbort();
    return () => {
      if (timer) clearTimeout(timer);
      this.opts.signal?.removeEventListener('abort', onAbort);
    };
  }

  async dispose(): Promise<void> {
    this.log.release();
    this.sub?.unsubscribe();
    this.socket?.close();
    this.work$.complete();
    this.socket$.complete();
    await this.downloader?.close();
    await this.server.http.close();
  }
}
