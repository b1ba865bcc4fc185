/*
 * A lightweight synthetic InvokeAI server for the benchmark: socket.io 4.8 at `/ws/socket.io` and the handful of
 * HTTP routes a watcher reads, answering in the real shapes (payloads.ts). Unlike the embedded simulator it keeps
 * no images or items in memory: item `n` of server `s` is rendered on demand from templates, so it can emit
 * millions of events. Items run one after the other on each server; every id up to the newest exists. Loopback only.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { parseImageName, type Templates, type WireEvent } from './payloads';

const HOST = '127.0.0.1';
const QUEUE = 'default';

export const now = (): number => performance.timeOrigin + performance.now();

export interface RecordTime {
  server: number;
  item: number;
  /** image/item: the emit; dto/queue_item: arrival of the watcher's GET for it. */
  kind: 'image' | 'item' | 'dto' | 'queue_item';
  /** Emit time, ms since the epoch (`performance.timeOrigin + performance.now()`). */
  t: number;
}

export interface ServerStats {
  requests: Record<string, number>;
  bytesOut: number;
  subscribes: number;
}

/** One synthetic server. */
export class FakeServer {
  port = 0;
  /** Newest item id created; every id from 1 up to it exists. */
  lastCreated = 0;
  /** The item whose events are being emitted, and the next of them. */
  private current: { item: number; events: WireEvent[]; pos: number } | null = null;
  /** Items whose terminal status went out and whose queue item nobody has read yet (flow control). */
  readonly unread = new Set<number>();
  readonly stats: ServerStats = { requests: {}, bytesOut: 0, subscribes: 0 };
  /** Times of `subscribe_queue` (ms since the epoch): connects and reconnects. */
  readonly subscribeTimes: number[] = [];
  onRead: (() => void) | undefined;
  /** When set, arrivals of image DTO and queue item GETs are noted here (latency breakdown). */
  trace: RecordTime[] | undefined;
  private http: HttpServer | undefined;
  private io: Server | undefined;

  constructor(
    readonly index: number,
    private readonly t: Templates,
  ) {}

  async listen(): Promise<void> {
    const http = createServer((req, res) => this.onRequest(req, res));
    http.keepAliveTimeout = 60_000;
    const io = new Server(http, { path: '/ws/socket.io', serveClient: false, transports: ['polling', 'websocket'] });
    io.on('connection', (socket) => {
      socket.on('subscribe_queue', (payload: unknown, ack?: unknown) => {
        const q = (payload as { queue_id?: unknown } | null)?.queue_id;
        if (typeof q !== 'string') return;
        void socket.join(q);
        this.stats.subscribes += 1;
        this.subscribeTimes.push(now());
        if (typeof ack === 'function') (ack as () => void)();
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, HOST, () => resolve());
    });
    this.port = (http.address() as AddressInfo).port;
    this.http = http;
    this.io = io;
  }

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  /** Emits the next event of this server's stream; returns it (and notes the record-making ones). */
  emitNext(progress: number): WireEvent {
    if (!this.current || this.current.pos >= this.current.events.length) {
      const item = ++this.lastCreated;
      this.current = { item, events: this.t.events(this.index, item, { progress }), pos: 0 };
    }
    const cur = this.current;
    const ev = cur.events[cur.pos++]!;
    if (ev.record === 'item') this.unread.add(cur.item);
    this.io!.to(QUEUE).emit(ev.name, ev.payload);
    return ev;
  }

  get currentItem(): number {
    return this.current?.item ?? 0;
  }

  /** True between items (the last one's terminal status is out). */
  get atItemBoundary(): boolean {
    return !this.current || this.current.pos >= this.current.events.length;
  }

  private status(item: number): 'completed' | 'in_progress' | null {
    if (!Number.isInteger(item) || item < 1 || item > this.lastCreated) return null;
    if (item === this.current?.item && this.current.pos < this.current.events.length) return 'in_progress';
    return 'completed';
  }

  private itemJson(item: number): string | null {
    const s = this.status(item);
    return s === null ? null : this.t.queueItem(this.index, item, s);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const path = qi < 0 ? url : url.slice(0, qi);
    const method = req.method ?? 'GET';
    const send = (status: number, body: string, route: string): void => {
      this.stats.requests[route] = (this.stats.requests[route] ?? 0) + 1;
      const len = Buffer.byteLength(body);
      this.stats.bytesOut += len;
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': len });
      res.end(body);
    };
    const notFound = (route: string, detail = 'Not Found'): void => send(404, JSON.stringify({ detail }), route);
    if (!path.startsWith('/api/v1/')) {
      req.resume();
      notFound('other');
      return;
    }
    const p = path.slice('/api/v1'.length);
    if (method === 'GET') {
      req.resume();
      if (p === '/app/version') return send(200, '{"version":"6.14.0"}', 'app_version');
      if (p === '/auth/status') {
        return send(200, '{"setup_required":false,"multiuser_enabled":false,"strict_password_checking":false,"admin_email":null}', 'auth_status');
      }
      if (p.startsWith('/images/i/')) {
        const name = decodeURIComponent(p.slice('/images/i/'.length));
        const parsed = parseImageName(name);
        if (!parsed || parsed.server !== this.index || this.status(parsed.item) === null) return notFound('image_dto');
        this.trace?.push({ server: this.index, item: parsed.item, kind: 'dto', t: now() });
        return send(200, this.t.imageDto(this.index, parsed.item), 'image_dto');
      }
      const m = /^\/queue\/([^/]+)\/(?:i\/(\d+)|(item_ids))$/.exec(p);
      if (m && m[1] === QUEUE && m[2] !== undefined) {
        const item = Number(m[2]);
        this.trace?.push({ server: this.index, item, kind: 'queue_item', t: now() });
        const json = this.itemJson(item);
        if (json === null) return notFound('queue_item', `Queue item with id ${item} not found in queue ${QUEUE}`);
        send(200, json, 'queue_item');
        if (this.unread.delete(item)) this.onRead?.();
        return;
      }
      if (m && m[1] === QUEUE && m[3] !== undefined) {
        const ids: number[] = [];
        for (let id = this.lastCreated; id >= 1; id--) ids.push(id);
        return send(200, JSON.stringify({ item_ids: ids, total_count: ids.length }), 'item_ids');
      }
      return notFound('other');
    }
    if (method === 'POST' && p === `/queue/${QUEUE}/items_by_ids`) {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 1_000_000) chunks.push(c);
      });
      req.on('end', () => {
        let ids: unknown;
        try {
          ids = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { item_ids?: unknown }).item_ids;
        } catch {
          ids = undefined;
        }
        if (!Array.isArray(ids)) return send(422, '{"detail":"item_ids"}', 'items_by_ids');
        const found = ids.slice(0, 1000).flatMap((id) => {
          const j = typeof id === 'number' ? this.itemJson(id) : null;
          return j === null ? [] : [j];
        });
        send(200, `[${found.join(',')}]`, 'items_by_ids');
      });
      return;
    }
    req.resume();
    notFound('other');
  }

  async close(): Promise<void> {
    const io = this.io;
    const http = this.http;
    this.io = undefined;
    this.http = undefined;
    http?.closeAllConnections();
    if (io) await io.close();
    if (http?.listening) await new Promise<void>((r) => http.close(() => r()));
  }
}

export interface RunSpec {
  /** Events per second over the whole fleet; 0 = as fast as flow control allows. */
  rate: number;
  /** Stop at the first item boundary (on every server) once this many events went out. */
  events: number;
  /** At most this many finished items per server whose queue item was not read yet; 0 = no limit. */
  window?: number;
  /** `invocation_progress` events per denoise node. @default 0 */
  progress?: number;
  /** Keep the emit time of every record-making event (the side channel of the latency measurement). */
  recordTimes?: boolean;
}

export interface RunResult {
  emitted: number;
  byName: Record<string, number>;
  items: number;
  ms: number;
}

/** Several servers in one process, fed by one scheduler (round robin, rate-limited or flow-controlled). */
export class Fleet {
  readonly servers: FakeServer[] = [];
  readonly times: RecordTime[] = [];
  private stopRequested = false;

  constructor(private readonly t: Templates) {}

  async start(count: number): Promise<number[]> {
    for (let i = 0; i < count; i++) {
      const s = new FakeServer(i, this.t);
      await s.listen();
      this.servers.push(s);
    }
    return this.servers.map((s) => s.port);
  }

  /** Ends a running `run` at the next item boundaries. */
  stop(): void {
    this.stopRequested = true;
  }

  run(spec: RunSpec): Promise<RunResult> {
    this.stopRequested = false;
    const window = spec.window ?? 0;
    const progress = spec.progress ?? 0;
    const byName: Record<string, number> = {};
    const itemsBefore = this.servers.reduce((a, s) => a + s.lastCreated, 0);
    let emitted = 0;
    const t0 = now();
    let rr = 0;
    const n = this.servers.length;
    for (const s of this.servers) s.trace = spec.recordTimes ? this.times : undefined;
    return new Promise((resolve) => {
      let wake: (() => void) | undefined;
      for (const s of this.servers) s.onRead = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const done = (): boolean => (emitted >= spec.events || this.stopRequested) && this.servers.every((s) => s.atItemBoundary);
      const finish = (): void => {
        for (const s of this.servers) s.onRead = undefined;
        resolve({ emitted, byName, items: this.servers.reduce((a, s) => a + s.lastCreated, 0) - itemsBefore, ms: now() - t0 });
      };
      // One scheduling step: emits what is due (rate) or what the windows allow, at most `budget` events.
      const step = (budget: number): 'more' | 'blocked' | 'done' => {
        let blockedRound = 0;
        while (budget > 0) {
          if (done()) return 'done';
          const s = this.servers[rr % n]!;
          rr += 1;
          const stopping = emitted >= spec.events || this.stopRequested;
          if ((stopping && s.atItemBoundary) || (window > 0 && s.atItemBoundary && s.unread.size >= window)) {
            if (++blockedRound >= n) return 'blocked';
            continue;
          }
          blockedRound = 0;
          const ev = s.emitNext(progress);
          if (spec.recordTimes && ev.record) this.times.push({ server: s.index, item: s.currentItem, kind: ev.record, t: now() });
          byName[ev.name] = (byName[ev.name] ?? 0) + 1;
          emitted += 1;
          budget -= 1;
        }
        return 'more';
      };
      const loop = (): void => {
        let r: 'more' | 'blocked' | 'done';
        if (spec.rate > 0) {
          const due = Math.floor(((now() - t0) * spec.rate) / 1000) - emitted;
          r = due > 0 ? step(Math.min(due, 1000)) : 'more';
          if (r === 'done') return finish();
          setTimeout(loop, 1);
          return;
        }
        r = step(256);
        if (r === 'done') return finish();
        if (r === 'blocked') {
          wake = loop;
          return;
        }
        setImmediate(loop);
      };
      loop();
    });
  }

  /** Resolves once every finished item's queue item was read (the watcher has caught up), or after `ms`. */
  async drained(ms: number): Promise<boolean> {
    const end = now() + ms;
    while (now() < end) {
      if (this.servers.every((s) => s.unread.size === 0)) return true;
      await new Promise((r) => setTimeout(r, 5));
    }
    return false;
  }

  stats(): { requests: Record<string, number>; bytesOut: number; subscribes: number; subscribeTimes: number[] } {
    const requests: Record<string, number> = {};
    let bytesOut = 0;
    let subscribes = 0;
    const subscribeTimes: number[] = [];
    for (const s of this.servers) {
      for (const [k, v] of Object.entries(s.stats.requests)) requests[k] = (requests[k] ?? 0) + v;
      bytesOut += s.stats.bytesOut;
      subscribes += s.stats.subscribes;
      subscribeTimes.push(...s.subscribeTimes);
    }
    return { requests, bytesOut, subscribes, subscribeTimes: subscribeTimes.sort((a, b) => a - b) };
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }
}
