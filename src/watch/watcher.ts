import { EventEmitter } from 'eventemitter3';
import { Subject, asyncScheduler, filter, type Observable, type SchedulerLike } from 'rxjs';
import type { Dispatcher } from 'undici';
import { Delivery } from '../delivery/delivery';
import { OutputsError, errorMessage } from '../errors';
import { serverEndpoints } from '../invoke/url';
import { noopLogger, type Logger } from '../log';
import { ImageDownloader } from '../output/download';
import type { ImageRecord, ItemRecord, OutputRecord } from '../records';
import type { RecordSink } from '../sinks/sink';
import { StateFile } from '../state/stateFile';
import type { ServerHealth } from './health';
import { ServerWatch } from './serverWatch';

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
  /** How long `close()` waits for resolutions in flight and for sinks to take what is left, ms. @default 10000 */
  drainTimeoutMs?: number;
  /**
   * Where records are delivered besides the Observables (the CLI passes stdout, webhooks, brokers). A record counts
   * as delivered, and the cursor moves over it, only once every sink accepted it. @default [] (none)
   */
  sinks?: readonly RecordSink[];
  logger?: Logger;
  /** undici dispatcher for every HTTP request (tests, proxies). */
  dispatcher?: Dispatcher;
  /** Reconnect backoff, ms. @default { min: 500, max: 5000 } */
  backoff?: { min?: number; max?: number };
  /** A canceled item that was running waits this long for a node finishing after the cancel, ms. @default 3000 */
  cancelGraceMs?: number;
  /** Then at most this long for the server to write the canceled run's session, ms. @default 30000 */
  settleTimeoutMs?: number;
  /** Owed items not heard of for this long are read over HTTP (events lost without a disconnect), ms; 0 = never. @default 30000 */
  reconcileIntervalMs?: number;
  /** Records waiting for slow sinks beyond this pause the intake. @default 2000 */
  highWater?: number;
  /** Every timer runs on it (tests pass a virtual one). @default asyncScheduler */
  scheduler?: SchedulerLike;
}

export interface WatcherEvents {
  image: [record: ImageRecord];
  item: [record: ItemRecord];
  /** Connected, subscribed and caught up (again after every reconnect). */
  connected: [server: string];
  disconnected: [server: string, reason: string];
  /** A server's connection failed; the message names the server. */
  error: [err: Error];
}

const queuesOf = (q: string | readonly string[] | undefined): string[] => (q === undefined ? ['default'] : typeof q === 'string' ? [q] : [...q]);

/** The same server and queue twice would report every record twice (the CLI's config check refuses it too). */
function checkDistinct(specs: readonly ServerSpec[], queueId: WatchOptions['queueId']): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    const server = serverEndpoints(spec.url).server;
    for (const queue of queuesOf(spec.queueId ?? queueId)) {
      const key = `${server}\n${queue}`;
      if (seen.has(key)) throw new OutputsError('BAD_CONFIG', `url: ${server} (queue ${queue}) is given twice`);
      seen.add(key);
    }
  }
}

/** A running watch: records as Observables and as events. Created by {@link watchOutputs}. */
export class Watcher extends EventEmitter<WatcherEvents> {
  /** Every record, as delivered (in the order the CLI prints them). Hot: subscribe right away to miss nothing. */
  readonly records$: Observable<OutputRecord>;
  readonly images$: Observable<ImageRecord>;
  readonly items$: Observable<ItemRecord>;
  private readonly out = new Subject<OutputRecord>();
  private readonly servers: ServerWatch[];
  private readonly stateFiles = new Map<string | null, StateFile>();
  private readonly downloaders = new Map<string, ImageDownloader>();
  private readonly delivery: Delivery;
  private readonly log: Logger;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: WatchOptions) {
    super();
    this.log = opts.logger ?? noopLogger;
    const specs: ServerSpec[] = [...(opts.url === undefined ? [] : typeof opts.url === 'string' ? [opts.url] : [...opts.url]).map((url) => ({ url })), ...(opts.servers ?? [])];
    if (specs.length === 0) throw new OutputsError('BAD_CONFIG', 'url: no InvokeAI server given');
    checkDistinct(specs, opts.queueId);
    this.records$ = this.out.asObservable();
    this.images$ = this.records$.pipe(filter((r): r is ImageRecord => r.type === 'image'));
    this.items$ = this.records$.pipe(filter((r): r is ItemRecord => r.type === 'item'));
    try {
      this.servers = specs.map((spec) => this.serverWatch(spec, specs.length > 1));
    } catch (err) {
      for (const f of this.stateFiles.values()) f.close();
      throw err;
    }
    const byServer = new Map(this.servers.map((s) => [s.server, s]));
    this.delivery = new Delivery({
      sinks: opts.sinks ?? [],
      prepare: (rec) => this.prepare(rec),
      onDelivered: (rec) => {
        byServer.get(rec.server)?.delivered(rec);
        this.out.next(rec);
        if (rec.type === 'image') this.safeEmit('image', rec);
        else this.safeEmit('item', rec);
      },
      ...(opts.highWater === undefined ? {} : { highWater: opts.highWater }),
      onPressure: (paused) => {
        for (const s of this.servers) {
          if (paused) s.session.pause();
          else s.session.resume();
        }
      },
      log: this.log,
      ...(opts.scheduler ? { scheduler: opts.scheduler } : {}),
    });
    for (const s of this.servers) s.start();
  }

  private serverWatch(spec: ServerSpec, several: boolean): ServerWatch {
    const o = this.opts;
    const path = spec.state ?? o.state ?? null;
    let stateFile = this.stateFiles.get(path);
    if (!stateFile) this.stateFiles.set(path, (stateFile = StateFile.open(path, (m) => this.log.error(m))));
    const log = several ? this.log.child(new URL(spec.url).host) : this.log;
    const watch: ServerWatch = new ServerWatch(
      {
        url: spec.url,
        queues: queuesOf(spec.queueId ?? o.queueId),
        token: spec.token ?? o.token ?? null,
        username: spec.username ?? o.username ?? null,
        password: spec.password ?? o.password ?? null,
        includeIntermediate: o.includeIntermediate ?? false,
        stateFile,
        log,
        ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
        ...(o.backoff ? { backoff: o.backoff } : {}),
        reconcileIntervalMs: o.reconcileIntervalMs ?? 30_000,
        cancelGraceMs: o.cancelGraceMs ?? 3000,
        settleTimeoutMs: o.settleTimeoutMs ?? 30_000,
        ...(o.scheduler ? { scheduler: o.scheduler } : {}),
      },
      (rec) => this.delivery.deliver(rec),
    );
    const server = watch.server;
    watch.session.on('connected', () => this.safeEmit('connected', server));
    watch.session.on('disconnected', (reason) => this.safeEmit('disconnected', server, reason));
    watch.session.on('error', (err) => this.safeEmit('error', new OutputsError('UNREACHABLE', `${server}: ${errorMessage(err)}`, { cause: err })));
    if (o.download) this.downloaders.set(server, new ImageDownloader({ dir: o.download, http: watch.conn.http, log: log.child('download') }));
    return watch;
  }

  /** `--download`: the file is saved before the record goes out, so the record can name it. */
  private async prepare(rec: OutputRecord): Promise<void> {
    const downloader = rec.type === 'image' ? this.downloaders.get(rec.server) : undefined;
    if (!downloader || rec.type !== 'image') return;
    try {
      rec.file = await downloader.download(rec);
    } catch (err) {
      this.log.warn(`download of ${rec.image_name} failed: ${errorMessage(err)}`);
    }
  }

  /** A throwing listener must not break the pipeline. */
  private safeEmit<E extends keyof WatcherEvents>(event: E, ...args: WatcherEvents[E]): void {
    try {
      (this.emit as (e: E, ...a: WatcherEvents[E]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error(`a '${event}' listener threw: ${errorMessage(err)}`);
    }
  }

  /** Per-server state, for the live view, `/healthz` and `/metrics`. */
  health(): ServerHealth[] {
    return this.servers.map((s) => s.health());
  }

  /**
   * The servers watched (diagnostics, the live view's image proxy).
   * @internal
   */
  get serverWatches(): readonly ServerWatch[] {
    return this.servers;
  }

  /** Records taken and not yet delivered to every sink. */
  get pendingDeliveries(): number {
    return this.delivery.pending;
  }

  /**
   * Stops taking new work, lets resolutions in flight finish and sinks take what is left (bounded by
   * `drainTimeoutMs`), then closes every connection and completes the Observables. Idempotent. What was not
   * delivered by then is found again after a restart with the same state file.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // One budget for the whole drain: resolutions in flight, then the deliveries they made.
      const timeout = this.opts.drainTimeoutMs ?? 10000;
      const clock = this.opts.scheduler ?? asyncScheduler;
      const deadline = clock.now() + timeout;
      const drained = await Promise.all(this.servers.map((s) => s.drain(timeout)));
      if (drained.includes(false)) this.log.warn(`drain timeout (${timeout} ms): resolutions still in flight were abandoned`);
      if (!(await this.delivery.drain(Math.max(0, deadline - clock.now())))) {
        this.log.warn(`drain timeout (${timeout} ms): ${this.delivery.pending} record(s) not delivered; a restart with --state reports them`);
      }
      await Promise.all(this.servers.map((s) => s.close()));
      await Promise.all([...this.downloaders.values()].map((d) => d.close()));
      for (const f of this.stateFiles.values()) f.close();
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
