import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie the page gets for `?token=`: it holds a value derived from the token, never the token itself. */
export const COOKIE_NAME = 'invokeai_outputs_session';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * `--http-token`: with a token, a request needs `Authorization: Bearer T` or the page's cookie. Comparisons run
 * over SHA-256 digests (always 32 bytes) with `timingSafeEqual`, so neither the token's length nor its content
 * leaks through timing.
 */
export class TokenGate {
  private readonly tokenDigest: Buffer | null;
  private readonly cookieValue: string | null;
  private readonly cookieDigest: Buffer | null;

  constructor(token: string | null) {
    this.tokenDigest = token ? digest(token) : null;
    // Keyed by the token: a leaked cookie is no token, and a new token invalidates old cookies.
    this.cookieValue = token ? createHmac('sha256', token).update('invokeai-outputs live view').digest('base64url') : null;
    this.cookieDigest = this.cookieValue ? digest(this.cookieValue) : null;
  }

  /** No token configured: every request passes. */
  get open(): boolean {
    return this.tokenDigest === null;
  }

  /** Bearer header or cookie. */
  allows(req: IncomingMessage): boolean {
    if (this.open) return true;
    const auth = req.headers.authorization;
    const bearer = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
    if (bearer !== undefined && this.isToken(bearer)) return true;
    const cookie = cookieOf(req, COOKIE_NAME);
    return cookie !== undefined && same(digest(cookie), this.cookieDigest);
  }

  isToken(candidate: string): boolean {
    return same(digest(candidate), this.tokenDigest);
  }

  /** `Set-Cookie` for a page opened with the right `?token=`. */
  cookie(): string {
    return `${COOKIE_NAME}=${this.cookieValue ?? ''}; HttpOnly; SameSite=Strict; Path=/`;
  }
}

function same(a: Buffer, b: Buffer | null): boolean {
  return b !== null && a.length === b.length && timingSafeEqual(a, b);
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
