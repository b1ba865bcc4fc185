import { EventEmitter } from 'eventemitter3';
import { Subject, Subscription, filter, type Observable } from 'rxjs';
import type { Dispatcher } from 'undici';
import { OutputsError } from './errors';
import { noopLogger, type Logger } from './log';
import type { ImageRecord, ItemRecord, OutputRecord } from './records';
import { ServerWatch } from './serverWatch';
import { StateFile } from './state/stateFile';

/** One server with its own settings; unset fields fall back to the watch's own. */
export interface ServerSpec {
  url: string;
  queueId?: string | readonly string[];
  token?: string | null;
  username?: string | null;
  password?: string | null;
  /** Its own cursor file. */
  state?: string | null;
}

export interface WatchOptions {
  /** InvokeAI base URL(s); a path prefix moves both the API and the socket. */
  url?: string | readonly string[];
  /** Servers with settings of their own (config file `servers`), watched besides `url`. */
  servers?: readonly ServerSpec[];
  /** Queue id(s) to follow. @default "default" */
  queueId?: string | readonly string[];
  /** Bearer token for multi-user servers (never sent to a single-user server). */
  token?: string | null;
  /** Log in with these on multi-user servers (and again when the token expires or is refused). */
  username?: string | null;
  password?: string | null;
  /** Save each output image to `<download>/<board_id>/<image_name>`; records gain `file`. */
  download?: string | null;
  /** Also report images with `is_intermediate: true`. @default false */
  includeIntermediate?: boolean;
  /** Durable cursor file: after a restart, items that finished while the watcher was down are reported. */
  state?: string | null;
  /** How long `close()` waits for resolutions in flight, ms. @default 10000 */
  drainTimeoutMs?: number;
  logger?: Logger;
  /** undici dispatcher for every HTTP request (tests, proxies). */
  dispatcher?: Dispatcher;
  /** Reconnect backoff, ms. @default { min: 500, max: 5000 } */
  backoff?: { min?: number; max?: number };
  /** A canceled item that was running waits this long for a node finishing after the cancel, ms. @default 3000 */
  cancelGraceMs?: number;
  /** Owed items not heard of for this long are read over HTTP (events lost without a disconnect), ms; 0 = never. @default 30000 */
  reconcileIntervalMs?: number;
}

export interface WatcherEvents {
  image: [record: ImageRecord];
  item: [record: ItemRecord];
  /** Connected and subscribed (again after every reconnect). */
  connected: [server: string];
  disconnected: [server: string, reason: string];
  error: [err: Error];
}

/** A running watch: records as Observables and as events. Created by {@link watchOutputs}. */
export class Watcher extends EventEmitter<WatcherEvents> {
  /** Every record, in the order the CLI prints them. Hot: subscribe right away to miss nothing. */
  readonly records$: Observable<OutputRecord>;
  readonly images$: Observable<ImageRecord>;
  readonly items$: Observable<ItemRecord>;
  private readonly out = new Subject<OutputRecord>();
  private readonly servers: ServerWatch[];
  private readonly sub = new Subscription();
  private readonly log: Logger;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: WatchOptions) {
    super();
    this.log = opts.logger ?? noopLogger;
    const specs: ServerSpec[] = [
      ...(opts.url === undefined ? [] : typeof opts.url === 'string' ? [opts.url] : [...opts.url]).map((url) => ({ url })),
      ...(opts.servers ?? []),
    ];
    if (specs.length === 0) throw new OutputsError('BAD_CONFIG', 'url: no InvokeAI server given');
    const stateFiles = new Map<string | null, StateFile>();
    const stateFor = (path: string | null): StateFile => {
      let f = stateFiles.get(path);
      if (!f) stateFiles.set(path, (f = StateFile.open(path)));
      return f;
    };
    const queuesOf = (q: string | readonly string[] | undefined): string[] => (q === undefined ? ['default'] : typeof q === 'string' ? [q] : [...q]);
    this.servers = specs.map(
      (spec) =>
        new ServerWatch(
          {
            url: spec.url,
            queues: queuesOf(spec.queueId ?? opts.queueId),
            token: spec.token ?? opts.token ?? null,
            username: spec.username ?? opts.username ?? null,
            password: spec.password ?? opts.password ?? null,
            download: opts.download ?? null,
            includeIntermediate: opts.includeIntermediate ?? false,
            stateFile: stateFor(spec.state ?? opts.state ?? null),
            log: specs.length > 1 ? this.log.child(new URL(spec.url).host) : this.log,
            ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
            ...(opts.backoff ? { backoff: opts.backoff } : {}),
            ...(opts.reconcileIntervalMs === undefined ? {} : { reconcileIntervalMs: opts.reconcileIntervalMs }),
            ...(opts.cancelGraceMs === undefined ? {} : { cancelGraceMs: opts.cancelGraceMs }),
          },
          {
            connected: () => this.safeEmit('connected', spec.url),
            disconnected: (reason) => this.safeEmit('disconnected', spec.url, reason),
            error: (err) => this.safeEmit('error', err),
          },
        ),
    );
    this.records$ = this.out.asObservable();
    this.images$ = this.records$.pipe(filter((r): r is ImageRecord => r.type === 'image'));
    this.items$ = this.records$.pipe(filter((r): r is ItemRecord => r.type === 'item'));
    for (const server of this.servers) {
      this.sub.add(
        server.records$.subscribe({
          next: (rec) => {
            this.out.next(rec);
            if (rec.type === 'image') this.safeEmit('image', rec);
            else this.safeEmit('item', rec);
            // Subscribers have taken the record (stdout writes to a pipe or file are synchronous): now the cursor moves.
            server.delivered(rec);
          },
          error: (err: unknown) => {
            // The pipeline contains its own failures; reaching here is a bug, reported rather than thrown.
            this.log.error(`pipeline stopped: ${(err as Error).message}`);
            this.safeEmit('error', err as Error);
          },
        }),
      );
    }
    for (const s of this.servers) s.start();
  }

  /** A throwing listener must not break the pipeline. */
  private safeEmit<E extends keyof WatcherEvents>(event: E, ...args: WatcherEvents[E]): void {
    try {
      (this.emit as (e: E, ...a: WatcherEvents[E]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error(`a '${event}' listener threw: ${(err as Error).message}`);
    }
  }

  /**
   * Per-server diagnostics, for this project's tests and benchmark.
   * @internal Left out of the published declarations: its types are the internals'.
   */
  get serverWatches(): readonly ServerWatch[] {
    return this.servers;
  }

  /**
   * Stops taking new work, lets resolutions in flight finish (bounded by `drainTimeoutMs`), then closes
   * every connection and completes the Observables. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const timeout = this.opts.drainTimeoutMs ?? 10000;
      const drained = await Promise.all(this.servers.map((s) => s.drain(timeout)));
      if (drained.includes(false)) this.log.warn(`drain timeout (${timeout} ms): resolutions still in flight were abandoned`);
      this.sub.unsubscribe();
      await Promise.all(this.servers.map((s) => s.close()));
      this.out.complete();
      this.removeAllListeners();
    })();
    return this.closing;
  }
}

/** Starts watching: connects, subscribes, and reports every output image and every finished queue item. */
export function watchOutputs(opts: WatchOptions): Watcher {
  return new Watcher(opts);
}
