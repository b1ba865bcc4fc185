import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isJsonObject, type Json, type JsonObject } from './json';
import { decodeJwt, encodeJwt } from './jwt';
import { ANONYMOUS, HttpError, SYSTEM_CALLER, Unprocessable, type Caller, type Gatekeeper } from './router';
import { DEFAULT_ADMIN, UserStore, type SimUser, type UserRecord } from './users';

/** A credential the server was sent (or not): what tests assert on. */
export interface SeenCredential {
  /** An HTTP request or a socket.io handshake. */
  readonly via: 'http' | 'socket';
  /** `GET /queue/default/i/3` for HTTP (path below `/api/v1`), `connect` for a handshake. */
  readonly what: string;
  /** The bearer token it carried (`Authorization` header or handshake `auth.token`), or null. */
  readonly token: string | null;
  /** ms since the epoch */
  readonly at: number;
}

/** One `POST /auth/login`. */
export interface LoginAttempt {
  readonly email: string;
  /** 200, or the refusal (401 bad credentials, 403 single-user mode or inactive user, 422 bad body). */
  readonly status: number;
  readonly at: number;
}

/** What a test can read about authentication on a simulator (`Simulator.auth`). */
export interface SimulatorAuth {
  readonly multiuser: boolean;
  /** Every request and handshake with the token it carried, oldest first (the last 10 000). */
  readonly seen: readonly SeenCredential[];
  /** Every login attempt, oldest first (the last 10 000). */
  readonly logins: readonly LoginAttempt[];
  /** Every token sent back in `X-Refreshed-Token`, oldest first (the last 10 000). */
  readonly refreshed: readonly string[];
  /** Every user, the default admin first. */
  users(): SimUser[];
}

/** Token lifetimes of `routers/auth.py` (docs/protocol.md §5.8), seconds. */
const TTL_NORMAL = 24 * 3600;
const TTL_REMEMBER_ME = 7 * 24 * 3600;
/** Routes whose responses never carry a refreshed token (`SlidingWindowTokenMiddleware`). */
const NO_REFRESH = new Set(['/auth/login', '/auth/logout', '/auth/media-cookie']);
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const TRACE_LIMIT = 10_000;
const BEARER = { 'WWW-Authenticate': 'Bearer' };

function bearer(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  const m = h === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

function push<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > TRACE_LIMIT) list.splice(0, list.length - TRACE_LIMIT);
}

type Verified = { ok: true; user: UserRecord; claims: JsonObject } | { ok: false; detail: string };

/**
 * Users, JWTs and the auth rules of InvokeAI HEAD (docs/protocol.md §1.3, §5 intro, §5.8): in multi-user mode every
 * route but the public ones needs a valid bearer token of an existing, active user whose `token_epoch` it carries,
 * and so does a socket handshake. In single-user mode tokens are ignored and everyone is the `system` admin.
 * Either way every credential received is recorded, so tests can check what a client sent.
 */
export class SimAuth implements Gatekeeper, SimulatorAuth {
  readonly userStore = new UserStore();
  readonly seen: SeenCredential[] = [];
  readonly logins: LoginAttempt[] = [];
  readonly refreshed: string[] = [];
  /** Called after a user's tokens were revoked: the socket hub disconnects that user's sockets (HEAD). */
  onRevoked: ((userId: string) => void) | undefined;
  private readonly secret = randomBytes(32);
  /** How far the token clock runs ahead of the real one (`expireTokens`), seconds. */
  private skewSec = 0;
  private latestExp = 0;

  constructor(
    readonly multiuser: boolean,
    private readonly tokenTtlSec: number | undefined,
  ) {
    if (multiuser) this.userStore.add({ ...DEFAULT_ADMIN, isAdmin: true, displayName: 'Administrator' });
  }

  users(): SimUser[] {
    return this.userStore.list().map((u) => UserStore.toSimUser(u));
  }

  private nowSec(): number {
    return Date.now() / 1000 + this.skewSec;
  }

  private mint(user: UserRecord, rememberMe: boolean): string {
    const exp = Math.floor(this.nowSec()) + (this.tokenTtlSec ?? (rememberMe ? TTL_REMEMBER_ME : TTL_NORMAL));
    this.latestExp = Math.max(this.latestExp, exp);
    return encodeJwt(
      {
        user_id: user.userId,
        email: user.email,
        is_admin: user.isAdmin,
        remember_me: rememberMe,
        token_epoch: user.tokenEpoch,
        exp,
        // Simulator only: tells apart tokens minted in the same second, since tests check which one a client sends.
        jti: randomUUID(),
      },
      this.secret,
    );
  }

  /** `verify_token` + `resolve_authorized_user`: signature, expiry, user exists and is active, epoch current. */
  private verify(token: string): Verified {
    const claims = decodeJwt(token, this.secret);
    const exp = claims?.['exp'];
    if (!claims || typeof exp !== 'number' || this.nowSec() >= exp) return { ok: false, detail: 'Invalid or expired token' };
    const userId = claims['user_id'];
    const user = typeof userId === 'string' && userId !== SYSTEM_CALLER.userId ? this.userStore.get(userId) : undefined;
    if (!user || !user.isActive || claims['token_epoch'] !== user.tokenEpoch) return { ok: false, detail: 'User not found or inactive' };
    return { ok: true, user, claims };
  }

  caller(req: IncomingMessage, method: string, path: string, publicRoute: boolean): Caller {
    const token = bearer(req.headers.authorization);
    push(this.seen, { via: 'http', what: `${method} ${path}`, token: token ?? null, at: Date.now() });
    if (publicRoute) return ANONYMOUS;
    if (!this.multiuser) return SYSTEM_CALLER;
    if (token === undefined) throw new HttpError(401, 'Authentication required', BEARER);
    const v = this.verify(token);
    if (!v.ok) throw new HttpError(401, v.detail, BEARER);
    // `is_admin` comes from the database, not from the token.
    return { userId: v.user.userId, isAdmin: v.user.isAdmin };
  }

  /** Sliding expiry: a successful mutating request with a valid token gets a fresh one (docs/protocol.md §5.8). */
  responseHeaders(req: IncomingMessage, method: string, route: string, status: number): Record<string, string> | undefined {
    if (!this.multiuser || status >= 400 || !MUTATING.has(method) || NO_REFRESH.has(route)) return undefined;
    const token = bearer(req.headers.authorization);
    const v = token === undefined ? undefined : this.verify(token);
    if (!v?.ok) return undefined;
    const fresh = this.mint(v.user, v.claims['remember_me'] === true);
    push(this.refreshed, fresh);
    return { 'x-refreshed-token': fresh, 'access-control-expose-headers': 'X-Refreshed-Token' };
  }

  /**
   * A socket.io handshake: `auth.token`, else the `Authorization` header (docs/protocol.md §1.3). Undefined refuses it
   * (multi-user mode without a valid token); single-user mode accepts everyone as the `system` admin.
   */
  socketCaller(auth: unknown, authorization: string | string[] | undefined): Caller | undefined {
    const fromAuth = isJsonObject(auth) ? auth['token'] : undefined;
    const token = typeof fromAuth === 'string' && fromAuth.length > 0 ? fromAuth : bearer(authorization);
    push(this.seen, { via: 'socket', what: 'connect', token: token ?? null, at: Date.now() });
    if (!this.multiuser) return SYSTEM_CALLER;
    if (token === undefined) return undefined;
    const v = this.verify(token);
    return v.ok ? { userId: v.user.userId, isAdmin: v.user.isAdmin } : undefined;
  }

  /** `GET /auth/status`. */
  status(): JsonObject {
    return {
      setup_required: this.multiuser && !this.userStore.list().some((u) => u.isAdmin && u.isActive),
      multiuser_enabled: this.multiuser,
      strict_password_checking: false,
      admin_email: null,
    };
  }

  /** `POST /auth/login` → `LoginResponse`. */
  login(body: Json | undefined): JsonObject {
    const b = isJsonObject(body ?? null) ? (body as JsonObject) : undefined;
    const email = typeof b?.['email'] === 'string' ? b['email'] : '';
    const refuse = (status: number, detail: string, headers?: Record<string, string>): never => {
      push(this.logins, { email, status, at: Date.now() });
      throw new HttpError(status, detail, headers);
    };
    if (!this.multiuser) refuse(403, 'Multiuser mode is disabled. Authentication is not required in single-user mode.');
    if (!b || typeof b['email'] !== 'string' || typeof b['password'] !== 'string') {
      push(this.logins, { email, status: 422, at: Date.now() });
      const missing = !b ? 'body' : typeof b['email'] !== 'string' ? 'email' : 'password';
      throw new Unprocessable([{ type: 'missing', loc: missing === 'body' ? ['body'] : ['body', missing], msg: 'Field required', input: null }]);
    }
    const rememberMe = b['remember_me'] === true;
    const user = this.userStore.authenticate(email, b['password']) ?? refuse(401, 'Incorrect email or password', BEARER);
    if (!user.isActive) refuse(403, 'User account is disabled');
    user.lastLoginMs = Date.now();
    const token = this.mint(user, rememberMe);
    push(this.logins, { email, status: 200, at: Date.now() });
    return { token, user: UserStore.toDTO(user), expires_in: this.tokenTtlSec ?? (rememberMe ? TTL_REMEMBER_ME : TTL_NORMAL) };
  }

  /** `GET /auth/me`. */
  me(caller: Caller): JsonObject {
    // The route needs a token even in single-user mode (`CurrentUser`, not `CurrentUserOrDefault`).
    if (!this.multiuser) throw new HttpError(401, 'Missing authentication credentials', BEARER);
    const u = this.userStore.get(caller.userId);
    if (!u) throw new HttpError(404, 'User not found');
    return UserStore.toDTO(u);
  }

  /** Bumps the user's `token_epoch`: every token minted before is refused from now on. */
  revoke(userId: string): void {
    const u = this.userStore.get(userId);
    if (!u) throw new Error(`revokeTokens: no user ${userId}`);
    u.tokenEpoch += 1;
    u.updatedMs = Date.now();
    this.onRevoked?.(userId);
  }

  /** The token clock jumps past the expiry of every token minted so far. */
  expireAll(): void {
    this.skewSec = Math.max(this.skewSec, this.latestExp - Date.now() / 1000 + 1);
  }
}
