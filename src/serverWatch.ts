import { Subject, filter, map, merge, tap, type Observable } from 'rxjs';
import type { Dispatcher } from 'undici';
import { OutputsError } from './errors';
import type { InvokeApi } from './invoke/api';
import { capsFor, type ServerCaps } from './invoke/generation';
import type { InvokeHttp } from './invoke/http';
import { QueueSocket } from './invoke/socket';
import { TERMINAL_STATUSES, parseQueueEvent, type QueueEvent, type WireQueueItem } from './invoke/wire';
import type { Logger } from './log';
import { ImageDownloader } from './output/download';
import { TrackerState, itemKey, toItemWork, trackOutputs, type ItemWork } from './pipeline/trackOutputs';
import type { ImageRecord, OutputRecord } from './records';
import { createServerContext, type ServerContext } from './serverContext';
import type { QueueCursor } from './state/cursor';
import { StateFile } from './state/stateFile';

export interface ServerWatchOptions {
  url: string;
  queues: readonly string[];
  token?: string | null;
  username?: string | null;
  password?: string | null;
  includeIntermediate: boolean;
  /** Save each output image under this folder (`--download`). */
  download?: string | null;
  log: Logger;
  /** Durable cursors; in memory when absent. */
  stateFile?: StateFile;
  dispatcher?: Dispatcher;
  /** Reconnect backoff, ms. */
  backoff?: { min?: number; max?: number };
  /**
   * Safety net for events lost without a disconnect (a proxy, a server bug): owed items not heard of for this
   * long are read over HTTP. ms; 0 disables. @default 30000
   */
  reconcileIntervalMs?: number;
  /** See WatchOptions.cancelGraceMs. */
  cancelGraceMs?: number;
}

export interface ServerWatchEvents {
  connected: () => void;
  disconnected: (reason: string) => void;
  error: (err: Error) => void;
}

/** How many of the newest items a fresh cursor inspects for work already pending or running. */
const FRESH_LOOKBACK = 200;
/** Without an item-id listing (before 6.7), ids are probed upward until this many in a row are missing. */
const PROBE_MISSES = 20;

/**
 * Watches one server: its socket feeds the pipeline, and every connect reconciles over HTTP what moved while no
 * events could arrive (python-socketio has no replay, docs/protocol.md §1.1): items that were in flight, and items created
 * since the cursor's position.
 */
export class ServerWatch {
  readonly http: InvokeHttp;
  readonly api: InvokeApi;
  readonly state = new TrackerState();
  readonly records$: Observable<OutputRecord>;
  /** Payloads that failed validation, by event name. */
  readonly invalidEvents = new Map<string, number>();
  private readonly socket: QueueSocket;
  private readonly reconcile$ = new Subject<ItemWork>();
  private readonly server: ServerContext;
  private readonly stateFile: StateFile;
  private readonly cursors = new Map<string, QueueCursor>();
  private readonly log: Logger;
  private caps: ServerCaps = capsFor(null);
  private reconciling: Promise<void> = Promise.resolve();
  private downloader: ImageDownloader | undefined;
  /** When each owed item was last heard of (socket or HTTP), so the periodic check leaves busy items alone. */
  private readonly lastHeard = new Map<string, number>();
  private periodic: NodeJS.Timeout | undefined;
  /** Set by drain/close: failures of work cut short are expected then. */
  private stopping = false;
  /** The auth failure logged last: the same one is not logged again until a connection succeeds. */
  private lastAuthFailure: string | null = null;
  /** Health for the live view (src/sinks/http): when the last socket event arrived, and how often it connected. */
  private lastEvent: number | null = null;
  private connects = 0;

  constructor(
    private readonly opts: ServerWatchOptions,
    private readonly on: Partial<ServerWatchEvents> = {},
  ) {
    this.log = opts.log;
    this.server = createServerContext({
      url: opts.url,
      token: opts.token ?? null,
      username: opts.username ?? null,
      password: opts.password ?? null,
      includeIntermediate: opts.includeIntermediate,
      ...(opts.download ? { saveImage: (rec: ImageRecord) => this.downloader!.download(rec) } : {}),
      log: this.log,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    this.http = this.server.http;
    this.api = this.server.api;
    if (opts.cancelGraceMs !== undefined) this.server.resolver.cancelGraceMs = opts.cancelGraceMs;
    if (opts.download) this.downloader = new ImageDownloader({ dir: opts.download, http: this.http, log: this.log.child('download') });
    this.stateFile = opts.stateFile ?? StateFile.open(null);
    for (const q of opts.queues) this.cursors.set(q, this.stateFile.cursor(this.server.endpoints.server, q));
    this.state.seed = (queueId, itemId) => (this.cursors.get(queueId)?.pending.get(itemId)?.images ?? []) as ImageRecord[];
    const auth = this.server.auth;
    this.socket = new QueueSocket({
      endpoints: this.server.endpoints,
      queues: opts.queues,
      // The mode is learned before the first handshake: a single-user server must get no token (docs/protocol.md §1.3).
      token: async () => {
        try {
          await auth.ensure();
        } catch (err) {
          // A handshake that fails for want of a token says so itself; an auth failure is reported once.
          if (isAuthFailure(err)) this.authFailed(err);
          else this.log.debug(`before connecting: ${(err as Error).message}`);
        }
        return auth.token();
      },
      // Refused (token expired or revoked): log in again; the socket retries with backoff either way.
      onRefused: async () => {
        try {
          await auth.renew();
        } catch (err) {
          if (isAuthFailure(err)) this.authFailed(err);
          else this.log.warn(`re-authentication failed: ${(err as Error).message}`);
        }
      },
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      log: this.log.child('socket'),
    });
    const events$ = this.socket.events$().pipe(
      map(({ name, payload }) => {
        this.lastEvent = Date.now();
        return this.parse(name, payload);
      }),
      filter((e): e is QueueEvent => e !== null),
    );
    const work$ = merge(toItemWork(events$, new Set(opts.queues)), this.reconcile$).pipe(tap((w) => this.remember(w)));
    this.records$ = trackOutputs(work$, this.server.resolver, this.state);
  }

  get endpoint(): string {
    return this.server.endpoints.server;
  }

  /** Connected and subscribed right now. */
  get connected(): boolean {
    return this.socket.isConnected;
  }

  /** When the last socket event arrived, ms epoch; null before the first. */
  get lastEventAt(): number | null {
    return this.lastEvent;
  }

  /** Connections made after the first one. */
  get reconnects(): number {
    return Math.max(0, this.connects - 1);
  }

  private parse(name: string, payload: unknown): QueueEvent | null {
    const r = parseQueueEvent(name, payload);
    if (r.ok) return r.event;
    this.invalidEvents.set(name, (this.invalidEvents.get(name) ?? 0) + 1);
    this.log.warn(`dropped invalid ${name} event: ${r.error}`);
    return null;
  }

  /** Every item we hear of is owed a record until it is reported. */
  private remember(w: ItemWork): void {
    const cursor = this.cursors.get(w.queueId);
    if (!cursor || cursor.isReported(w.itemId)) return;
    this.lastHeard.set(itemKey(w.queueId, w.itemId), Date.now());
    const e = w.kind === 'event' ? w.event : null;
    const ids = e && 'sessionId' in e ? { session_id: e.sessionId, batch_id: e.batchId } : { session_id: w.kind === 'terminal' ? (w.notice.sessionId ?? null) : null, batch_id: null };
    // Most events repeat what the cursor already holds for the item: nothing to update.
    const known = cursor.pending.get(w.itemId);
    if (known && (ids.session_id ?? known.session_id) === known.session_id && (ids.batch_id ?? known.batch_id) === known.batch_id) return;
    cursor.track(w.itemId, ids);
  }

  /** Called once a record has been delivered downstream; only then does the cursor move (at-least-once, never lost). */
  delivered(rec: OutputRecord): void {
    const cursor = this.cursors.get(rec.queue_id);
    if (!cursor) return;
    if (rec.type === 'item') {
      cursor.markReported(rec.item_id);
      this.lastHeard.delete(itemKey(rec.queue_id, rec.item_id));
    } else cursor.noteImage(rec.item_id, rec);
    this.save();
  }

  private save(): void {
    try {
      this.stateFile.save();
    } catch (err) {
      this.log.error(`state file ${this.stateFile.path ?? ''}: cannot write: ${(err as Error).message}`);
    }
  }

  start(): void {
    this.socket.on('connected', () => {
      this.connects += 1;
      this.lastAuthFailure = null;
      // One reconciliation at a time; a reconnect during one queues the next. `connected` is announced once it is
      // done, so work enqueued after it can be neither missed nor mistaken for older work.
      this.reconciling = this.reconciling.then(async () => {
        await this.reconcile();
        if (this.socket.isConnected) this.on.connected?.();
      });
    });
    this.socket.on('disconnected', (reason) => this.on.disconnected?.(reason));
    this.socket.on('error', (err) => this.on.error?.(err));
    // The cursor's starting point is read before subscribing: an item that finishes between the two is above it,
    // hence owed, and found by the reconciliation at connect.
    this.reconciling = this.reconcile().finally(() => this.socket.start());
    const every = this.opts.reconcileIntervalMs ?? 30_000;
    if (every > 0) {
      let ticks = 0;
      this.periodic = setInterval(() => {
        if (!this.socket.isConnected) return; // the reconnect reconciles anyway
        // Items we know of are cheap to check; the whole queue's id list is not (it lists every item the server
        // keeps), so unknown items are looked for on every tenth tick only.
        const scanNew = ++ticks % 10 === 0;
        this.reconciling = this.reconciling.then(() => this.reconcile(every, scanNew));
      }, every);
    }
  }

  /** `quietFor`: only items not heard of for this long (the periodic check); all owed items otherwise. */
  private async reconcile(quietFor = 0, scanNew = true): Promise<void> {
    try {
      // A periodic check (quietFor > 0) runs while connected: the server, hence its version and mode, is the same.
      // Its token is still renewed ahead of expiry (a watch mostly GETs, and GETs bring no refreshed token).
      if (quietFor === 0) {
        this.caps = await this.server.detect();
        this.log.debug(`server version ${this.caps.version ?? 'unknown'}`);
      } else await this.server.auth.ensure();
      for (const [queue, cursor] of this.cursors) {
        if (cursor.initialised) await this.catchUp(queue, cursor, quietFor, scanNew);
        else await this.initialise(queue, cursor);
      }
      this.save();
    } catch (err) {
      if (this.stopping) this.log.debug(`reconciliation cut short by shutdown: ${(err as Error).message}`);
      else if (isAuthFailure(err)) this.authFailed(err);
      else if (err instanceof OutputsError && err.code === 'UNREACHABLE') {
        this.log.warn(`cannot reach ${this.endpoint} (${(err as Error).message}); retrying`);
      } else this.log.warn(`reconciliation failed, retried at the next connect: ${(err as Error).message}`);
    }
  }

  /** A watch never gives up on auth failures (a password may be fixed server-side): it says so once, clearly. */
  private authFailed(err: unknown): void {
    const msg = (err as Error).message;
    if (msg === this.lastAuthFailure) {
      this.log.debug(msg);
      return;
    }
    this.lastAuthFailure = msg;
    this.log.error(`${msg}; retrying with backoff`);
  }

  /** A fresh cursor starts at the newest item; work already pending or running then is ours too. */
  private async initialise(queue: string, cursor: QueueCursor): Promise<void> {
    const ids = this.caps.itemIdsRoute ? await this.api.itemIds(queue) : null;
    if (ids) {
      const recent = ids.slice(0, FRESH_LOOKBACK);
      for (let i = 0; i < recent.length; i += 50) {
        for (const item of await this.api.itemsByIds(queue, recent.slice(i, i + 50))) {
          if (!TERMINAL_STATUSES.has(item.status) && !isForeign(item)) cursor.track(item.item_id, { session_id: item.session_id, batch_id: item.batch_id });
        }
      }
      cursor.initialise(ids[0] ?? 0);
    } else {
      cursor.initialise(await this.probeNewest(queue, 0));
    }
  }

  private async probeNewest(queue: string, from: number): Promise<number> {
    let newest = from;
    let misses = 0;
    for (let id = from + 1; misses < PROBE_MISSES; id++) {
      const item = await this.api.queueItem(queue, id);
      if (item) {
        newest = id;
        misses = 0;
      } else misses += 1;
    }
    return newest;
  }

  /** After a reconnect or a restart: every owed item that has finished meanwhile is resolved. */
  private async catchUp(queue: string, cursor: QueueCursor, quietFor: number, scanNew: boolean): Promise<void> {
    let candidates: number[];
    if (!scanNew) {
      candidates = cursor.owed([]);
    } else if (this.caps.itemIdsRoute) {
      candidates = cursor.owed((await this.api.itemIds(queue)) ?? []);
    } else {
      const newest = await this.probeNewest(queue, cursor.watermark ?? 0);
      const above: number[] = [];
      for (let id = (cursor.watermark ?? 0) + 1; id <= newest; id++) above.push(id);
      candidates = cursor.owed(above);
    }
    const now = Date.now();
    candidates = candidates.filter((id) => {
      const key = itemKey(queue, id);
      return !this.state.finished.has(key) && (quietFor === 0 || now - (this.lastHeard.get(key) ?? 0) >= quietFor);
    });
    const found = await this.readItems(queue, candidates);
    for (const itemId of candidates) {
      const item = found.get(itemId) ?? null;
      const known = cursor.pending.get(itemId);
      this.lastHeard.set(itemKey(queue, itemId), now);
      if (item && isForeign(item)) {
        // Another user's item, seen redacted by a non-admin: never ours to report.
        cursor.markReported(itemId);
        continue;
      }
      if (item && !TERMINAL_STATUSES.has(item.status)) {
        cursor.track(itemId, { session_id: item.session_id, batch_id: item.batch_id });
        continue;
      }
      if (!item && !known) continue; // never ours, or gone before we ever heard of it
      this.reconcile$.next(terminalWork(queue, itemId, item, known ?? null));
    }
  }

  /** Reads items in batches where the server can (6.7+), one by one otherwise; missing ones are absent. */
  private async readItems(queue: string, ids: number[]): Promise<Map<number, WireQueueItem>> {
    const out = new Map<number, WireQueueItem>();
    if (this.caps.itemIdsRoute) {
      for (let i = 0; i < ids.length; i += 100) {
        for (const item of await this.api.itemsByIds(queue, ids.slice(i, i + 100))) out.set(item.item_id, item);
      }
      return out;
    }
    for (const id of ids) {
      const item = await this.api.queueItem(queue, id);
      if (item) out.set(id, item);
    }
    return out;
  }

  /** Stops taking new work; resolves true once the resolutions in flight are done, false after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    clearInterval(this.periodic);
    this.socket.close();
    this.state.flushGraces();
    return this.state.whenIdle(timeoutMs);
  }

  async close(): Promise<void> {
    this.stopping = true;
    clearInterval(this.periodic);
    this.state.flushGraces();
    this.socket.close();
    this.reconcile$.complete();
    await this.downloader?.close();
    await this.http.close();
  }
}

/** A non-admin reading another user's item on a multi-user server gets it redacted (docs/protocol.md §5.2). */
function isForeign(item: WireQueueItem): boolean {
  return item.user_id === 'redacted' || item.batch_id === 'redacted';
}

function isAuthFailure(err: unknown): boolean {
  return err instanceof OutputsError && err.code === 'AUTH_FAILED';
}

function terminalWork(queueId: string, itemId: number, item: WireQueueItem | null, known: { session_id: string | null; batch_id: string | null } | null): ItemWork {
  // A vanished item's best known outcome: it was running, so it ended canceled (server restart) or was deleted.
  const status = item?.status ?? 'canceled';
  return {
    kind: 'terminal',
    queueId,
    itemId,
    notice: {
      queueId,
      itemId,
      status,
      batchId: item?.batch_id ?? known?.batch_id ?? '',
      sessionId: item?.session_id ?? known?.session_id ?? '',
      errorType: item?.error_type ?? null,
      errorMessage: item?.error_message ?? null,
    },
  };
}
