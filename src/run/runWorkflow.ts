import { randomUUID } from 'node:crypto';
import { EMPTY, Subject, filter, merge, mergeMap, of, type Subscription } from 'rxjs';
import type { Dispatcher } from 'undici';
import { OutputsError, errorMessage } from '../errors';
import { QueueSocket } from '../invoke/socket';
import { TERMINAL_STATUSES, parseQueueEvent, type QueueEvent } from '../invoke/wire';
import { noopLogger, type Logger } from '../log';
import { requestedBoardOf } from '../pipeline/imageOutputs';
import { TrackerState, toItemWork, trackOutputs, type ItemWork } from '../pipeline/trackOutputs';
import { NO_BOARD, type ImageRecord, type ItemRecord, type OutputRecord } from '../records';
import { createServerContext, type ServerContext } from '../serverContext';
import { setGraphBoard } from '../workflow';
import { buildEnqueueBody, type EnqueueBody, type WorkInput } from './input';

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
  /** Exactly one of these: a bare graph, a whole `enqueue_batch` body, or an editor workflow export. */
  graph?: unknown;
  batch?: unknown;
  workflow?: unknown;
  /** Board for every output node that has one. */
  board?: string;
  /** Run into a new board made for the run (with `board`: then move the outputs there and delete it). */
  tempBoard?: boolean;
  /** Queue items to run (overrides the batch's `runs`). */
  runs?: number;
  /** Cancel the run's items and report them canceled after this long, ms. */
  timeoutMs?: number;
  /** Aborting cancels the run's items on the server, like a timeout. */
  signal?: AbortSignal;
  includeIntermediate?: boolean;
  /** Adds `file` to each image record (set by the CLI's `--download`). */
  saveImage?: (rec: ImageRecord) => Promise<string>;
  /** Each record as it is final (the CLI prints them as they come). */
  onRecord?: (rec: OutputRecord) => void;
  onProgress?: (p: RunProgress) => void;
  /** How often items are also polled over HTTP, ms (events can be missed). @default 2000 */
  pollMs?: number;
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
  const given = (['graph', 'batch', 'workflow'] as const).filter((k) => opts[k] !== undefined);
  if (given.length !== 1) throw new OutputsError('BAD_USAGE', 'give exactly one of graph, batch or workflow');
  const kind = given[0]!;
  const input = { [kind]: opts[kind] } as WorkInput;
  const body = buildEnqueueBody(input, { board: opts.board, runs: opts.runs, origin: 'invokeai-outputs' }, kind);
  const run = new Run(opts, body);
  try {
    return await run.execute();
  } finally {
    await run.dispose();
  }
}

class Run {
  private readonly log: Logger;
  private readonly queueId: string;
  private readonly server: ServerContext;
  private readonly batchId = randomUUID();
  private readonly images: ImageRecord[] = [];
  private readonly items: ItemRecord[] = [];
  private readonly held = new Map<number, ImageRecord[]>();
  private readonly work$ = new Subject<ItemWork>();
  private readonly itemIds = new Set<number>();
  private socket: QueueSocket | undefined;
  private sub: Subscription | undefined;
  private tempBoard: string | null = null;
  private countsBefore = new Map<string, number | null>();
  private expected = Infinity;
  private canceled = false;

  constructor(
    private readonly opts: RunWorkflowOptions,
    private readonly body: EnqueueBody,
  ) {
    this.log = opts.logger ?? noopLogger;
    this.queueId = opts.queueId ?? 'default';
    this.server = createServerContext({
      url: opts.url,
      token: opts.token ?? null,
      includeIntermediate: opts.includeIntermediate ?? false,
      log: this.log,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
  }

  async execute(): Promise<RunResult> {
    try {
      await this.server.detect();
    } catch (err) {
      throw new OutputsError('UNREACHABLE', `${this.server.endpoints.server}: ${errorMessage(err)}`, { cause: err });
    }
    if (this.opts.tempBoard) {
      const b = await this.server.api.createBoard(`invokeai-outputs run ${new Date().toISOString()}`);
      this.tempBoard = b.board_id;
      this.body.batch.graph = setGraphBoard(this.body.batch.graph, b.board_id);
      this.log.info(`running into temporary board ${b.board_id}`);
    }
    await this.snapshotBoards();
    const done = this.watch();
    // Subscribed before enqueueing, so a fast run's events are not missed; our batch id tells them apart.
    await this.connect();
    this.body.batch['batch_id'] = this.batchId;
    const result = await this.server.api.enqueueBatch(this.queueId, this.body);
    this.expected = result.enqueued;
    for (const id of result.item_ids ?? []) this.itemIds.add(id);
    this.log.info(`enqueued ${result.enqueued} item(s)${result.item_ids ? `: ${result.item_ids.join(', ')}` : ''} (batch ${this.batchId})`);
    if (result.enqueued === 0) return this.result();
    const stopPolling = this.poll();
    const stopCancel = this.cancelOnTimeoutOrAbort();
    try {
      await done;
    } finally {
      stopPolling();
      stopCancel();
    }
    await this.finishTempBoard();
    return this.result();
  }

  private result(): RunResult {
    return { images: this.images, items: this.items, canceled: this.canceled };
  }

  /** The boards the graph writes to, with their image counts before the run. */
  private async snapshotBoards(): Promise<void> {
    const boards = new Set<string>();
    for (const node of Object.values(this.body.batch.graph.nodes)) {
      const b = requestedBoardOf(node);
      if (b !== NO_BOARD) boards.add(b);
    }
    if (this.opts.board && this.opts.board !== NO_BOARD) boards.add(this.opts.board);
    for (const b of boards) this.countsBefore.set(b, b === this.tempBoard ? 0 : await this.boardCount(b));
  }

  private async boardCount(boardId: string): Promise<number | null> {
    try {
      return (await this.server.api.listImages({ board_id: boardId, is_intermediate: false, limit: 1 })).total;
    } catch (err) {
      this.log.debug(`cannot count board ${boardId}: ${errorMessage(err)}`);
      return null;
    }
  }

  private connect(): Promise<void> {
    this.socket = new QueueSocket({
      endpoints: this.server.endpoints,
      queues: [this.queueId],
      ...(this.opts.token ? { token: () => this.opts.token ?? undefined } : {}),
      extraEvents: this.opts.onProgress ? ['invocation_progress'] : [],
      log: this.log.child('socket'),
    });
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new OutputsError('UNREACHABLE', `${this.server.endpoints.server}: socket did not connect within 15 s`)), 15000);
      socket.on('connected', () => {
        clearTimeout(timer);
        resolve();
        void this.reconcile();
      });
      socket.start();
    });
  }

  /** Feeds the pipeline with our batch's events and polled terminal states; resolves when every item is out. */
  private watch(): Promise<void> {
    const socket$ = new Subject<QueueEvent>();
    const events$ = socket$.pipe(filter((e) => ('batchId' in e ? e.batchId === this.batchId : true)));
    const ours = (w: ItemWork): boolean =>
      w.kind === 'terminal' ? this.itemIds.has(w.itemId) : 'batchId' in w.event && w.event.batchId === this.batchId;
    const work$ = merge(toItemWork(events$, new Set([this.queueId])), this.work$).pipe(
      filter(ours),
      mergeMap((w) => {
        this.itemIds.add(w.itemId);
        return of(w);
      }),
    );
    const state = new TrackerState();
    return new Promise<void>((resolve, reject) => {
      this.sub = trackOutputs(work$, this.server.resolver, state)
        .pipe(mergeMap((rec) => (rec.type === 'image' ? this.hold(rec) : this.complete(rec))))
        .subscribe({
          next: () => {
            if (this.items.length >= this.expected) resolve();
          },
          error: reject,
        });
      this.onSocketEvents(socket$);
    });
  }

  private onSocketEvents(sink: Subject<QueueEvent>): void {
    const attach = (): void => {
      this.socket?.on('event', (name, payload) => {
        if (name === 'invocation_progress') return this.progress(payload);
        const r = parseQueueEvent(name, payload);
        if (!r.ok) {
          this.log.warn(`dropped invalid ${name} event: ${r.error}`);
          return;
        }
        sink.next(r.event);
        if (this.opts.onProgress && r.event.kind !== 'status' && 'invocation' in r.event && r.event.batchId === this.batchId) {
          this.opts.onProgress({ itemId: r.event.itemId, nodeId: r.event.sourceId, nodeType: r.event.invocation.type, phase: r.event.kind === 'started' ? 'started' : r.event.kind === 'error' ? 'error' : 'complete' });
        }
      });
    };
    // The socket is created in connect(), after watch() started.
    queueMicrotask(attach);
  }

  private progress(payload: unknown): void {
    const p = payload as { batch_id?: unknown; item_id?: unknown; invocation_source_id?: unknown; invocation?: { type?: unknown }; percentage?: unknown; message?: unknown } | null;
    const str = (v: unknown): string => (typeof v === 'string' ? v : '');
    if (!p || p.batch_id !== this.batchId || typeof p.item_id !== 'number') return;
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
    const final = this.opts.board && this.opts.board !== NO_BOARD ? this.opts.board : null;
    if (this.tempBoard && final) await this.moveToFinal(item, images, this.tempBoard, final);
    for (const [boardId, summary] of Object.entries(item.boards)) {
      if (!this.countsBefore.has(boardId) && boardId !== NO_BOARD) continue;
      summary.count_before = this.countsBefore.get(boardId) ?? null;
      summary.count_after = boardId === this.tempBoard && !final ? (summary.count_before ?? 0) + summary.added.length : await this.boardCount(boardId);
      // The next item of the run starts where this one ended.
      this.countsBefore.set(boardId, summary.count_after);
    }
    for (const [boardId, before] of this.countsBefore) {
      if (item.boards[boardId] || boardId === this.tempBoard) continue;
      item.boards[boardId] = { added: [], count_before: before, count_after: await this.boardCount(boardId) };
    }
    if (this.opts.saveImage) {
      for (const img of images) {
        try {
          img.file = await this.opts.saveImage(img);
        } catch (err) {
          this.log.warn(`download of ${img.image_name} failed: ${errorMessage(err)}`);
        }
      }
    }
    for (const img of images) {
      this.images.push(img);
      this.opts.onRecord?.(img);
    }
    this.items.push(item);
    this.opts.onRecord?.(item);
  }

  /** Outputs made on the temporary board move to the final one; records name the final board only. */
  private async moveToFinal(item: ItemRecord, images: ImageRecord[], temp: string, final: string): Promise<void> {
    const names = images.filter((i) => i.board_id === temp).map((i) => i.image_name);
    if (names.length) await this.server.api.addImagesToBoard(final, names);
    for (const img of images) {
      if (img.board_id === temp) img.board_id = final;
      if (img.requested_board_id === temp) img.requested_board_id = final;
    }
    for (const n of Object.values(item.nodes)) if (n.board_id === temp) n.board_id = final;
    const moved = item.boards[temp];
    if (moved) {
      delete item.boards[temp];
      const target = (item.boards[final] ??= { added: [], count_before: null, count_after: null });
      target.added.push(...moved.added);
    }
  }

  private async finishTempBoard(): Promise<void> {
    if (!this.tempBoard || !this.opts.board || this.opts.board === NO_BOARD) return;
    try {
      await this.server.api.deleteBoard(this.tempBoard, false);
    } catch (err) {
      this.log.warn(`temporary board ${this.tempBoard} could not be deleted: ${errorMessage(err)}`);
    }
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
    this.sub?.unsubscribe();
    this.socket?.close();
    this.work$.complete();
    await this.server.http.close();
  }
}
