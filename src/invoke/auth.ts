import { z } from 'zod';
import { OutputsError, errorMessage } from '../errors';
import { noopLogger, type Logger } from '../log';
import { HttpError, type HttpAuth, type InvokeHttp } from './http';
import { authStatusSchema, loginSchema } from './wire';

export interface AuthOptions {
  token?: string | null;
  username?: string | null;
  password?: string | null;
  log?: Logger;
  /** Re-login this long before a token expires, ms. @default 300000 */
  renewBeforeMs?: number;
  now?: () => number;
}

/**
 * Credentials for one server (PROTOCOL §1.3, §5.8). The mode decides: a single-user server gets no token at
 * all (a token would put the socket in the wrong user's room), a multi-user one gets the newest token we hold:
 * the one given, one from logging in, or one the server refreshed (`X-Refreshed-Token`).
 */
export class AuthSession implements HttpAuth {
  private current: string | undefined;
  private multiuser: boolean | null = null;
  private loggingIn: Promise<boolean> | null = null;
  private readonly log: Logger;
  private http: InvokeHttp | undefined;

  constructor(private readonly opts: AuthOptions = {}) {
    this.current = opts.token ?? undefined;
    this.log = opts.log ?? noopLogger;
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
    if (this.multiuser === true) this.current = token;
  }

  /** Learns the server's mode (404 on `/auth/status` = a server without auth, before 6.12) and logs in if needed. */
  async ensure(): Promise<void> {
    if (this.multiuser === null) {
      const status = await this.need().json('GET', '/auth/status', authStatusSchema, { allowNotFound: true });
      this.multiuser = status?.multiuser_enabled ?? false;
      if (this.multiuser) this.log.info('multi-user server: requests carry a bearer token');
      else if (this.opts.token || this.hasCredentials) this.log.debug('single-user server: the token and credentials are not sent');
    }
    if (this.multiuser && (!this.current || this.expiresSoon())) {
      if (this.hasCredentials) await this.login();
      else if (!this.current) throw new OutputsError('AUTH_FAILED', 'multi-user server: give --token or --username and --password');
    }
  }

  async onUnauthorized(): Promise<boolean> {
    if (!this.hasCredentials) return false;
    try {
      return await this.login();
    } catch (err) {
      this.log.warn(errorMessage(err));
      return false;
    }
  }

  /** Called when the socket was refused: the token may have expired or been revoked. */
  async renew(): Promise<void> {
    this.multiuser = null;
    if (this.hasCredentials) this.current = undefined;
    await this.ensure();
  }

  private login(): Promise<boolean> {
    this.loggingIn ??= (async () => {
      try {
        const r = await this.need().json('POST', '/auth/login', loginSchema, {
          body: { email: this.opts.username, password: this.opts.password, remember_me: true },
        });
        this.current = r?.token;
        this.log.info(`logged in as ${this.opts.username ?? ''}`);
        return Boolean(this.current);
      } catch (err) {
        if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
          throw new OutputsError('AUTH_FAILED', `login refused for user ${this.opts.username ?? ''} (HTTP ${err.status})`);
        }
        throw err;
      } finally {
        this.loggingIn = null;
      }
    })();
    return this.loggingIn;
  }

  /** JWT `exp` (seconds) within the renewal margin; tokens we cannot read are trusted until refused. */
  private expiresSoon(): boolean {
    const exp = jwtExpiry(this.current);
    if (exp === null) return false;
    return exp * 1000 - (this.opts.now ?? Date.now)() < (this.opts.renewBeforeMs ?? 300_000);
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
