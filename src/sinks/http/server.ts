import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Subscription } from 'rxjs';
import { OutputsError } from '../../errors';
import { noopLogger, type Logger } from '../../log';
import type { OutputRecord } from '../../records';
import { httpOrigin, isLoopbackHost } from './address';
import { TokenGate } from './auth';
import { healthOf } from './health';
import { proxyImage } from './imageProxy';
import { LiveMetrics } from './metrics';
import { loadPage, type LivePage } from './page';
import { BoundedMap, RecordRing, type KnownImage } from './recordStore';
import type { LiveSource } from './source';
import { SseHub } from './sse';

export interface LiveServerOptions {
  source: LiveSource;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** Required off loopback: every route but `/healthz` then needs it (Bearer header, or the page's cookie). */
  token?: string | null;
  log?: Logger;
  /** Records held for `/api/records` and for SSE replay. @default 5000 */
  ringSize?: number;
  /** Image records whose bytes the proxy still serves (older ones answer 404). @default 20000 */
  imageMemory?: number;
  /** SSE keep-alive comment interval, ms. @default 15000 */
  heartbeatMs?: number;
}

export interface LiveServer {
  /** `http://HOST:PORT` with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Ends the event streams, stops listening, closes every connection. Idempotent. */
  close(): Promise<void>;
}

const RECORD_ID = /^[0-9a-f]{32}$/;

/**
 * The live view and operator endpoints of `watch --http` (CONTRACT.md "Live view and operator endpoints"), on
 * node:http. It subscribes to the source at once, so no record is missed between this call and the first client.
 */
export async function startLiveServer(opts: LiveServerOptions): Promise<LiveServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !opts.token) throw new OutputsError('BAD_USAGE', `http ${host}: a non-loopback address needs a token`);
  const live = new LiveHandler(opts);
  const server = createServer((req, res) => live.handle(req, res));
  try {
    await listen(server, host, opts.port ?? 0);
  } catch (err) {
    live.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: httpOrigin(host, port),
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        live.close();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => reject(new OutputsError('BAD_USAGE', `cannot listen on ${httpOrigin(host, port)} (${err.code ?? err.message})`));
    server.once('error', failed);
    server.listen({ host, port }, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/** Routes and the state behind them: the ring, the known images and boards, the event streams, the metrics. */
class LiveHandler {
  private readonly source: LiveSource;
  private readonly log: Logger;
  private readonly gate: TokenGate;
  private readonly page: LivePage;
  private readonly ring: RecordRing;
  private readonly images: BoundedMap<string, KnownImage>;
  private readonly boards = new BoundedMap<string, true>(5000);
  private readonly sse: SseHub;
  private readonly metrics: LiveMetrics;
  private readonly sub: Subscription;

  constructor(opts: LiveServerOptions) {
    this.source = opts.source;
    this.log = opts.log ?? noopLogger;
    this.gate = new TokenGate(opts.token ?? null);
    this.page = loadPage();
    this.ring = new RecordRing(opts.ringSize ?? 5000);
    this.images = new BoundedMap(opts.imageMemory ?? 20_000);
    this.sse = new SseHub(opts.heartbeatMs === undefined ? {} : { heartbeatMs: opts.heartbeatMs });
    this.metrics = new LiveMetrics(opts.source);
    this.sub = opts.source.records$.subscribe((rec) => {
      // A throw here would surface as an unhandled error of the daemon's record stream: contained and logged instead.
      try {
        this.take(rec);
      } catch (err) {
        this.log.error(`live view: record ${rec.record_id} not taken: ${(err as Error).message}`);
      }
    });
  }

  private take(rec: OutputRecord): void {
    const held = { id: rec.record_id, type: rec.type, line: JSON.stringify(rec) };
    this.ring.push(held);
    if (rec.type === 'image') {
      this.images.set(rec.record_id, { server: rec.server, imageName: rec.image_name });
      this.boards.set(boardKey(rec.server, rec.board_id), true);
    } else {
      for (const n of Object.values(rec.nodes)) this.boards.set(boardKey(rec.server, n.board_id), true);
    }
    this.metrics.observe(rec);
    this.sse.broadcast(held);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://live.invalid');
    // The query may hold the token: only the path is ever logged.
    res.on('finish', () => this.log.debug(() => `${req.method ?? ''} ${url.pathname} → ${res.statusCode}`));
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    this.route(req, res, url).catch((err: unknown) => {
      this.log.warn(`http ${url.pathname}: ${(err as Error).message}`);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: 'method not allowed' });
    }
    if (!this.hostAllowed(req)) return json(res, 403, { error: 'this server answers only to loopback host names' });
    const path = url.pathname;
    if (path === '/healthz') {
      const { code, report } = healthOf(this.source);
      return json(res, code, report);
    }
    if (path === '/' && url.searchParams.has('token')) return this.exchangeToken(res, url.searchParams.get('token') ?? '');
    if (!this.gate.allows(req)) {
      res.setHeader('www-authenticate', 'Bearer realm="invokeai-outputs"');
      return json(res, 401, { error: 'unauthorized: send Authorization: Bearer <token>, or open the page once with ?token=<token>' });
    }
    if (path === '/') return this.servePage(req, res);
    // Browsers ask for it unprompted; the page has none.
    if (path === '/favicon.ico') return void res.writeHead(204, { 'cache-control': 'max-age=86400' }).end();
    if (path === '/api/records') return this.records(res, url);
    if (path === '/api/boards') return this.board(res, url);
    if (path === '/events') return this.events(req, res, url);
    if (path === '/metrics') return this.scrape(res);
    const img = /^\/images\/([^/]+)\/(thumbnail|full)$/.exec(path);
    if (img) {
      const known = RECORD_ID.test(img[1]!) ? this.images.get(img[1]!) : undefined;
      if (!known) return json(res, 404, { error: 'not a known image record' });
      return proxyImage(res, known, img[2] as 'thumbnail' | 'full', this.source, this.log);
    }
    return json(res, 404, { error: 'not found' });
  }

  /**
   * Without a token, a loopback server is open to anything that can reach it, and a web page's DNS rebinding can
   * make any host name reach it: requests must name a loopback host. A token makes that moot.
   */
  private hostAllowed(req: IncomingMessage): boolean {
    if (!this.gate.open) return true;
    const host = req.headers.host ?? '';
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
    return isLoopbackHost(name);
  }

  /** `/?token=T`: the right token becomes an HttpOnly cookie, and the token leaves the address bar. */
  private exchangeToken(res: ServerResponse, token: string): void {
    if (this.gate.open || this.gate.isToken(token)) {
      if (!this.gate.open) res.setHeader('set-cookie', this.gate.cookie());
      res.writeHead(303, { location: '/', 'cache-control': 'no-store' }).end();
      return;
    }
    json(res, 401, { error: 'unauthorized: wrong token' });
  }

  private servePage(req: IncomingMessage, res: ServerResponse): void {
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const headers = {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': this.page.csp,
      'cache-control': 'no-cache',
      etag: this.page.etag,
      vary: 'accept-encoding',
    };
    if (req.headers['if-none-match'] === this.page.etag) return void res.writeHead(304, headers).end();
    const body = gz ? this.page.gzip : this.page.html;
    res.writeHead(200, { ...headers, 'content-length': body.length, ...(gz ? { 'content-encoding': 'gzip' } : {}) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private records(res: ServerResponse, url: URL): void {
    const raw = url.searchParams.get('limit');
    const limit = raw === null ? 500 : /^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : NaN;
    if (Number.isNaN(limit)) return json(res, 400, { error: 'limit: must be a positive whole number' });
    const lines = this.ring.recent(limit).map((h) => h.line);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`[${lines.join(',')}]`);
  }

  /** Board names, for boards that records named (this is no way to probe a server's other boards). */
  private async board(res: ServerResponse, url: URL): Promise<void> {
    const server = url.searchParams.get('server') ?? '';
    const boardId = url.searchParams.get('board_id') ?? '';
    if (!this.boards.has(boardKey(server, boardId))) return json(res, 404, { error: 'no record names this board' });
    let name: string | null;
    try {
      name = await this.source.boardName(server, boardId);
    } catch (err) {
      this.log.debug(`board ${boardId}: ${(err as Error).message}`);
      return json(res, 502, { error: 'the server cannot be asked for this board now' });
    }
    json(res, 200, { server, board_id: boardId, name }, 'private, max-age=60');
  }

  /** SSE; `Last-Event-ID` (or `?since=`, which the page uses for its first connection) asks for a replay. */
  private events(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const header = req.headers['last-event-id'];
    const since = typeof header === 'string' ? header : url.searchParams.get('since');
    // An id no longer (or never) held: everything held may follow it, so all of it is replayed; clients dedupe.
    const replay = since === null ? [] : since === '' ? this.ring.recent() : (this.ring.after(since) ?? this.ring.recent());
    this.sse.open(req, res, replay);
  }

  private async scrape(res: ServerResponse): Promise<void> {
    const text = await this.metrics.text();
    res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' }).end(text);
  }

  close(): void {
    this.sub.unsubscribe();
    this.sse.close();
  }
}

function boardKey(server: string, boardId: string): string {
  return `${server}\n${boardId}`;
}

function json(res: ServerResponse, code: number, body: unknown, cache = 'no-store'): void {
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': cache }).end(JSON.stringify(body));
}
