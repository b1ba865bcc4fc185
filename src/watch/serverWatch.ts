import { Subscription, asyncScheduler, type SchedulerLike } from 'rxjs';
import type { Dispatcher } from 'undici';
import { ItemEngine } from '../engine/engine';
import { ServerConnection } from '../invoke/connection';
import type { LedgerOptions } from '../ledger/reduce';
import type { Logger } from '../log';
import type { OutputRecord } from '../records';
import { engineDeps, ladderRungs } from '../rungs';
import { QueueSession } from '../session/queueSession';
import type { QueueCursor } from '../state/cursor';
import type { StateFile } from '../state/stateFile';
import { CursorScope } from './cursorScope';
import type { ServerHealth } from './health';

export interface ServerWatchOptions {
  url: string;
  queues: readonly string[];
  token?: string | null;
  username?: string | null;
  password?: string | null;
  includeIntermediate: boolean;
  stateFile: StateFile;
  log: Logger;
  dispatcher?: Dispatcher;
  backoff?: { min?: number; max?: number };
  /** Safety-net catch-up period, ms; 0 disables. */
  reconcileIntervalMs: number;
  cancelGraceMs: number;
  settleTimeoutMs: number;
  scheduler?: SchedulerLike;
}

/**
 * One server watched: its queue session feeds the item engine; the records it makes go to the shared delivery, and
 * only what was delivered moves this server's cursors.
 */
export class ServerWatch {
  readonly conn: ServerConnection;
  readonly session: QueueSession;
  readonly engine: ItemEngine;
  private readonly scope: CursorScope;
  private readonly cursors = new Map<string, QueueCursor>();
  private readonly subs = new Subscription();
  private readonly scheduler: SchedulerLike;

  constructor(
    private readonly opts: ServerWatchOptions,
    private readonly out: (rec: OutputRecord) => void,
  ) {
    const log = opts.log;
    this.scheduler = opts.scheduler ?? asyncScheduler;
    this.conn = new ServerConnection({ url: opts.url, token: opts.token ?? null, username: opts.username ?? null, password: opts.password ?? null, log, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}) });
    const conn = this.conn;
    const ledger: LedgerOptions = {
      server: conn.server,
      includeIntermediate: opts.includeIntermediate,
      imageUrl: (name, relative) => conn.api.imageUrl(name, relative),
      cancelGraceMs: opts.cancelGraceMs,
      settleTimeoutMs: opts.settleTimeoutMs,
      settleBackoffMs: 500,
      get workflowCalls() {
        return conn.caps.workflowCalls;
      },
      rungs: ladderRungs({ includeIntermediate: opts.includeIntermediate }),
      maxLookupAttempts: 3,
    };
    this.engine = new ItemEngine(ledger, engineDeps(conn, { includeIntermediate: opts.includeIntermediate }), this.scheduler);
    for (const q of opts.queues) this.cursors.set(q, opts.stateFile.cursor(conn.server, q));
    this.scope = new CursorScope({
      items: conn.items,
      unfinishedCount: (q) => conn.api.unfinishedCount(q),
      cursors: this.cursors,
      engine: this.engine,
      quietMs: opts.reconcileIntervalMs,
      now: () => this.scheduler.now(),
      log,
    });
    this.session = new QueueSession({
      conn,
      queues: opts.queues,
      engine: this.engine,
      scope: this.scope,
      isSettled: (q, id) => this.cursors.get(q)?.isSettled(id) === true,
      onSettledActivity: (w) => this.scope.suspectReuse(w.queueId, w.itemId),
      onWork: (w) => {
        const e = w.input;
        const ids = 'sessionId' in e ? { session_id: e.sessionId, batch_id: e.batchId } : { session_id: null, batch_id: null };
        this.cursors.get(w.queueId)?.track(w.itemId, ids);
        this.scope.heard(w.queueId, w.itemId);
      },
      safetyNetMs: opts.reconcileIntervalMs,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      scheduler: this.scheduler,
      log,
    });
  }

  get server(): string {
    return this.conn.server;
  }

  start(): void {
    const log = this.opts.log;
    this.subs.add(
      this.engine.output$.subscribe((o) => {
        if (o.kind === 'record') this.out(o.record);
        else if (o.kind === 'warn') log.warn(o.message);
        else log.warn(`item ${o.itemId} (queue ${o.queueId}): server unreachable, resolving it once it answers again (${o.why})`);
      }),
    );
    // Images delivered before a restart are known, counted in their item's record, and never reported again.
    for (const [queue, cursor] of this.cursors) {
      for (const id of cursor.openIds()) {
        const open = cursor.openItem(id);
        if (open?.images?.length) this.engine.push(queue, id, { kind: 'seed', images: open.images, sessionId: open.session_id, batchId: open.batch_id });
      }
    }
    this.session.start();
  }

  /** A record of this server was delivered everywhere: now its cursor may move. */
  delivered(rec: OutputRecord): void {
    const cursor = this.cursors.get(rec.queue_id);
    if (!cursor) return;
    if (rec.type === 'item') {
      cursor.reported(rec.item_id);
      this.scope.forget(rec.queue_id, rec.item_id);
    } else cursor.imageDelivered(rec.item_id, rec);
  }

  health(): ServerHealth {
    const at = this.session.socket.lastEventAt;
    return {
      url: this.server,
      connected: this.session.connected,
      lastEventAt: at,
      openItems: this.engine.openItems,
      reconnects: this.session.socket.reconnects,
    };
  }

  /** Stops taking new work; resolves true once the work under way is done, false after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.session.stop();
    this.engine.flushWaits();
    return this.engine.whenIdle(timeoutMs);
  }

  async close(): Promise<void> {
    this.subs.unsubscribe();
    await this.session.close();
    this.engine.close();
    await this.conn.close();
  }
}
