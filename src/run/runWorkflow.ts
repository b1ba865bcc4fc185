import { randomUUID } from 'node:crypto';
import { Subscription, asyncScheduler, type SchedulerLike } from 'rxjs';
import { ItemEngine } from '../engine/engine';
import { OutputsError, errorMessage } from '../errors';
import { ServerConnection } from '../invoke/connection';
import { HttpError } from '../invoke/http';
import type { LedgerOptions } from '../ledger/reduce';
import { noopLogger } from '../log';
import { ImageDownloader } from '../output/download';
import type { CancelReason } from '../records';
import { engineDeps, ladderRungs } from '../rungs';
import { QueueSession } from '../session/queueSession';
import type { ItemWork } from '../session/toInputs';
import { RunBoards } from './boards';
import { HeldLogger } from './heldLogger';
import type { EnqueueBody } from './input';
import { prepareInput, type PreparedInput } from './prepare';
import type { RunResult, RunWorkflowOptions } from './options';
import { PROGRESS_EVENTS, nodeProgress, stepProgress } from './progressEvents';
import { OrderedRelease } from './release';
import { RunScope } from './runScope';

export type { RunProgress, RunResult, RunWorkflowOptions } from './options';

/** Enqueues work, waits for it, and returns exactly its outputs: one `item` record per queue item. */
export async function runWorkflow(opts: RunWorkflowOptions): Promise<RunResult> {
  if (opts.runs !== undefined && !(Number.isInteger(opts.runs) && opts.runs >= 1)) throw new OutputsError('BAD_USAGE', `runs: must be a whole number of at least 1, got ${opts.runs}`);
  if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0)) throw new OutputsError('BAD_USAGE', `timeout: must be more than 0, got ${opts.timeoutMs}`);
  // Everything that needs no server is checked before one is contacted: a bad input exits 2 with no connection.
  const run = new Run(opts, prepareInput(opts));
  try {
    return await run.execute();
  } finally {
    await run.dispose();
  }
}

/**
 * One run: the same queue session, ledger and ladder as `watch`, plus what only a run does — submit, keep to its
 * batch, handle its boards, cancel on a timeout or a signal, and release records in the order its items ran.
 */
class Run {
  private readonly log: HeldLogger;
  private readonly queueId: string;
  private readonly conn: ServerConnection;
  private readonly scheduler: SchedulerLike;
  private readonly batchId = randomUUID();
  private readonly boards: RunBoards;
  private readonly downloader: ImageDownloader | null;
  private readonly subs = new Subscription();
  private engine: ItemEngine | undefined;
  private session: QueueSession | undefined;
  private scope: RunScope | undefined;
  private release: OrderedRelease | undefined;
  private expected = Infinity;
  private cancelReason: CancelReason | null = null;
  private enqueued = false;
  private confirming = false;
  private settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  private body!: EnqueueBody;

  constructor(
    private readonly opts: RunWorkflowOptions,
    private readonly input: PreparedInput,
  ) {
    this.log = HeldLogger.wrap(opts.logger ?? noopLogger);
    this.queueId = opts.queueId ?? 'default';
    this.scheduler = opts.scheduler ?? asyncScheduler;
    this.conn = new ServerConnection({ url: opts.url, token: opts.token ?? null, username: opts.username ?? null, password: opts.password ?? null, log: this.log, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}) });
    this.boards = new RunBoards(this.conn, this.log, { board: opts.board, includeIntermediate: opts.includeIntermediate === true });
    this.downloader = opts.download ? new ImageDownloader({ dir: opts.download, http: this.conn.http, log: this.log }) : null;
  }

  async execute(): Promise<RunResult> {
    await this.conn.reach();
    await this.boards.check();
    // Before the temporary board and the board counts: an upload must not count as one of the run's images.
    this.body = await this.input.enqueueBody(this.conn.api, this.log);
    if (this.opts.tempBoard) this.body.batch.graph = await this.boards.createTemp(this.body.batch.graph);
    try {
      await this.boards.snapshot(this.body.batch.graph);
      const done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
      // Awaited below; a failure before then must not count as unhandled.
      done.catch(() => undefined);
      // Subscribed before enqueueing, so a fast run's events are not missed; our batch id tells them apart.
      await this.connect();
      if (this.opts.signal?.aborted) {
        this.log.warn('interrupted before anything was enqueued');
        return { images: [], items: [], canceled: true };
      }
      await this.submit();
      if (this.expected > 0) {
        const stopCancel = this.cancelOnTimeoutOrAbort();
        try {
          await done;
        } finally {
          stopCancel();
        }
      }
      await this.release!.settled();
    } finally {
      await this.boards.finish(this.enqueued);
    }
    return { images: this.release!.images, items: this.release!.items, canceled: this.cancelReason !== null };
  }

  private ledgerOptions(): LedgerOptions {
    const conn = this.conn;
    const tempBoard = this.boards.temporary;
    return {
      server: conn.server,
      includeIntermediate: this.opts.includeIntermediate === true,
      imageUrl: (name, relative) => conn.api.imageUrl(name, relative),
      cancelGraceMs: this.opts.cancelGraceMs ?? 3000,
      settleTimeoutMs: this.opts.settleTimeoutMs ?? 30_000,
      settleBackoffMs: 250,
      workflowCalls: conn.caps.workflowCalls,
      rungs: ladderRungs({ includeIntermediate: this.opts.includeIntermediate === true, tempBoard }),
      maxLookupAttempts: 3,
    };
  }

  private connect(): Promise<void> {
    const tempBoard = this.boards.temporary;
    const engine = (this.engine = new ItemEngine(this.ledgerOptions(), engineDeps(this.conn, { includeIntermediate: this.opts.includeIntermediate === true, tempBoard }), this.scheduler));
    const scope = (this.scope = new RunScope(this.batchId, engine));
    this.release = new OrderedRelease({
      boards: this.boards,
      downloader: this.downloader,
      ...(this.opts.saveImage ? { saveImage: this.opts.saveImage } : {}),
      othersPending: () => this.release!.items.length + 1 < Math.max(this.expected === Infinity ? 0 : this.expected, scope.ids.size),
      ...(this.opts.onRecord ? { onRecord: this.opts.onRecord } : {}),
      log: this.log,
    });
    this.subs.add(
      engine.output$.subscribe((o) => {
        if (o.kind === 'warn') return this.log.warn(o.message);
        if (o.kind === 'postponed') return this.log.warn(`item ${o.itemId}: server unreachable, resolving it once it answers again (${o.why})`);
        this.release!.take(o.record);
        if (o.record.type === 'item') {
          scope.reported.add(o.record.item_id);
          void this.release!.settled().then(() => this.checkDone());
        }
      }),
    );
    const session = (this.session = new QueueSession({
      conn: this.conn,
      queues: [this.queueId],
      engine,
      scope,
      accepts: (w, e) => (e && 'batchId' in e ? e.batchId === this.batchId : scope.ids.has(w.itemId)),
      onWork: (w) => this.onWork(w),
      extraEvents: PROGRESS_EVENTS,
      onExtraEvent: (_name, payload) => {
        const p = stepProgress(payload, this.batchId);
        if (p) this.opts.onProgress?.(p);
      },
      safetyNetMs: this.opts.pollMs ?? 2000,
      // Every poll looks at the run's own items; none needs the server's version read again.
      fullEvery: Number.MAX_SAFE_INTEGER,
      scheduler: this.scheduler,
      log: this.log,
    }));
    return new Promise((resolve, reject) => {
      const timer = this.scheduler.schedule(() => reject(new OutputsError('UNREACHABLE', `${this.conn.server}: socket did not connect within 15 s`)), 15000);
      session.once('connected', () => {
        timer.unsubscribe();
        resolve();
      });
      session.start();
    });
  }

  /** Work of the run's batch: its items are the run's, their ends set the order records leave in. */
  private onWork(w: ItemWork): void {
    const scope = this.scope!;
    if (!scope.ids.has(w.itemId)) {
      scope.ids.add(w.itemId);
      if (this.cancelReason) this.engine!.push(w.queueId, w.itemId, { kind: 'cancel_requested', reason: this.cancelReason });
    }
    if (w.input.kind === 'terminal' || w.input.kind === 'vanished') this.release!.ending(w.itemId);
    if (w.input.kind === 'node' && this.opts.onProgress) {
      const p = nodeProgress(w.itemId, w.input.node);
      if (p) this.opts.onProgress(p);
    }
  }

  private async submit(): Promise<void> {
    this.body.batch['batch_id'] = this.batchId;
    const result = await this.enqueue();
    this.enqueued = true;
    this.log.release();
    for (const id of result.item_ids ?? []) this.scope!.ids.add(id);
    this.log.info(`enqueued ${result.enqueued} item(s)${result.item_ids ? `: ${result.item_ids.join(', ')}` : ''} (batch ${this.batchId})`);
    if (result.enqueued < result.requested) this.log.warn(`the queue took ${result.enqueued} of ${result.requested} item(s): it is full`);
    // The items may all have ended before the answer came.
    this.expected = result.enqueued;
    this.checkDone();
    if (result.enqueued > 0) void this.session!.refresh();
  }

  private async enqueue(): Promise<{ enqueued: number; requested: number; item_ids?: number[] | null | undefined }> {
    try {
      const r = await this.conn.api.enqueueBatch(this.queueId, this.body);
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

  /**
   * Done when every enqueued item and every item of the batch heard of since (children of called workflows share
   * it, docs/protocol.md §8.8) has its record. On servers with workflow calls the batch's counts confirm that none was missed.
   */
  private checkDone(): void {
    const release = this.release!;
    if (release.items.length < this.expected || this.scope!.unreported.length > 0) return;
    if (!this.conn.caps.workflowCalls) this.settle?.resolve();
    else void this.confirmDone();
  }

  private async confirmDone(): Promise<void> {
    if (this.confirming) return;
    this.confirming = true;
    const seen = this.release!.items.length;
    try {
      const status = await this.conn.api.batchStatus(this.queueId, this.batchId);
      if (status.total <= this.release!.items.length) this.settle?.resolve();
      else {
        this.log.debug(`batch ${this.batchId} has ${status.total} item(s), ${this.release!.items.length} reported: looking for the others`);
        await this.discover();
      }
    } catch (err) {
      // Best effort: every item heard of is reported.
      this.log.debug(`batch status: ${errorMessage(err)}`);
      this.settle?.resolve();
    } finally {
      this.confirming = false;
      if (this.release!.items.length !== seen) this.checkDone();
    }
  }

  /** Items of the batch whose events were all lost (a disconnect): among the queue's items newer than ours. */
  private async discover(): Promise<void> {
    const scope = this.scope!;
    const lowest = Math.min(...scope.ids);
    const newer = (await this.conn.items.ids(this.queueId)).ids.filter((id) => id > lowest && !scope.ids.has(id));
    for (const item of (await this.conn.items.many(this.queueId, newer)).values()) {
      if (item.batch_id === this.batchId) scope.ids.add(item.item_id);
    }
    await this.session!.refresh();
  }

  private cancelOnTimeoutOrAbort(): () => void {
    const cancel = (reason: CancelReason, why: string): void => {
      if (this.cancelReason) return;
      this.cancelReason = reason;
      this.log.warn(`${why}: canceling the run's queue items`);
      for (const id of this.scope!.ids) this.engine!.push(this.queueId, id, { kind: 'cancel_requested', reason });
      void this.conn.api
        .cancelByBatchIds(this.queueId, [this.batchId])
        .catch((err: unknown) => this.log.warn(`cancel failed: ${errorMessage(err)}`))
        .then(() => this.session!.refresh());
    };
    const timer = this.opts.timeoutMs === undefined ? undefined : this.scheduler.schedule(() => cancel('timeout', `timeout after ${this.opts.timeoutMs} ms`), this.opts.timeoutMs);
    const onAbort = (): void => cancel('signal', 'interrupted');
    this.opts.signal?.addEventListener('abort', onAbort);
    if (this.opts.signal?.aborted) onAbort();
    return () => {
      timer?.unsubscribe();
      this.opts.signal?.removeEventListener('abort', onAbort);
    };
  }

  async dispose(): Promise<void> {
    this.log.release();
    this.subs.unsubscribe();
    await this.session?.close();
    this.engine?.close();
    await this.downloader?.close();
    await this.conn.close();
  }
}
