import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { send, SERVER_FAULT, type Router } from './router';
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
        send(res, req.method ?? 'GET', SERVER_FAULT);
      });
    });
    // uvicorn closes idle connections after 5 s; a test process busy for longer (validating a large payload) would
    // then send its next request on a connection the server is closing (ECONNRESET). A longer idle time keeps
    // tests about the protocol from failing on the machine's load; clients see no other difference.
    http.keepAliveTimeout = 60_000;
    // socket.io intercepts its own path and hands every other request to the listener above.
    this.hub.attach(http, `${this.base}/ws/socket.io`);
    // Prepended, so it runs before socket.io looks at the path.
    if (this.base !== '') for (const event of ['request', 'upgrade'] as const) http.prependListener(event, (req: IncomingMessage) => this.restorePrefix(req));
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

  /**
   * HEAD's `SubPathASGIMiddleware` (api_app.py@HEAD): behind a proxy that strips the sub-path a request arrives
   * without it, so a path outside the base gets the base put in front (HTTP and socket.io alike).
   */
  private restorePrefix(req: IncomingMessage): void {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '';
    if (path !== this.base && !path.startsWith(`${this.base}/`)) req.url = `${this.base}${url}`;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const prefix = `${this.base}/api/v1`;
    if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
      req.resume();
      // Everything outside the API is the web UI's (a static mount at `/`).
      send(res, req.method ?? 'GET', this.router.fallback(req.method ?? 'GET'));
      return;
    }
    await this.router.handle(req, res, url.pathname.slice(prefix.length), url.searchParams);
  }
}
