import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { send, type Router } from './router';
import type { SocketHub } from './sockets';

const HOST = '127.0.0.1';

/**
 * The listener: one `node:http` server carrying the REST API under `${base}/api/v1` and socket.io under
 * `${base}/ws/socket.io` (6.14 `base_url`, docs/protocol.md §1.2). It can go down and come back on the same port
 * while the simulator keeps its state.
 */
export class Listener {
  private http: HttpServer | undefined;
  private boundPort: number;

  constructor(
    private readonly base: string,
    private readonly router: Router,
    private readonly hub: SocketHub,
    port: number,
    private readonly log: (msg: string) => void,
  ) {
    this.boundPort = port;
  }

  get port(): number {
    return this.boundPort;
  }

  get listening(): boolean {
    return this.http !== undefined;
  }

  async start(): Promise<void> {
    if (this.http) return;
    const http = createServer((req, res) => {
      this.onRequest(req, res).catch((err: unknown) => {
        this.log(`request failed: ${String(err)}`);
        send(res, req.method ?? 'GET', { status: 500, json: { detail: 'Internal Server Error' } });
      });
    });
    // uvicorn closes idle connections after 5 s; a test process busy for longer (validating a large payload) would
    // then send its next request on a connection the server is closing (ECONNRESET). A longer idle time keeps
    // tests about the protocol from failing on the machine's load; clients see no other difference.
    http.keepAliveTimeout = 60_000;
    // socket.io intercepts its own path and hands every other request to the listener above.
    this.hub.attach(http, `${this.base}/ws/socket.io`);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.boundPort, HOST, () => {
        http.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (http.address() as AddressInfo).port;
    this.http = http;
    this.log(`listening on http://${HOST}:${this.boundPort}${this.base}`);
  }

  async stop(): Promise<void> {
    const http = this.http;
    this.http = undefined;
    if (!http) return;
    // io.close() also closes the http server; keep-alive connections must be cut or it never finishes.
    const closing = this.hub.close();
    http.closeAllConnections();
    await closing;
    if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const prefix = `${this.base}/api/v1`;
    if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
      req.resume();
      send(res, req.method ?? 'GET', { status: 404, json: { detail: 'Not Found' } });
      return;
    }
    await this.router.handle(req, res, url.pathname.slice(prefix.length), url.searchParams);
  }
}
