import { isIP } from 'node:net';

/** Where `--http HOST:PORT` listens. */
export interface HttpAddress {
  /** As given (IPv6 without brackets); `127.0.0.1` for `:PORT`. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Only this machine can connect: no token needed. */
  loopback: boolean;
}

/**
 * Parses `HOST:PORT`, `:PORT` (127.0.0.1) or `[IPv6]:PORT`. Throws a message (without the flag's name) when the
 * text is not one of these.
 */
export function parseHttpAddress(text: string): HttpAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) throw new Error('must be HOST:PORT, :PORT or [IPv6]:PORT');
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`port ${port} is out of range (0-65535)`);
  const host = m[1] ?? (m[2] === '' ? '127.0.0.1' : (m[2] ?? ''));
  if (m[1] !== undefined && isIP(host) !== 6) throw new Error(`[${host}] is not an IPv6 address`);
  if (!/^[A-Za-z0-9.\-:]+$/.test(host)) throw new Error(`"${host}" is not a host name or address`);
  return { host, port, loopback: isLoopbackHost(host) };
}

/** 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and `localhost`: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^(0{0,4}:){1,7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

/** `http://HOST:PORT`, brackets around an IPv6 host. */
export function httpOrigin(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
