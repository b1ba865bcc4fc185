import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeldRecord } from './recordStore';

export interface SseOptions {
  /** A comment line this often keeps proxies from closing an idle stream, ms. @default 15000 */
  heartbeatMs?: number;
  /**
   * A client that has this many bytes not yet taken by its socket is dropped: its browser reconnects with
   * `Last-Event-ID` and is replayed what it missed, rather than the daemon buffering without bound. @default 4 MiB
   */
  maxBufferedBytes?: number;
}

/** The SSE frame of one record (`event`, `id`, `data`): a record's JSON line has no newline in it. */
export function sseFrame(h: HeldRecord): string {
  return `event: ${h.type}\nid: ${h.id}\ndata: ${h.line}\n\n`;
}

/** `GET /events`: every client gets every record as it is printed, after a replay of what it asked for. */
export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly maxBuffered: number;

  constructor(opts: SseOptions = {}) {
    this.maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.heartbeat = setInterval(() => {
      for (const res of this.clients) this.write(res, ': ping\n\n');
    }, opts.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Starts a stream: headers, the reconnect delay, then `replay`, then live records. */
  open(req: IncomingMessage, res: ServerResponse, replay: readonly HeldRecord[]): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx and the like would otherwise hold frames back.
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    this.clients.add(res);
    const forget = (): void => {
      this.clients.delete(res);
    };
    res.on('close', forget);
    res.on('error', forget);
    this.write(res, `retry: 1000\n\n${replay.map(sseFrame).join('')}`);
  }

  broadcast(h: HeldRecord): void {
    if (this.clients.size === 0) return;
    const frame = sseFrame(h);
    for (const res of this.clients) this.write(res, frame);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableLength > this.maxBuffered) {
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  }

  /** Ends every stream (shutdown). */
  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
