import { z } from 'zod';
import { OutputsError } from '../errors';
import { addSecret, noopLogger, type Logger } from '../log';
import { HttpError, type HttpAuth, type InvokeHttp } from './http';
import { authStatusSchema, loginSchema } from './wire';

export interface AuthOptions {
  token?: string | null;
  username?: string | null;
  password?: string | null;
  log?: Logger;
  /**
   * Log in again this long before the token expires, ms; never more than a fifth of the token's lifetime when the
   * login told it. @default 300000
   */
  renewBeforeMs?: number;
  /** Pause after a refused login before the next one is tried, ms; doubles with each refusal. @default { min: 1000, max: 60000 } */
  loginBackoff?: { min?: number; max?: number };
  now?: () => number;
}

/**
 * Credentials for one server (docs/protocol.md §1.3, §5.8). The mode decides: a single-user server gets no token at
 * all (a token would put the socket in the wrong user's room), a multi-user one gets the newest token we hold:
 * the one given, one from logging in, or one the server refreshed (`X-Refreshed-Token`).
 *
 * A refused login is not retried at once: the same refusal is thrown without asking the server until a growing
 * pause has passed, so a daemon with a wrong password retries slowly instead of hammering the login route.
 */
export class AuthSession implements HttpAuth {
  private current: string | undefined;
  /** Lifetime of tokens from our logins (`expires_in`), ms. */
  private lifetimeMs: number | null = null;
  private multiuser: boolean | null = null;
  private loggingIn: Promise<void> | null = null;
  private refused: { error: OutputsError; until: number; count: number } | null = null;
  private logins = 0;
  private readonly log: Logger;
  private readonly now: () => number;
  private http: InvokeHttp | undefined;

  constructor(private readonly opts: AuthOptions = {}) {
    this.current = opts.token ?? undefined;
    if (opts.token) addSecret(opts.token);
    if (opts.password) addSecret(opts.password);
    this.log = opts.log ?? noopLogger;
    this.now = opts.now ?? Date.now;
  }

  /** The client this session logs in through (set once, by the server context that owns both). */
  attach(http: InvokeHttp): void {
    this.http = http;
  }

  get hasCredentials(): boolean {
    return Boolean(this.opts.username && this.opts.password);
  }

  get isMultiuser(): boolean | null {
    return this.multiuser;
  }

  /** Every secret this session may hold, for log redaction. */
  secrets(): string[] {
    return [this.current, this.opts.token, this.opts.password].filter((s): s is string => typeof s === 'string' && s.length > 0);
  }

  token(): string | undefined {
    return this.multiuser === true ? this.current : undefined;
  }

  onRefreshedToken(token: string): void {
    addSecret(token);
    if (this.multiuser === true) this.current = token;
  }

  /**
   * Learns the server's mode (404 on `/auth/status` = a server without auth, before 6.12) and logs in if needed.
   * Throws `AUTH_FAILED` when a multi-user server cannot be given a usable token.
   */
  async ensure(): Promise<void> {
    if (this.multiuser === null) {
      const status = await this.need().json('GET', '/auth/status', authStatusSchema, { allowNotFound: true, anonymous: true });
      this.multiuser = status?.multiuser_enabled ?? false;
      if (this.multiuser) this.log.debug('multi-user server: requests carry a bearer token');
      else if (this.opts.token || this.hasCredentials) this.log.debug('single-user server: the token and credentials are not sent');
    }
    if (!this.multiuser) return;
    if (this.hasCredentials && (!this.current || this.expiresSoon())) return this.login();
    if (!this.current) throw new OutputsError('AUTH_FAILED', `${this.server}: multi-user server: give a token or a username and password`);
    const exp = jwtExpiry(this.current);
    if (!this.hasCredentials && exp !== null && exp * 1000 <= this.now())
      throw new OutputsError('AUTH_FAILED', `${this.server}: the token expired at ${new Date(exp * 1000).toISOString()}; give a new one, or a username and password`);
  }

  /** A request carrying `rejected` got 401: true when it is worth sending again with the token held now. */
  async onUnauthorized(rejected: string | undefined): Promise<boolean> {
    // Another request already replaced the token (a login or a refresh): no need to log in again.
    if (this.current !== undefined && rejected !== this.current) return true;
    if (!this.hasCredentials) return false;
    try {
      if (this.current === rejected) this.current = undefined;
      await this.login();
      return true;
    } catch (err) {
      this.log.debug(`re-login after HTTP 401 failed: ${(err as Error).message}`);
      return false;
    }
  }

  /** Called when the socket was refused: the token may have expired or been revoked. */
  async renew(): Promise<void> {
    const stale = this.current;
    this.multiuser = null;
    if (this.hasCredentials) this.current = undefined;
    await this.ensure();
    if (this.multiuser && !this.hasCredentials && this.current === stale)
      throw new OutputsError('AUTH_FAILED', `${this.server}: the server refused the token (expired or revoked?); give a new one, or a username and password`);
  }

  private login(): Promise<void> {
    this.loggingIn ??= this.doLogin().finally(() => {
      this.loggingIn = null;
    });
    return this.loggingIn;
  }

  private async doLogin(): Promise<void> {
    const user = this.opts.username ?? '';
    if (this.refused && this.now() < this.refused.until) throw this.refused.error;
    let r: z.infer<typeof loginSchema> | null;
    try {
      r = await this.need().json('POST', '/auth/login', loginSchema, {
        body: { email: user, password: this.opts.password, remember_me: true },
        anonymous: true,
      });
    } catch (err) {
      if (!(err instanceof HttpError) || ![401, 403, 422].includes(err.status)) throw err;
      const detail = /HTTP \d+ \((.*)\)$/.exec(err.message)?.[1];
      const error = new OutputsError('AUTH_FAILED', `${this.server}: login as ${user} refused (HTTP ${err.status}${detail ? `: ${detail}` : ''})`);
      const count = (this.refused?.count ?? 0) + 1;
      const { min = 1000, max = 60_000 } = this.opts.loginBackoff ?? {};
      this.refused = { error, count, until: this.now() + Math.min(max, min * 2 ** (count - 1)) };
      throw error;
    }
    if (!r?.token) throw new OutputsError('AUTH_FAILED', `${this.server}: login as ${user} returned no token`);
    this.refused = null;
    this.logins += 1;
    addSecret(r.token);
    this.current = r.token;
    this.lifetimeMs = typeof r.expires_in === 'number' ? r.expires_in * 1000 : null;
    this.log.info(`${this.logins > 1 ? 'logged in again' : 'logged in'} as ${user}`);
  }

  /** JWT `exp` (seconds) within the renewal margin; tokens we cannot read are trusted until refused. */
  private expiresSoon(): boolean {
    const exp = jwtExpiry(this.current);
    if (exp === null) return false;
    const margin = Math.min(this.opts.renewBeforeMs ?? 300_000, this.lifetimeMs === null ? Infinity : this.lifetimeMs / 5);
    return exp * 1000 - this.now() < margin;
  }

  private get server(): string {
    return this.need().endpoints.server;
  }

  private need(): InvokeHttp {
    if (!this.http) throw new Error('AuthSession used before attach()');
    return this.http;
  }
}

const jwtPayload = z.looseObject({ exp: z.number().optional() });

export function jwtExpiry(token: string | undefined): number | null {
  const part = token?.split('.')[1];
  if (!part) return null;
  try {
    const r = jwtPayload.safeParse(JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    return r.success && r.data.exp !== undefined ? r.data.exp : null;
  } catch {
    return null;
  }
}
