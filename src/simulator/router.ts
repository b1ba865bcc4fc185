import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ValidationIssue } from './fields';
import { clone, type Json } from './json';

/** Who sends a request: InvokeAI's `TokenData` as the routes see it (docs/protocol.md §5 intro). */
export interface Caller {
  readonly userId: string;
  readonly isAdmin: boolean;
}

/** Single-user mode: every request is InvokeAI's default `system` user, an admin (docs/protocol.md §1.3). */
export const SYSTEM_CALLER: Caller = { userId: 'system', isAdmin: true };

/** The caller of a public route (`/app/version`, `/auth/status`, `/auth/login`): nobody in particular. */
export const ANONYMOUS: Caller = { userId: '', isAdmin: false };

export interface RouteRequest {
  readonly method: string;
  /** The matched route's pattern, e.g. `/queue/{queue_id}/i/{item_id}`. */
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON body; `undefined` when the request had none or it is a form (see `raw`). */
  readonly body: Json | undefined;
  /** The body's bytes as sent (multipart forms are parsed by their route). */
  readonly raw: Buffer;
  /** The request's `content-type` header; `''` when absent. */
  readonly contentType: string;
  /** Single-user mode: always the `system` admin. */
  readonly caller: Caller;
}

export type RouteResult =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; bytes: Buffer; contentType: string; headers?: Record<string, string> };

export type Handler = (req: RouteRequest) => RouteResult | Promise<RouteResult>;

/** Runs around a route's handler (per-user access rules); `next` runs the handler. */
export type Wrapper = (req: RouteRequest, next: () => Promise<RouteResult>) => Promise<RouteResult>;

/** Authentication in front of every route that is not public, like FastAPI's auth dependencies. */
export interface Gatekeeper {
  /** The caller of a route (`ANONYMOUS` for public ones); throws `HttpError(401)` when it must not pass. */
  caller(req: IncomingMessage, method: string, path: string, publicRoute: boolean): Caller;
  /** Headers to add to any response (the sliding-window `X-Refreshed-Token`, docs/protocol.md §5.8). */
  responseHeaders(req: IncomingMessage, method: string, route: string, status: number): Record<string, string> | undefined;
}

export interface RouteOptions {
  /** Served without authentication, also in multi-user mode. @default false */
  public?: boolean;
}

/** Thrown by handlers for FastAPI's `HTTPException(status, detail)` → `{"detail": ...}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: Json,
    readonly headers?: Record<string, string>,
  ) {
    super(typeof detail === 'string' ? detail : `HTTP ${status}`);
  }
}

/**
 * An exception no handler catches: Starlette's `ServerErrorMiddleware` answers a plain-text 500 (not JSON), the
 * same for every uncaught error (`starlette/middleware/errors.py`, `error_response`).
 */
export const SERVER_FAULT: RouteResult = { status: 500, bytes: Buffer.from('Internal Server Error'), contentType: 'text/plain; charset=utf-8' };

/** A request failed pydantic validation: FastAPI answers 422 with the issue list. */
export class Unprocessable extends Error {
  constructor(readonly detail: ValidationIssue[]) {
    super('validation failed');
  }
}

interface Route {
  methods: readonly string[];
  pattern: string;
  parts: readonly string[];
  handler: Handler;
  public: boolean;
}

const methodList = (m: string | readonly string[]): readonly string[] => (typeof m === 'string' ? [m] : m);

/** A small path router for `node:http`: `{name}` segments become params. */
export class Router {
  private readonly routes: Route[] = [];
  /** Wrappers by `METHOD pattern`, outermost first. */
  private readonly wrappers = new Map<string, Wrapper[]>();
  /** Without one every caller is the single-user `system` admin. */
  gate: Gatekeeper | undefined;
  /** What answers a request no route takes (InvokeAI: the web UI's static mount). @default a FastAPI-style 404/405 */
  fallback: (method: string) => RouteResult = (method) =>
    method === 'GET' || method === 'HEAD' ? { status: 404, json: { detail: 'Not Found' } } : { status: 405, json: { detail: 'Method Not Allowed' } };

  add(methods: string | readonly string[], pattern: string, handler: Handler, opts: RouteOptions = {}): void {
    this.routes.push({ methods: methodList(methods), pattern, parts: split(pattern), handler, public: opts.public ?? false });
  }

  /** Runs `wrapper` around the handlers of these routes; routes a server generation lacks are simply never hit. */
  wrap(methods: string | readonly string[], patterns: readonly string[], wrapper: Wrapper): void {
    for (const m of methodList(methods))
      for (const p of patterns) {
        const key = `${m} ${p}`;
        this.wrappers.set(key, [...(this.wrappers.get(key) ?? []), wrapper]);
      }
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const parts = split(path);
    for (const r of this.routes) {
      const params = match(r.parts, parts);
      if (!params || !r.methods.includes(method)) continue;
      let body: Json | undefined;
      const raw = await readBody(req);
      const extra = (status: number): Record<string, string> | undefined => this.gate?.responseHeaders(req, method, r.pattern, status);
      // Auth dependencies run before the body is validated: no token ⇒ 401, even for a malformed body.
      let caller: Caller = r.public ? ANONYMOUS : SYSTEM_CALLER;
      try {
        if (this.gate) caller = this.gate.caller(req, method, path, r.public);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        send(res, method, { status: err.status, json: { detail: err.detail }, ...(err.headers ? { headers: err.headers } : {}) });
        return;
      }
      const contentType = req.headers['content-type'] ?? '';
      // Form routes (uploads) read their fields from the raw bytes, like FastAPI's `UploadFile` parameters.
      if (raw.length > 0 && !contentType.toLowerCase().startsWith('multipart/form-data')) {
        try {
          // Client-chosen keys (node ids, field names) must never reach an object prototype.
          body = clone(JSON.parse(raw.toString('utf8')) as Json);
        } catch (err) {
          send(res, method, {
            status: 422,
            json: { detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: String((err as Error).message) } }] },
          });
          return;
        }
      }
      const request: RouteRequest = { method, route: r.pattern, params, query, body, raw, contentType, caller };
      let result: RouteResult;
      try {
        result = await this.run(r, request);
      } catch (err) {
        if (err instanceof HttpError) result = { status: err.status, json: { detail: err.detail }, ...(err.headers ? { headers: err.headers } : {}) };
        else if (err instanceof Unprocessable) result = { status: 422, json: { detail: err.detail } };
        else result = SERVER_FAULT;
      }
      const headers = extra(result.status);
      send(res, method, headers ? { ...result, headers: { ...result.headers, ...headers } } : result);
      return;
    }
    // A path some route has but not for this method goes to the fallback too: Starlette prefers a mount's full match
    // over a route's partial (method-only) one, so InvokeAI's UI mount answers it, not a 405 with `Allow`.
    await readBody(req);
    send(res, method, this.fallback(method));
  }

  private run(r: Route, req: RouteRequest): Promise<RouteResult> {
    const chain = this.wrappers.get(`${req.method} ${r.pattern}`) ?? [];
    const at = (i: number): Promise<RouteResult> => {
      const w = chain[i];
      return w ? w(req, () => at(i + 1)) : Promise.resolve(r.handler(req));
    };
    return at(0);
  }
}

function split(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

function match(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const v = parts[i] as string;
    if (p.startsWith('{') && p.endsWith('}')) params[p.slice(1, -1)] = decodeURIComponent(v);
    else if (p !== v) return undefined;
  }
  return params;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function send(res: ServerResponse, method: string, r: RouteResult): void {
  if (res.headersSent) return;
  if ('bytes' in r) {
    res.writeHead(r.status, { 'content-type': r.contentType, 'content-length': r.bytes.length, ...(r.headers ?? {}) });
    res.end(method === 'HEAD' ? undefined : r.bytes);
    return;
  }
  const body = Buffer.from(JSON.stringify(r.json ?? null));
  res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': body.length, ...(r.headers ?? {}) });
  res.end(method === 'HEAD' ? undefined : body);
}

/** Query parameter parsing with FastAPI's 422 on bad values. */
export const q = {
  bool(query: URLSearchParams, name: string): boolean | undefined {
    const v = query.get(name);
    if (v === null) return undefined;
    const s = v.toLowerCase();
    if (['true', '1', 'yes', 'on', 't', 'y'].includes(s)) return true;
    if (['false', '0', 'no', 'off', 'f', 'n'].includes(s)) return false;
    throw new Unprocessable([{ type: 'bool_parsing', loc: ['query', name], msg: 'Input should be a valid boolean, unable to interpret input', input: v }]);
  },
  int(query: URLSearchParams, name: string): number | undefined {
    const v = query.get(name);
    if (v === null) return undefined;
    if (!/^\s*[-+]?\d+\s*$/.test(v))
      throw new Unprocessable([{ type: 'int_parsing', loc: ['query', name], msg: 'Input should be a valid integer, unable to parse string as an integer', input: v }]);
    return Number.parseInt(v, 10);
  },
  oneOf<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
    const v = query.get(name);
    if (v === null) return undefined;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    const list = allowed.map((a) => `'${a}'`);
    const msg = `Input should be ${list.slice(0, -1).join(', ')} or ${list[list.length - 1] ?? ''}`;
    throw new Unprocessable([{ type: 'enum', loc: ['query', name], msg, input: v, ctx: { expected: `${list.slice(0, -1).join(', ')} or ${list[list.length - 1] ?? ''}` } }]);
  },
  /** A `Literal[...]` parameter: pydantic's `literal_error` (an Enum is `enum`, see {@link q.oneOf}). */
  literal<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
    const v = query.get(name);
    if (v === null) return undefined;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    const list = allowed.map((a) => `'${a}'`);
    const expected = `${list.slice(0, -1).join(', ')} or ${list[list.length - 1] ?? ''}`;
    throw new Unprocessable([{ type: 'literal_error', loc: ['query', name], msg: `Input should be ${expected}`, input: v, ctx: { expected } }]);
  },
  required(query: URLSearchParams, name: string): string {
    const v = query.get(name);
    if (v === null) throw new Unprocessable([{ type: 'missing', loc: ['query', name], msg: 'Field required', input: null }]);
    return v;
  },
};

/** Path `{item_id}` style integers. */
export function pathInt(params: Readonly<Record<string, string>>, name: string): number {
  const v = params[name] ?? '';
  if (!/^[-+]?\d+$/.test(v))
    throw new Unprocessable([{ type: 'int_parsing', loc: ['path', name], msg: 'Input should be a valid integer, unable to parse string as an integer', input: v }]);
  return Number.parseInt(v, 10);
}
