import { EventEmitter } from 'eventemitter3';
import { Observable, asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { noopLogger, type Logger } from '../log';
import { backoffDelay, type BackoffOptions } from './backoff';
import type { ServerEndpoints } from './url';
import { QUEUE_EVENT_NAMES } from './wire';

export interface QueueSocketOptions {
  endpoints: ServerEndpoints;
  queues: readonly string[];
  /** Read afresh at every (re)connect, so a refreshed token is used. */
  token?: () => string | undefined | Promise<string | undefined>;
  /** The server refused the connection (bad or expired token): a chance to obtain a new one before retrying. */
  onRefused?: (err: Error) => Promise<void>;
  /** Delays between reconnect attempts. @default { min: 500, max: 5000 } */
  backoff?: BackoffOptions;
  /** How long to wait for the `subscribe_queue` ACK, ms. @default 5000 */
  subscribeTimeoutMs?: number;
  log?: Logger;
  /** More event names to pass on (e.g. `invocation_progress` for progress display). */
  extraEvents?: readonly string[];
  /** The socket.io-client factory; injectable for tests. */
  ioFactory?: (uri: string, opts: Partial<ManagerOptions & SocketOptions>) => Socket;
  /** Our own retry timers (after a refusal or a server-initiated disconnect) run on it. @default asyncScheduler */
  scheduler?: SchedulerLike;
}

export interface QueueSocketEvents {
  /** A queue event, payload not yet parsed. */
  event: [name: string, payload: unknown];
  /** Connected and subscribed to every queue (after each reconnect too). */
  connected: [];
  disconnected: [reason: string];
  error: [err: Error];
}

/**
 * One Socket.IO connection to an InvokeAI server, subscribed to its queue rooms for as long as it lives.
 * socket.io reconnects after transport drops by itself, but neither after a server-initiated disconnect nor after
 * the server refused the handshake (InvokeAI does both on auth changes, docs/protocol.md §1.3): those we retry ourselves.
 * Rooms belong to a connection, so `subscribe_queue` is sent again on every connect (docs/protocol.md §1.4).
 */
export class QueueSocket extends EventEmitter<QueueSocketEvents> {
  private socket: Socket | undefined;
  private retryTimer: Subscription | undefined;
  private attempts = 0;
  private closed = false;
  private subscribed = false;
  /** Disconnected on purpose (the daemon's output is not being read): no reconnecting until resumed. */
  private suspended = false;
  /** Connections after the first (each one a reconnect). */
  reconnects = 0;
  private connections = 0;
  /** When the last event arrived (scheduler time, ms); null before the first. */
  lastEventAt: number | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: QueueSocketOptions) {
    super();
    this.log = opts.log ?? noopLogger;
  }

  get isConnected(): boolean {
    return this.subscribed && this.socket?.connected === true;
  }

  /** Raw events as an Observable (unsubscribing removes the listener). */
  events$(): Observable<{ name: string; payload: unknown }> {
    return new Observable((sub) => {
      const h = (name: string, payload: unknown): void => sub.next({ name, payload });
      this.on('event', h);
      return () => {
        this.off('event', h);
      };
    });
  }

  start(): void {
    if (this.socket || this.closed) return;
    const backoff = this.opts.backoff ?? {};
    const factory = this.opts.ioFactory ?? io;
    const socket = factory(this.opts.endpoints.origin, {
      path: this.opts.endpoints.socketPath,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelay: backoff.min ?? 500,
      reconnectionDelayMax: backoff.max ?? 5000,
      randomizationFactor: backoff.jitter ?? 0.5,
      // A function, so every reconnect reads the current token.
      auth: (cb) => {
        Promise.resolve(this.opts.token?.()).then(
          (token) => cb(token ? { token } : {}),
          () => cb({}),
        );
      },
      extraHeaders: {},
    });
    this.socket = socket;
    const scheduler = this.opts.scheduler ?? asyncScheduler;
    for (const name of [...QUEUE_EVENT_NAMES, ...(this.opts.extraEvents ?? [])]) {
      socket.on(name, (payload: unknown) => {
        this.lastEventAt = scheduler.now();
        this.emit('event', name, payload);
      });
    }
    socket.on('connect', () => void this.onConnect(socket));
    socket.on('disconnect', (reason) => this.onDisconnect(socket, reason));
    socket.on('connect_error', (err) => this.onConnectError(socket, err));
  }

  private async onConnect(socket: Socket): Promise<void> {
    this.attempts = 0;
    const timeout = this.opts.subscribeTimeoutMs ?? 5000;
    await Promise.all(
      this.opts.queues.map(async (queue_id) => {
        try {
          await socket.timeout(timeout).emitWithAck('subscribe_queue', { queue_id });
        } catch {
          // Old servers and some proxies drop ACKs; events still flow once the room is joined.
          this.log.warn(`subscribe_queue ${queue_id}: no acknowledgement within ${timeout} ms`);
        }
      }),
    );
    if (this.closed || !socket.connected) return;
    this.subscribed = true;
    if (this.connections++ > 0) this.reconnects += 1;
    this.log.info(`connected to ${this.opts.endpoints.server}, subscribed to ${this.opts.queues.join(', ')}`);
    this.emit('connected');
  }

  private onDisconnect(socket: Socket, reason: string): void {
    const wasSubscribed = this.subscribed;
    this.subscribed = false;
    if (this.closed) return;
    if (wasSubscribed && !this.suspended) {
      this.log.warn(`disconnected from ${this.opts.endpoints.server}: ${reason}`);
      this.emit('disconnected', reason);
    }
    if (!socket.active && !this.suspended) this.scheduleRetry(socket, reason);
  }

  private onConnectError(socket: Socket, err: Error): void {
    if (this.closed) return;
    const msg = `cannot connect to ${this.opts.endpoints.server}: ${err.message}`;
    if (this.attempts === 0) this.log.warn(msg);
    else this.log.debug(msg);
    this.emit('error', err);
    if (socket.active) {
      this.attempts += 1;
      return;
    }
    // Refused by the server: socket.io gives up; renew credentials, then try again ourselves.
    void (async () => {
      try {
        await this.opts.onRefused?.(err);
      } catch (e) {
        this.log.warn(`re-authentication failed: ${(e as Error).message}`);
      }
      this.scheduleRetry(socket, 'refused');
    })();
  }

  private scheduleRetry(socket: Socket, why: string): void {
    if (this.closed || this.retryTimer) return;
    const delay = backoffDelay(this.attempts++, { min: 500, max: 5000, ...this.opts.backoff });
    this.log.debug(`reconnecting in ${delay} ms (${why})`);
    this.retryTimer = (this.opts.scheduler ?? asyncScheduler).schedule(() => {
      this.retryTimer = undefined;
      if (!this.closed && !this.suspended && !socket.connected) socket.connect();
    }, delay);
  }

  /**
   * Disconnects without reconnecting (the daemon's output backs up: events would only pile up in memory); what
   * ends meanwhile is found by the catch-up after `resume()`.
   */
  suspend(): void {
    if (this.closed || this.suspended) return;
    this.suspended = true;
    this.subscribed = false;
    this.retryTimer?.unsubscribe();
    this.retryTimer = undefined;
    this.socket?.disconnect();
  }

  resume(): void {
    if (this.closed || !this.suspended) return;
    this.suspended = false;
    this.socket?.connect();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscribed = false;
    this.retryTimer?.unsubscribe();
    this.retryTimer = undefined;
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = undefined;
    this.removeAllListeners();
  }
}
