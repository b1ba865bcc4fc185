import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** A request as the proxy's hooks see it: `path` is the URL path without the query. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** The full request target, `path?query`. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** What a test may do to requests on their way through (each hook sees every API request; socket.io traffic is never touched). */
export interface ProxyHooks {
  /** Answer the request itself (this status, this body) instead of passing it on; `null` passes it on. */
  respond?: (req: ProxiedRequest) => { status: number; body?: string; headers?: Record<string, string> } | null;
  /** Hold the request this long (ms) before passing it on; 0 passes it on at once. */
  delayMs?: (req: ProxiedRequest) => number;
  /** Rewrites a JSON answer: gets the parsed body and its status, returns the body to send instead. */
  rewrite?: (req: ProxiedRequest, body: unknown, status: number) => unknown;
}

/**
 * A loopback HTTP proxy in front of a server whose API can be made unreachable while its socket.io connection
 * stays up (requests are dropped at the TCP level, as when a reverse proxy or the API workers fail), and whose
 * answers a test can fail, delay or rewrite through {@link ProxyHooks}.
 */
export interface ApiProxy {
  url: string;
  apiDown: boolean;
  /** `METHOD /path?query` of every HTTP request passed on, in order. */
  readonly requests: string[];
  /** Set or replace at any time; undefined hooks do nothing. */
  hooks: ProxyHooks;
  close(): Promise<void>;
}

const isSocketIo = (url: string): boolean => url.includes('/ws/socket.io');

export interface ApiProxyOptions {
  /**
   * Where socket.io traffic goes instead of `target` (its origin): e.g. a python-socketio server sending hand-made
   * events, while the HTTP API is the simulator's. @default target
   */
  socketTarget?: string;
}

export async function startApiProxy(target: string, opts: ApiProxyOptions = {}): Promise<ApiProxy> {
  const t = new URL(target);
  const st = new URL(opts.socketTarget ?? target);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state: { apiDown: boolean; hooks: ProxyHooks } = { apiDown: false, hooks: {} };
  const requests: string[] = [];
  const pass = (req: IncomingMessage, res: import('node:http').ServerResponse, info: ProxiedRequest | null): void => {
    const rewrite = info ? state.hooks.rewrite : undefined;
    const to = info ? t : st;
    const up = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      const json = /application\/json/.test(String(r.headers['content-type'] ?? '')) && !r.headers['content-encoding'];
      if (!rewrite || !json || !info) {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const status = r.statusCode ?? 502;
        const text = Buffer.concat(chunks).toString('utf8');
        let out = text;
        try {
          out = JSON.stringify(rewrite(info, JSON.parse(text) as unknown, status));
        } catch {
          /* not JSON after all: passed on as it came */
        }
        const headers = { ...r.headers, 'content-length': String(Buffer.byteLength(out)) };
        delete headers['transfer-encoding'];
        res.writeHead(status, headers);
        res.end(out);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(`${req.method ?? 'GET'} ${url}`);
    if (state.apiDown && !isSocketIo(url)) {
      req.socket.destroy();
      return;
    }
    const info: ProxiedRequest | null = isSocketIo(url) ? null : { method: req.method ?? 'GET', path: url.split('?')[0] ?? url, url, headers: req.headers };
    const own = info ? state.hooks.respond?.(info) : null;
    if (own) {
      req.resume();
      res.writeHead(own.status, { 'content-type': 'application/json', ...own.headers });
      res.end(own.body ?? JSON.stringify({ detail: `proxy answered ${own.status}` }));
      return;
    }
    const delay = info ? (state.hooks.delayMs?.(info) ?? 0) : 0;
    if (delay <= 0) return pass(req, res, info);
    req.pause();
    const timer = setTimeout(() => {
      timers.delete(timer);
      pass(req, res, info);
      req.resume();
    }, delay);
    timers.add(timer);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // WebSocket upgrades are passed through as raw TCP.
  server.on('upgrade', (req, client, head) => {
    const upstream = connect(Number(st.port), st.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`), '', ''];
      upstream.write(lines.join('\r\n'));
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${t.pathname.replace(/\/$/, '')}`,
    requests,
    get apiDown() {
      return state.apiDown;
    },
    set apiDown(v: boolean) {
      state.apiDown = v;
    },
    get hooks() {
      return state.hooks;
    },
    set hooks(h: ProxyHooks) {
      state.hooks = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
