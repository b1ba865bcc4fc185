import { createHmac } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { OutputsError, errorMessage } from '../errors';
import { parseRetryAfter } from '../invoke/backoff';
import { noopLogger, type Logger } from '../log';
import type { OutputRecord } from '../records';
import type { OutboxEntry } from './outbox';
import { QueuedSink, type Outcome, type Publisher } from './queued';
import type { SinkRecord } from './sink';

export { parseRetryAfter };

const NS = 'sink:webhook';

/** `sha256=<hex HMAC-SHA256 of the raw body>`, present when a secret is set. */
export const SIGNATURE_HEADER = 'x-invokeai-outputs-signature';
/** The id of one post, identical on every retry and after a restart: receivers may deduplicate on it. */
export const DELIVERY_HEADER = 'x-invokeai-outputs-delivery';

export interface WebhookOptions {
  /** http(s) URL to POST to; `user:password@` becomes Basic authorization. */
  url: string;
  /** HMAC-SHA256 key for the signature header. */
  secret?: string;
  /** Also post `image` records (`--webhook-images`). @default false (only `item` records) */
  images?: boolean;
  /** Undelivered posts are kept here across restarts (with `--state`). @default null (memory only) */
  outboxFile?: string | null;
  log?: Logger;
  /** For tests or a shared pool; otherwise a keep-alive agent owned (and closed) by the sink. */
  dispatcher?: Dispatcher;
  /** Delay between failed attempts, ms, doubling with jitter. @default { min: 500, max: 30000 } */
  backoff?: { min?: number; max?: number };
  /** Per post, ms. @default 10000 */
  timeoutMs?: number;
  /** Without an outbox file: posts held in memory before `accept` waits for room. @default 10000 */
  memoryLimit?: number;
}

/** HMAC-SHA256 signature header value for `body`. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * `--webhook URL`: POSTs records, at least once and in order (a {@link QueuedSink}: one post in flight, so a failing
 * post holds back those behind it and the receiver sees records in the order they were printed). Network errors,
 * timeouts, 408, 429, 5xx and 3xx (a misconfigured URL: logged with its `Location`) are retried forever with
 * backoff; any other non-2xx can never succeed and is dropped with an error log.
 */
export class WebhookSink extends QueuedSink {
  constructor(opts: WebhookOptions) {
    const log = (opts.log ?? noopLogger).child(NS);
    super({
      publisher: new WebhookPublisher(opts),
      outboxFile: opts.outboxFile ?? null,
      log,
      noun: 'post',
      backoff: { min: opts.backoff?.min ?? 500, max: opts.backoff?.max ?? 30000 },
      ...(opts.memoryLimit !== undefined ? { memoryLimit: opts.memoryLimit } : {}),
    });
  }

  /**
   * Queues a record. `line` is its NDJSON line as printed (without the newline), which becomes the body; it is
   * `JSON.stringify(record)` when left out. With an outbox file the post is on disk when this returns. Never throws.
   */
  send(record: OutputRecord, line?: string): void {
    let body: string;
    try {
      body = line === undefined ? JSON.stringify(record) : line.replace(/\r?\n$/, '');
    } catch (err) {
      this.log.error(`cannot serialise ${record.type} record of item ${record.item_id}: ${errorMessage(err)}`);
      return;
    }
    void this.accept({ recordId: record.record_id, type: record.type, line: body });
  }
}

/** The HTTP side of {@link WebhookSink}: one POST per entry, its answer classified. */
class WebhookPublisher implements Publisher {
  readonly name: string;
  readonly secrets: readonly string[];
  private readonly target: string;
  private readonly headers: Record<string, string>;
  private readonly secret: string | undefined;
  private readonly images: boolean;
  private readonly dispatcher: Dispatcher;
  private readonly owned: Agent | undefined;
  private readonly timeoutMs: number;

  constructor(opts: WebhookOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new OutputsError('BAD_CONFIG', 'webhook: not a valid URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OutputsError('BAD_CONFIG', 'webhook: URL must be http or https');
    this.name = `${u.origin}${u.pathname}`;
    this.secrets = [opts.secret, opts.url, u.search.slice(1), safeDecode(u.password), u.password].filter(
      (s): s is string => s !== undefined && s.length > 0,
    );
    this.headers = { 'content-type': 'application/json', 'user-agent': 'invokeai-outputs' };
    if (u.username || u.password) {
      const basic = `${safeDecode(u.username)}:${safeDecode(u.password)}`;
      this.headers['authorization'] = `Basic ${Buffer.from(basic).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    this.target = u.toString();
    this.secret = opts.secret !== undefined && opts.secret !== '' ? opts.secret : undefined;
    this.images = opts.images ?? false;
    this.timeoutMs = opts.timeoutMs ?? 10000;
    if (opts.dispatcher) {
      this.dispatcher = opts.dispatcher;
    } else {
      this.owned = new Agent({ connections: 2, keepAliveTimeout: 4000 });
      this.dispatcher = this.owned;
    }
  }

  /** A receiver is only known to be there when it answers a post: nothing to check up front. */
  open(): Promise<string | null> {
    return Promise.resolve(null);
  }

  wants(rec: SinkRecord): boolean {
    return rec.type === 'item' || this.images;
  }

  async close(): Promise<void> {
    await this.owned?.close().catch(() => undefined);
  }

  async publish(entry: OutboxEntry, stop: AbortSignal): Promise<Outcome> {
    const headers: Record<string, string> = { ...this.headers, [DELIVERY_HEADER]: entry.id };
    if (this.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(this.secret, entry.body);
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.timeoutMs);
    const onStop = (): void => ctrl.abort();
    stop.addEventListener('abort', onStop, { once: true });
    try {
      const res = await request(this.target, {
        method: 'POST',
        headers,
        body: entry.body,
        dispatcher: this.dispatcher,
        signal: ctrl.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      return await classify(res);
    } catch (err) {
      const reason = stop.aborted ? 'closing' : ctrl.signal.aborted ? `no answer within ${this.timeoutMs} ms` : errorMessage(err);
      return { kind: 'retry', reason };
    } finally {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
    }
  }
}

/** 2xx delivered; 408, 429 and 5xx retried (with Retry-After); 3xx retried as a configuration error; other 4xx dropped. */
async function classify(res: Dispatcher.ResponseData): Promise<Outcome> {
  const status = res.statusCode;
  if (status >= 200 && status < 300) {
    await res.body.dump().catch(() => undefined);
    return { kind: 'delivered' };
  }
  const detail = await snippet(res.body);
  const reason = `HTTP ${status}${detail ? ` (${detail})` : ''}`;
  if (status >= 300 && status < 400) {
    // A post is never followed to another URL (the body and signature would go somewhere nobody configured).
    const location = res.headers['location'];
    const to = typeof location === 'string' && location !== '' ? ` to ${location}` : ' without a Location';
    return { kind: 'retry', level: 'error', reason: `HTTP ${status}: the webhook redirects${to}; a configuration error (set --webhook to the final URL)` };
  }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  return { kind: 'dropped', reason };
}

/** Up to 200 characters of a response body, on one line; the rest is discarded with the connection. */
async function snippet(body: Dispatcher.ResponseData['body']): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      text += chunk.toString('utf8');
      if (text.length >= 200) break;
    }
  } catch {
    /* the reason is the status */
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
