import { createHmac } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { OutputsError, errorMessage } from '../errors';
import { backoffDelay, parseRetryAfter } from '../invoke/backoff';
import { noopLogger, type Logger } from '../log';
import type { OutputRecord } from '../records';
import { Outbox, type OutboxEntry } from './outbox';

export { parseRetryAfter };

const NS = 'output:webhook';

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
}

type Outcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'dropped'; reason: string }
  | { kind: 'retry'; reason: string; retryAfterMs?: number };

/** HMAC-SHA256 signature header value for `body`. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Delay asked by a Retry-After header (seconds or an HTTP date), ms; undefined when absent or unreadable. */
/**
 * `--webhook URL`: POSTs records, at least once and in order. One post is in flight at a time, so a failing post
 * holds back those behind it and the receiver sees records in the order they were printed. Network errors,
 * timeouts, 408, 429 and 5xx are retried forever with backoff; any other non-2xx can never succeed and is dropped
 * with an error log.
 */
export class WebhookSink {
  private readonly target: string;
  /** The URL as logged: no credentials, no query. */
  private readonly shown: string;
  private readonly secrets: string[];
  private readonly headers: Record<string, string>;
  private readonly secret: string | undefined;
  private readonly images: boolean;
  private readonly outbox: Outbox;
  private readonly log: Logger;
  private readonly dispatcher: Dispatcher;
  private readonly owned: Agent | undefined;
  private readonly backoff: { min: number; max: number };
  private readonly timeoutMs: number;
  private readonly stop = new AbortController();
  private readonly idle = new Set<(ok: boolean) => void>();
  private readonly worker: Promise<void>;
  private wake: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private failures = 0;
  private deliveredCount = 0;
  private droppedCount = 0;

  constructor(opts: WebhookOptions) {
    this.log = (opts.log ?? noopLogger).child(NS);
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new OutputsError('BAD_CONFIG', 'webhook: not a valid URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OutputsError('BAD_CONFIG', 'webhook: URL must be http or https');
    this.shown = `${u.origin}${u.pathname}`;
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
    this.backoff = { min: opts.backoff?.min ?? 500, max: opts.backoff?.max ?? 30000 };
    this.timeoutMs = opts.timeoutMs ?? 10000;
    this.outbox = Outbox.open(opts.outboxFile ?? null, { log: this.log });
    if (opts.dispatcher) {
      this.dispatcher = opts.dispatcher;
    } else {
      this.owned = new Agent({ connections: 2, keepAliveTimeout: 4000 });
      this.dispatcher = this.owned;
    }
    if (this.outbox.size > 0) {
      this.log.info(`${this.outbox.size} undelivered post(s) to ${this.shown} from ${this.outbox.file ?? ''}; sending them first`);
    }
    this.worker = this.run().catch((err: unknown) => this.log.error(this.redact(`stopped posting: ${errorMessage(err)}`)));
  }

  /** Posts the receiver took (2xx), since start. */
  get delivered(): number {
    return this.deliveredCount;
  }

  /** Posts given up for good (the receiver refused them, 4xx), since start. */
  get failed(): number {
    return this.droppedCount;
  }

  /** Posts queued and not yet delivered (or dropped), the one in flight included. */
  get pending(): number {
    return this.outbox.size;
  }

  /**
   * Queues a record. `line` is its NDJSON line as printed (without the newline), which becomes the body; it is
   * `JSON.stringify(record)` when left out. With an outbox file the post is on disk when this returns. Never throws.
   */
  send(record: OutputRecord, line?: string): void {
    if (record.type === 'image' && !this.images) return;
    let body: string;
    try {
      body = line === undefined ? JSON.stringify(record) : line.replace(/\r?\n$/, '');
    } catch (err) {
      this.log.error(`cannot serialise ${record.type} record of item ${record.item_id}: ${errorMessage(err)}`);
      return;
    }
    this.outbox.append(body);
    if (!this.closing) this.wake?.();
    else if (this.outbox.file !== null) this.log.info(`closing: ${describe(body)} kept in ${this.outbox.file} for the next start`);
    else this.log.warn(`closing: ${describe(body)} not posted to ${this.shown}`);
  }

  /** Resolves true once everything queued is delivered, or false after `timeoutMs` (what is left stays queued). */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.outbox.size === 0) return Promise.resolve(true);
    if (this.closing) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.idle.delete(done);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      this.idle.add(done);
    });
  }

  /** Stops posting (a post in flight is abandoned and will be sent again) and closes the outbox. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stop.abort();
    this.wake?.();
    await this.worker;
    for (const done of [...this.idle]) done(false);
    const left = this.outbox.size;
    if (left > 0) {
      if (this.outbox.file !== null) this.log.info(`${left} undelivered post(s) to ${this.shown} kept in ${this.outbox.file}`);
      else this.log.warn(`${left} undelivered post(s) to ${this.shown} lost (no outbox file)`);
    }
    this.outbox.close();
    await this.owned?.close().catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.stop.signal.aborted) {
      const entry = this.outbox.peek();
      if (!entry) {
        for (const done of [...this.idle]) done(true);
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const outcome = await this.post(entry);
      if (outcome.kind === 'delivered') {
        if (this.failures > 0) this.log.info(`${this.shown}: delivering again after ${this.failures} failed attempt(s)`);
        this.failures = 0;
        this.deliveredCount += 1;
        this.outbox.ack(entry.id);
        this.log.debug(() => `${this.shown}: delivered ${entry.id} (HTTP ${outcome.status})`);
      } else if (outcome.kind === 'dropped') {
        this.failures = 0;
        this.droppedCount += 1;
        this.outbox.ack(entry.id);
        this.log.error(this.redact(`${this.shown}: ${outcome.reason}; dropping ${describe(entry.body)} (delivery ${entry.id})`));
      } else if (!this.stop.signal.aborted) {
        const delay =
          outcome.retryAfterMs !== undefined
            ? Math.max(outcome.retryAfterMs, this.backoff.min)
            : backoffDelay(this.failures, this.backoff);
        this.failures += 1;
        const text = `${this.shown}: ${outcome.reason}; retrying in ${delay < 1000 ? `${delay} ms` : `${(delay / 1000).toFixed(1)} s`} (${this.outbox.size} pending)`;
        // The first failure of a streak is a warning; the rest would flood the log during a long outage.
        if (this.failures === 1 || this.failures % 20 === 0) this.log.warn(this.redact(text));
        else this.log.debug(() => this.redact(text));
        await this.sleep(delay);
      }
    }
  }

  private async post(entry: OutboxEntry): Promise<Outcome> {
    const headers: Record<string, string> = { ...this.headers, [DELIVERY_HEADER]: entry.id };
    if (this.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(this.secret, entry.body);
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.timeoutMs);
    const onStop = (): void => ctrl.abort();
    this.stop.signal.addEventListener('abort', onStop, { once: true });
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
      const status = res.statusCode;
      if (status >= 200 && status < 300) {
        await res.body.dump().catch(() => undefined);
        return { kind: 'delivered', status };
      }
      const detail = await snippet(res.body);
      const reason = `HTTP ${status}${detail ? ` (${detail})` : ''}`;
      if (status === 408 || status === 429 || status >= 500) {
        const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
        return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
      }
      return { kind: 'dropped', reason };
    } catch (err) {
      const reason = this.stop.signal.aborted
        ? 'closing'
        : ctrl.signal.aborted
          ? `no answer within ${this.timeoutMs} ms`
          : errorMessage(err);
      return { kind: 'retry', reason };
    } finally {
      clearTimeout(timer);
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stop.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** The secret, credentials and query never reach a log line, whatever an error message or a receiver echoes. */
  private redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
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

/** `item record 158` (for logs) from a body, without logging the body itself. */
function describe(body: string): string {
  try {
    const r = JSON.parse(body) as { type?: unknown; item_id?: unknown };
    if (typeof r.type === 'string' && typeof r.item_id === 'number') return `${r.type} record of item ${r.item_id}`;
  } catch {
    /* not JSON: say nothing more */
  }
  return 'a record';
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
