import { createHmac, timingSafeEqual } from 'node:crypto';
import { isJsonObject, type JsonObject } from './json';

/** HS256 JSON Web Tokens, as python-jose makes them for InvokeAI (`token_service.py`, docs/protocol.md §1.3). */

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

function sign(input: string, secret: Buffer): string {
  return createHmac('sha256', secret).update(input).digest('base64url');
}

export function encodeJwt(payload: JsonObject, secret: Buffer): string {
  const body = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${body}.${sign(body, secret)}`;
}

/** The payload of a token signed with `secret`, or undefined for anything else (expiry is the caller's check). */
export function decodeJwt(token: string, secret: Buffer): JsonObject | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, body, signature] = parts as [string, string, string];
  const want = Buffer.from(sign(`${header}.${body}`, secret));
  const got = Buffer.from(signature);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
  try {
    const h: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    if (!isJsonObject(h) || h['alg'] !== 'HS256') return undefined;
    const p: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    return isJsonObject(p) ? p : undefined;
  } catch {
    return undefined;
  }
}
