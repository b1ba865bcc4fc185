import { createHash } from 'node:crypto';
import type * as IORedis from 'ioredis';
import { OutputsError, errorMessage } from '../errors';
import type { OutboxEntry } from './outbox';
import type { Outcome, Publisher } from './queued';
import type { SinkTarget } from './url';

/** How long a record_id is remembered: a record added again within it (a restart, an active-active peer) is not. */
export const SEEN_TTL_S = 24 * 3600;

/**
 * Adds a record to the stream at most once per record_id within the TTL, atomically (a script runs alone).
 * KEYS: stream, seen-key. ARGV: record_id, type, line, ttl. Returns the entry id, or false for a record already
 * added. The seen-key is set after XADD, so an XADD that fails (a key of the wrong type) leaves no mark.
 */
export const ADD_ONCE_LUA = `if redis.call('EXISTS', KEYS[2]) == 1 then return false end
local id = redis.call('XADD', KEYS[1], '*', 'record_id', ARGV[1], 'type', ARGV[2], 'record', ARGV[3])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
return id`;
const ADD_ONCE_SHA = createHash('sha1').update(ADD_ONCE_LUA).digest('hex');

export interface RedisPublisherOptions {
  /** Connecting, and each command, ms. @default 5000 */
  timeoutMs?: number;
}

// Loaded on first use: commands without a Redis sink do not pay for the client at start-up.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const client = (): typeof IORedis => require('ioredis') as typeof IORedis;

/** `--sink redis://…/STREAM`: `XADD STREAM * record_id <id> type <type> record <line>`, once per record_id. */
export class RedisPublisher implements Publisher {
  readonly name: string;
  readonly secrets: readonly string[];
  private readonly timeoutMs: number;
  private redis: IORedis.Redis | undefined;
  /** The last connection error ioredis reported (it reconnects by itself): says why a record is waiting. */
  private lastError: Error | undefined;
  private reachable: (() => void) | undefined;

  constructor(
    private readonly target: SinkTarget,
    opts: RedisPublisherOptions = {},
  ) {
    this.name = target.shown;
    this.secrets = target.secrets;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  async open(): Promise<string | null> {
    const redis = this.connection();
    try {
      await redis.connect();
      await this.timed(redis.script('LOAD', ADD_ONCE_LUA));
      const type = await this.timed(redis.type(this.target.path));
      if (type !== 'none' && type !== 'stream') {
        throw new OutputsError('BAD_CONFIG', `--sink ${this.name}: key ${this.target.path} holds a ${type}, not a stream`);
      }
      return null;
    } catch (err) {
      const cause = this.lastError ?? err;
      if (err instanceof OutputsError || refused(cause)) {
        redis.disconnect();
        if (err instanceof OutputsError) throw err;
        throw new OutputsError('BAD_CONFIG', this.redact(`--sink ${this.name}: the Redis server refused (${firstWord(cause)})`));
      }
      return this.redact(`cannot reach the Redis server (${errorMessage(cause)})`);
    }
  }

  async publish(entry: OutboxEntry): Promise<Outcome> {
    const redis = this.connection();
    if (redis.status !== 'ready') {
      const why = this.lastError ? `: ${errorMessage(this.lastError)}` : '';
      return { kind: 'retry', reason: `not connected to the Redis server${why}`, ...(refused(this.lastError) ? { level: 'error' as const } : {}) };
    }
    const { path: stream } = this.target;
    const recordId = entry.recordId ?? entry.id;
    const args = [stream, `${stream}:seen:${recordId}`, recordId, entry.type ?? typeOf(entry.body), entry.body, SEEN_TTL_S] as const;
    try {
      let added: unknown;
      try {
        added = await this.timed(redis.evalsha(ADD_ONCE_SHA, 2, ...args));
      } catch (err) {
        // The server restarted (or SCRIPT FLUSH): register the script again, once, and go on with EVALSHA.
        if (!/NOSCRIPT/.test(errorMessage(err))) throw err;
        await this.timed(redis.script('LOAD', ADD_ONCE_LUA));
        added = await this.timed(redis.evalsha(ADD_ONCE_SHA, 2, ...args));
      }
      // The script's `false` arrives as a nil reply: the record_id was seen, nothing was added.
      return { kind: 'delivered', duplicate: added === null };
    } catch (err) {
      return { kind: 'retry', reason: errorMessage(err), ...(refused(err) || /WRONGTYPE/.test(errorMessage(err)) ? { level: 'error' as const } : {}) };
    }
  }

  onReachable(wake: () => void): void {
    this.reachable = wake;
  }

  async close(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    await redis.quit().catch(() => redis.disconnect());
    redis.disconnect();
  }

  /** One client for the sink's life; ioredis reconnects it forever (a constant 1 s pause) after any drop. */
  private connection(): IORedis.Redis {
    if (this.redis) return this.redis;
    const { host, port, username, password } = this.target;
    const redis = new (client().Redis)({
      host,
      port,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      lazyConnect: true,
      connectTimeout: this.timeoutMs,
      // Its timer outlives a socket that had already closed (a refused AUTH): 2 s by default of a daemon that exits.
      disconnectTimeout: 200,
      // Fail fast while disconnected: the sink's outbox holds the record and its worker retries with backoff.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 1000,
      connectionName: 'invokeai-outputs',
    });
    redis.on('error', (err: Error) => (this.lastError = err));
    redis.on('ready', () => {
      this.lastError = undefined;
      this.reachable?.();
    });
    this.redis = redis;
    return redis;
  }

  /**
   * Rejects after the timeout. Not ioredis's `commandTimeout`: its timer outlives a command that failed, which would
   * keep a closing daemon alive.
   */
  private timed<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }

  private redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s.length > 0) out = out.split(s).join('***');
    return out;
  }
}

/** The server answered and said no: wrong password, no password given, or the ACL user may not do this. */
function refused(err: unknown): boolean {
  return err !== undefined && /^(WRONGPASS|NOAUTH|NOPERM)\b|invalid password/i.test(errorMessage(err));
}

/** `WRONGPASS invalid username-password pair` → the reason without anything the server echoed back. */
function firstWord(err: unknown): string {
  const msg = errorMessage(err);
  const code = /^[A-Z]+/.exec(msg)?.[0];
  if (code === 'WRONGPASS') return 'WRONGPASS: wrong user name or password';
  if (code === 'NOAUTH') return 'NOAUTH: a password is required';
  if (code === 'NOPERM') return 'NOPERM: this user may not run the scripts or commands the sink needs';
  return msg;
}

function typeOf(line: string): 'image' | 'item' {
  return line.startsWith('{"type":"image"') ? 'image' : 'item';
}
