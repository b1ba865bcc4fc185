import { Agent, RetryAgent, type Dispatcher, type FormData, type RetryHandler } from 'undici';
import { backoffDelay, parseRetryAfter } from './backoff';
import type { z } from 'zod';
import { OutputsError, errorMessage } from '../errors';
import { noopLogger, redactLearned, type Logger } from '../log';
import type { ServerEndpoints } from './url';

/** Supplies credentials per request, and learns of refreshed or rejected tokens (multi-user servers). */
export interface HttpAuth {
  token(): string | undefined;
  onRefreshedToken?(token: string): void;
  /**
   * Called on 401 with the token the refused request carried; resolves true when the request should be sent again
   * (a new token was obtained, or one newer than `rejected` is already held).
   */
  onUnauthorized?(rejected: string | undefined): Promise<boolean>;
}

export interface InvokeHttpOptions {
  endpoints: ServerEndpoints;
  /** Injected in tests or to share one pool; otherwise a keep-alive agent owned (and closed) by this client. */
  dispatcher?: Dispatcher;
  /** Per-request timeout for headers and body, ms. @default 15000 */
  timeoutMs?: number;
  /** Concurrent connections to the server. @default 8 */
  connections?: number;
  /** Retries of idempotent requests on network errors, 429 and 5xx. @default 4 */
  maxRetries?: number;
  auth?: HttpAuth;
  log?: Logger;
}

export class HttpError extends OutputsError {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    detail: string,
  ) {
    super(status === 404 ? 'NOT_FOUND' : status === 401 || status === 403 ? 'AUTH_FAILED' : 'HTTP_ERROR',
      `${method} ${path}: HTTP ${status}${detail ? ` ${detail}` : ''}`);
    this.name = 'HttpError';
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | readonly (string | number)[] | undefined>;
  body?: unknown;
  /** A multipart form instead of a JSON body (uploads); undici writes its boundary and content type. */
  form?: FormData;
  /** No token and no auth hooks: the auth endpoints themselves (a 401 from login must not trigger a login). */
  anonymous?: boolean;
}

/** A server that answers without end is cut off: no answer InvokeAI gives comes near this (a full image is smaller). */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** Bytes received from the server, for the benchmark's accounting. */
export interface HttpStats {
  requests: number;
  bytes: number;
}

/** JSON over HTTP to one InvokeAI server: keep-alive, timeouts, retries, auth. */
export class InvokeHttp {
  readonly stats: HttpStats = { requests: 0, bytes: 0 };
  private readonly dispatcher: Dispatcher;
  private readonly owned: Agent | undefined;
  private readonly timeoutMs: number;
  private readonly log: Logger;

  constructor(private readonly opts: InvokeHttpOptions) {
    this.timeoutMs = opts.timeoutMs ?? 15000;
    this.log = opts.log ?? noopLogger;
    if (opts.dispatcher) {
      this.dispatcher = opts.dispatcher;
    } else {
      this.owned = new Agent({ connections: opts.connections ?? 8, keepAliveTimeout: 30_000, maxResponseSize: MAX_RESPONSE_BYTES });
      this.dispatcher = new RetryAgent(this.owned, {
        maxRetries: opts.maxRetries ?? 4,
        minTimeout: 200,
        maxTimeout: 5000,
        timeoutFactor: 2,
        throwOnError: false,
        statusCodes: [429, 500, 502, 503, 504],
        // POST is left out: enqueueing twice would run the work twice.
        methods: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'],
        retry: retryWithJitter,
      });
    }
  }

  get endpoints(): ServerEndpoints {
    return this.opts.endpoints;
  }

  url(path: string, query?: RequestOptions['query']): string {
    return this.target(path, query).toString();
  }

  private target(path: string, query?: RequestOptions['query']): URL {
    const u = new URL(this.opts.endpoints.api + path);
    if (query) {
      for (const [k, v] of Object.entries(query)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const x of v as readonly (string | number)[]) u.searchParams.append(k, String(x));
        else u.searchParams.set(k, String(v));
      }
    }
    return u;
  }

  /**
   * What undici's top-level `request(url, opts)` does, minus parsing the URL string a second time: on this hot path
   * (an image DTO per image, a queue item per item) that parse was a measurable part of each request's CPU.
   */
  private dispatch(method: Method, u: URL, headers: Record<string, string>, body?: string | FormData): Promise<Dispatcher.ResponseData> {
    return this.dispatcher.request({
      origin: u.origin,
      path: u.search ? `${u.pathname}${u.search}` : u.pathname,
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  /** Sends a request and parses the JSON answer with `schema`; `null` for 404 when `allowNotFound`. */
  async json<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    opts: RequestOptions & { allowNotFound?: boolean } = {},
  ): Promise<z.infer<S> | null> {
    const { status, text } = await this.send(method, path, opts);
    if (status === 404 && opts.allowNotFound) return null;
    if (status < 200 || status >= 300) throw new HttpError(status, method, path, detailOf(text));
    let parsed: unknown;
    try {
      parsed = text.length ? JSON.parse(text) : null;
    } catch {
      throw new OutputsError('HTTP_ERROR', `${method} ${path}: response is not JSON`);
    }
    const r = schema.safeParse(parsed);
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : '(root)';
      throw new OutputsError('HTTP_ERROR', `${method} ${path}: unexpected response at ${where}: ${issue?.message ?? ''}`);
    }
    return r.data;
  }

  /** Status and body of a request whatever the status, for answers that need reading of their own. */
  async text(method: Method, path: string, opts: RequestOptions = {}): Promise<{ status: number; text: string }> {
    return this.send(method, path, opts);
  }

  /** Like `json`, but a 404 is an error. */
  async must<S extends z.ZodType>(method: Method, path: string, schema: S, opts: RequestOptions = {}): Promise<z.infer<S>> {
    return (await this.json(method, path, schema, opts)) as z.infer<S>;
  }

  /** Raw response (for image bytes); the caller must consume or dump the body. */
  async raw(method: Method, path: string, retried = false): Promise<Dispatcher.ResponseData> {
    const auth = this.opts.auth;
    const token = auth?.token();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatch(method, this.target(path), this.headers(false, token));
    } catch (err) {
      throw new OutputsError('UNREACHABLE', `${method} ${path}: ${errorMessage(err)}`, { cause: err });
    }
    // An expired or revoked token: log in again and fetch once more (the caller gets that answer, 401 or not).
    if (res.statusCode === 401 && !retried && auth?.onUnauthorized) {
      await res.body.dump();
      await auth.onUnauthorized(token);
      return this.raw(method, path, true);
    }
    return res;
  }

  private headers(withBody: boolean, token = this.opts.auth?.token()): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (withBody) h['content-type'] = 'application/json';
    if (token) h['authorization'] = `Bearer ${token}`;
    return h;
  }

  private async send(method: Method, path: string, opts: RequestOptions, retried = false): Promise<{ status: number; text: string }> {
    const json = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const auth = opts.anonymous ? undefined : this.opts.auth;
    const token = auth?.token();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatch(method, this.target(path, opts.query), this.headers(json !== undefined, token), opts.form ?? json);
    } catch (err) {
      throw new OutputsError('UNREACHABLE', `${method} ${path}: ${errorMessage(err)}`, { cause: err });
    }
    const text = await res.body.text();
    this.stats.requests += 1;
    this.stats.bytes += Buffer.byteLength(text);
    const refreshed = res.headers['x-refreshed-token'];
    if (typeof refreshed === 'string' && refreshed) auth?.onRefreshedToken?.(refreshed);
    if (res.statusCode === 401 && !retried && auth?.onUnauthorized) {
      if (await auth.onUnauthorized(token)) return this.send(method, path, opts, true);
    }
    this.log.debug(() => `${method} ${path} → ${res.statusCode} (${text.length} B)`);
    return { status: res.statusCode, text };
  }

  async close(): Promise<void> {
    await this.owned?.close();
  }
}

/**
 * undici's retry policy with jitter added: many daemons retrying a restarted server at the same moments would
 * otherwise arrive in lockstep. `Retry-After` is honoured as given.
 */
const retryWithJitter: RetryHandler.RetryCallback = (err, { state, opts }, cb) => {
  const e = err as Error & { statusCode?: number; code?: string; headers?: Record<string, string | string[] | undefined> };
  const ro = opts.retryOptions ?? {};
  const retryable =
    (!e.code || e.code === 'UND_ERR_REQ_RETRY' || (ro.errorCodes ?? DEFAULT_ERROR_CODES).includes(e.code)) &&
    (ro.methods ?? []).includes(opts.method) &&
    (e.statusCode == null || (ro.statusCodes ?? []).includes(e.statusCode)) &&
    state.counter <= (ro.maxRetries ?? 4);
  if (!retryable) return cb(err);
  const after = parseRetryAfter(e.headers?.['retry-after']);
  const max = ro.maxTimeout ?? 5000;
  const delay = after !== undefined ? Math.min(after, max) : backoffDelay(state.counter - 1, { min: ro.minTimeout ?? 200, max, jitter: 0.5 });
  setTimeout(() => cb(null), delay);
};

const DEFAULT_ERROR_CODES = ['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'ENETDOWN', 'ENETUNREACH', 'EHOSTDOWN', 'EHOSTUNREACH', 'EPIPE', 'UND_ERR_SOCKET'];

/** The server's own words on a failure, cut short; a token it quotes back is taken out first (a cut one would not match). */
function detailOf(text: string): string {
  try {
    const d = (JSON.parse(text) as { detail?: unknown }).detail;
    if (typeof d === 'string') return `(${redactLearned(d).slice(0, 200)})`;
    // FastAPI's 422: a list of {loc, msg}; the first says where and why.
    const first = Array.isArray(d) ? (d[0] as { loc?: unknown; msg?: unknown } | undefined) : undefined;
    if (first && typeof first.msg === 'string') {
      const loc = Array.isArray(first.loc) ? first.loc.map(String).join('.') : '';
      return `(${loc ? `${loc}: ` : ''}${redactLearned(first.msg).slice(0, 200)}${d && (d as unknown[]).length > 1 ? ` and ${(d as unknown[]).length - 1} more` : ''})`;
    }
  } catch {
    /* not JSON: no detail */
  }
  return '';
}
