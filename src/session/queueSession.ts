import { EventEmitter } from 'eventemitter3';
import { Subscription, asyncScheduler, interval, type SchedulerLike } from 'rxjs';
import type { ItemEngine } from '../engine/engine';
import { OutputsError, errorMessage } from '../errors';
import type { ServerConnection } from '../invoke/connection';
import { QueueSocket } from '../invoke/socket';
import type { QueueEvent } from '../invoke/wire';
import type { Logger } from '../log';
import { catchUp, type CatchUpScope } from './catchUp';
import { parseToWork, type ItemWork } from './toInputs';

export interface QueueSessionOptions {
  conn: ServerConnection;
  queues: readonly string[];
  engine: ItemEngine;
  scope: CatchUpScope;
  /** Which events to pass on (run: only its batch's). @default all */
  accepts?: (work: ItemWork, event: QueueEvent | null) => boolean;
  /** An item already reported: its events are late or repeated. */
  isSettled?: (queueId: string, itemId: number) => boolean;
  /** Every piece of work passed on, before the ledger has it (watch: the cursor learns of the item). */
  onWork?: (work: ItemWork) => void;
  /** An item held as settled (reported) shows activity: it returns true to have a full catch-up look (a reset?). */
  onSettledActivity?: (work: ItemWork) => boolean;
  /** More socket events to listen to (run: progress), handed to `onExtraEvent` as they come. */
  extraEvents?: readonly string[];
  onExtraEvent?: (name: string, payload: unknown) => void;
  /** Safety net for events lost without a disconnect: a catch-up this often while connected, ms; 0 = never. */
  safetyNetMs: number;
  /** A full listing of the queue every this many safety-net ticks (the others look at known items only). @default 10 */
  fullEvery?: number;
  backoff?: { min?: number; max?: number };
  scheduler?: SchedulerLike;
  log: Logger;
}

export interface QueueSessionEvents {
  /** Connected, subscribed and caught up (after every reconnect too). */
  connected: [];
  disconnected: [reason: string];
  error: [err: Error];
}

/** Work that says an item is running now: a node started, or its status moved to in progress. */
function startsRunning(w: ItemWork): boolean {
  const e = w.input;
  return (e.kind === 'node' && e.node.evidence === 'event_started') || (e.kind === 'status' && e.status === 'in_progress');
}

/**
 * One server's queue session, used alike by `watch` and `run`: the socket (subscribed on every connect), parsing at
 * the edge, work for the ledger, and the catch-up over HTTP after every connect and as a periodic safety net
 * (python-socketio has no replay, docs/protocol.md §1.1). Everything it sets up is torn down by `close()`.
 */
export class QueueSession extends EventEmitter<QueueSessionEvents> {
  readonly socket: QueueSocket;
  /** Payloads that failed validation, by event name. */
  readonly invalidEvents = new Map<string, number>();
  private readonly subs = new Subscription();
  private readonly scheduler: SchedulerLike;
  private readonly log: Logger;
  private catchingUp: Promise<void> = Promise.resolve();
  private stopping = false;
  private lastProblem: string | null = null;
  private everConnected = false;

  constructor(private readonly opts: QueueSessionOptions) {
    super();
    this.scheduler = opts.scheduler ?? asyncScheduler;
    this.log = opts.log;
    const auth = opts.conn.auth;
    this.socket = new QueueSocket({
      endpoints: opts.conn.endpoints,
      queues: opts.queues,
      // The mode is learned before the first handshake: a single-user server must get no token (docs/protocol.md §1.3).
      token: async () => {
        try {
          await auth.ensure();
        } catch (err) {
          this.problem(err);
        }
        return auth.token();
      },
      // Refused (token expired or revoked): log in again; the socket retries with backoff either way.
      onRefused: async () => {
        try {
          await auth.renew();
        } catch (err) {
          this.problem(err);
        }
      },
      extraEvents: opts.extraEvents ?? [],
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      scheduler: this.scheduler,
      log: this.log.child('socket'),
    });
  }

  get connected(): boolean {
    return this.socket.isConnected;
  }

  start(): void {
    this.log.info(`connecting to ${this.opts.conn.server}`);
    const extra = new Set(this.opts.extraEvents ?? []);
    this.socket.on('event', (name, payload) => (extra.has(name) ? this.opts.onExtraEvent?.(name, payload) : this.onEvent(name, payload)));
    this.socket.on('connected', () => {
      // One catch-up at a time; `connected` is announced once it is done, so work enqueued after it can be
      // neither missed nor mistaken for older work.
      this.catchingUp = this.catchingUp.then(async () => {
        if (!(await this.catchUp(true))) return;
        this.lastProblem = null;
        if (this.socket.isConnected) this.emit('connected');
      });
    });
    this.socket.on('disconnected', (reason) => this.emit('disconnected', reason));
    this.socket.on('error', (err) => this.emit('error', err));
    // The starting point is read before subscribing: an item that ends between the two is found by the catch-up
    // at connect.
    this.catchingUp = this.catchUp(true).then(() => this.socket.start());
    if (this.opts.safetyNetMs > 0) {
      const fullEvery = this.opts.fullEvery ?? 10;
      let ticks = 0;
      this.subs.add(
        interval(this.opts.safetyNetMs, this.scheduler).subscribe(() => {
          if (!this.socket.isConnected) return; // the reconnect catches up anyway
          const full = ++ticks % fullEvery === 0;
          this.catchingUp = this.catchingUp.then(() => this.catchUp(full).then(() => undefined));
        }),
      );
    }
  }

  /** Catches up now (for run: after its cancel, or when it wants to confirm it is done). */
  refresh(full = false): Promise<void> {
    this.catchingUp = this.catchingUp.then(() => this.catchUp(full).then(() => undefined));
    return this.catchingUp;
  }

  /** Stops taking events (the output backs up); `resume()` reconnects and catches up. */
  pause(): void {
    this.socket.suspend();
  }

  resume(): void {
    this.socket.resume();
  }

  private onEvent(name: string, payload: unknown): void {
    const parsed = parseToWork(name, payload);
    if (parsed.kind === 'cleared') {
      // Pending items were deleted without an event each: the catch-up finds which of ours are gone.
      if (this.opts.queues.includes(parsed.queueId)) void this.refresh(true);
      return;
    }
    if (parsed.kind === 'invalid') this.invalid(name, parsed.error);
    for (const w of parsed.work) this.pass(w, parsed.kind === 'work' ? parsed.event : null);
  }

  private pass(w: ItemWork, event: QueueEvent | null = null): void {
    const { engine } = this.opts;
    if (!this.opts.queues.includes(w.queueId)) return;
    const settled = engine.isFinished(w.queueId, w.itemId) || (this.opts.isSettled?.(w.queueId, w.itemId) === true && !engine.isOpen(w.queueId, w.itemId));
    if (settled) {
      // Late or repeated news of a reported item, or a server whose ids start over: a full catch-up tells which.
      if (startsRunning(w) && this.opts.onSettledActivity?.(w)) void this.refresh(true);
      return;
    }
    if (this.opts.accepts && !this.opts.accepts(w, event)) return;
    this.opts.onWork?.(w);
    engine.push(w.queueId, w.itemId, w.input);
  }

  private invalid(name: string, error: string): void {
    const n = (this.invalidEvents.get(name) ?? 0) + 1;
    this.invalidEvents.set(name, n);
    // One line per kind of event, then every thousandth: a server sending garbage must not drown the log.
    if (n === 1 || n % 1000 === 0) this.log.warn(`dropped invalid ${name} event${n > 1 ? ` (${n} so far)` : ''}: ${error}`);
  }

  /** Reads, over HTTP, what may have moved while no events could arrive. False when the server could not be read. */
  private async catchUp(full: boolean): Promise<boolean> {
    try {
      if (full) await this.opts.conn.detect();
      else await this.opts.conn.auth.ensure();
      for (const queue of this.opts.queues) await catchUp(this.opts.conn.items, queue, this.opts.scope, full, (w) => this.pass(w));
      this.everConnected = true;
      this.opts.engine.retryPostponed();
      return true;
    } catch (err) {
      if (this.stopping) this.log.debug(`catch-up cut short by shutdown: ${errorMessage(err)}`);
      else this.problem(err);
      return false;
    }
  }

  /** A watch never gives up (a password may be fixed, a server come back): it says what is wrong once, clearly. */
  private problem(err: unknown): void {
    const msg = errorMessage(err);
    if (msg === this.lastProblem) return this.log.debug(msg);
    this.lastProblem = msg;
    const code = err instanceof OutputsError ? err.code : null;
    const auth = code === 'AUTH_FAILED';
    const unreachable = code === 'UNREACHABLE';
    // A URL that answers but is no InvokeAI API (a wrong path prefix): said once, plainly; it may still be fixed.
    if (code === 'NOT_INVOKEAI') this.log.error(`${msg}; retrying`);
    else if (auth) this.log.error(`${msg}; retrying with backoff`);
    else if (unreachable) this.log.warn(`cannot reach ${this.opts.conn.server} (${msg}); retrying`);
    else this.log.warn(`${this.everConnected ? 'catch-up failed' : `${this.opts.conn.server}`}: ${msg}; retrying at the next connect`);
  }

  /** Stops taking events and timers; the work under way is the engine's to finish. */
  stop(): void {
    this.stopping = true;
    this.subs.unsubscribe();
    this.socket.close();
  }

  async close(): Promise<void> {
    this.stop();
    await this.catchingUp.catch(() => undefined);
    this.removeAllListeners();
  }
}
