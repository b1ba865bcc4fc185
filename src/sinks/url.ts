import { createHash } from 'node:crypto';
import { OutputsError } from '../errors';

/** A `--sink` URL, parsed. Loads no broker client, so config validation stays cheap. */
export interface SinkTarget {
  kind: 'nats' | 'redis';
  host: string;
  port: number;
  /** NATS: the subject published to; Redis: the stream key. */
  path: string;
  /** Decoded; for NATS a user without a password is a token. */
  username?: string;
  password?: string;
  /** The URL as logged and as named in metrics: scheme, host, port and path, never credentials. */
  shown: string;
  /** What must never reach a log line or an error message. */
  secrets: string[];
}

const FORMS = 'nats://[user:pass@]HOST:PORT/SUBJECT or redis://[[user]:pass@]HOST:PORT/STREAM';
const DEFAULT_PORT = { nats: 4222, redis: 6379 } as const;

/** Parses `--sink URL`; a bad one is `OutputsError('BAD_USAGE')`, one line naming `--sink`, without the credentials. */
export function parseSinkUrl(raw: string): SinkTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad('not a URL');
  }
  const kind = u.protocol === 'nats:' ? 'nats' : u.protocol === 'redis:' ? 'redis' : null;
  if (kind === null) throw bad(`unsupported scheme ${u.protocol}//`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port === '' ? DEFAULT_PORT[kind] : Number(u.port);
  const path = decode(u.pathname.replace(/^\//, ''));
  const base = `${kind}://${u.host}`;
  if (host === '') throw bad(`${kind}:// needs a host`);
  if (u.search !== '' || u.hash !== '') throw bad(`${base}: no query or fragment is understood`);
  if (path === undefined) throw bad(`${base}: the path is not valid percent-encoding`);
  const shown = `${base}/${path}`;
  if (kind === 'nats') checkSubject(shown, path);
  else if (path === '' || /\s/.test(path)) throw bad(`${shown}: needs a stream name without spaces`);
  const username = decode(u.username) ?? u.username;
  const password = decode(u.password) ?? u.password;
  const target: SinkTarget = { kind, host, port, path, shown, secrets: [u.password, password].filter((s) => s !== '') };
  if (username !== '') target.username = username;
  if (password !== '') target.password = password;
  // nats://TOKEN@host: a lone user part is NATS's token authentication, and as secret as a password.
  if (kind === 'nats' && password === '' && username !== '') target.secrets.push(u.username, username);
  return target;
}

/** Every credential in these sink URLs, for the logger's redaction (unparsable URLs are refused elsewhere). */
export function sinkSecrets(urls: readonly string[]): string[] {
  return urls.flatMap((raw) => {
    try {
      return parseSinkUrl(raw).secrets;
    } catch {
      return [];
    }
  });
}

/** `STATE.sink-<hash>`: one outbox per sink beside the cursor, named by the URL without its credentials. */
export function sinkOutboxFile(state: string, target: SinkTarget): string {
  return `${state}.sink-${createHash('sha256').update(target.shown, 'utf8').digest('hex').slice(0, 12)}`;
}

function checkSubject(shown: string, subject: string): void {
  // A publish subject: dot-separated tokens, no wildcards or whitespace (NATS would refuse or fan it out).
  const tokens = subject.split('.');
  if (subject === '' || tokens.some((t) => t === '' || /[\s*>]/.test(t))) {
    throw bad(`${shown}: needs a subject like invokeai.outputs, without wildcards or spaces`);
  }
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function bad(what: string): OutputsError {
  return new OutputsError('BAD_USAGE', `--sink: ${what} (expected ${FORMS})`);
}
