import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A loopback HTTP proxy in front of a server whose API can be made unreachable while its socket.io connection
 * stays up (requests are dropped at the TCP level, as when a reverse proxy or the API workers fail).
 */
export interface ApiProxy {
  url: string;
  apiDown: boolean;
  /** `METHOD /path?query` of every HTTP request passed on, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startApiProxy(target: string): Promise<ApiProxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  const state = { apiDown: false };
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method ?? 'GET'} ${req.url ?? ''}`);
    if (state.apiDown && !req.url?.includes('/ws/socket.io')) {
      req.socket.destroy();
      return;
    }
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // WebSocket upgrades are passed through as raw TCP.
  server.on('upgrade', (req, client, head) => {
    const upstream = connect(Number(t.port), t.hostname, () => {
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
