import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ValidationIssue } from './fields';
import type { Json } from './json';

export interface RouteRequest {
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON body; `undefined` when the request had none. */
  readonly body: Json | undefined;
}

export type RouteResult =
  | { status: number; json: unknown }
  | { status: number; bytes: Buffer; contentType: string; headers?: Record<string, string> };

export type Handler = (req: RouteRequest) => RouteResult | Promise<RouteResult>;

/** Thrown by handlers for FastAPI's `HTTPException(status, detail)` → `{"detail": ...}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: Json,
  ) {
    super(typeof detail === 'string' ? detail : `HTTP ${status}`);
  }
}

/** A request failed pydantic validation: FastAPI answers 422 with the issue list. */
export class Unprocessable extends Error {
  constructor(readonly detail: ValidationIssue[]) {
    super('validation failed');
  }
}

interface Route {
  methods: readonly string[];
  parts: readonly string[];
  handler: Handler;
}

/** A small path router for `node:http`: `{name}` segments become params. */
export class Router {
  private readonly routes: Route[] = [];

  add(methods: string | readonly string[], pattern: string, handler: Handler): void {
    this.routes.push({ methods: typeof methods === 'string' ? [methods] : methods, parts: split(pattern), handler });
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const parts = split(path);
    let pathMatched = false;
    for (const r of this.routes) {
      const params = match(r.parts, parts);
      if (!params) continue;
      pathMatched = true;
      if (!r.methods.includes(method)) continue;
      let body: Json | undefined;
      const raw = await readBody(req);
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8')) as Json;
        } catch (err) {
          send(res, method, {
            status: 422,
            json: { detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: String((err as Error).message) } }] },
          });
          return;
        }
      }
      let result: RouteResult;
      try {
        result = await r.handler({ method, params, query, body });
      } catch (err) {
        if (err instanceof HttpError) result = { status: err.status, json: { detail: err.detail } };
        else if (err instanceof Unprocessable) result = { status: 422, json: { detail: err.detail } };
        else result = { status: 500, json: { detail: `Internal Server Error: ${String(err)}` } };
      }
      send(res, method, result);
      return;
    }
    await readBody(req);
    send(res, method, pathMatched ? { status: 405, json: { detail: 'Method Not Allowed' } } : { status: 404, json: { detail: 'Not Found' } });
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
  res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': body.length });
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
