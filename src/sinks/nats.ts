import type * as Nats from 'nats';
import { OutputsError, errorMessage } from '../errors';
import { noopLogger, type Logger } from '../log';
import type { OutboxEntry } from './outbox';
import type { Outcome, Publisher } from './queued';
import type { SinkTarget } from './url';

/** The stream made when none covers the subject (CONTRACT.md "Brokers"). */
export const NATS_STREAM = 'INVOKEAI_OUTPUTS';
/** JetStream drops a second message with the same `Nats-Msg-Id` within this window: restarts and active-active peers. */
export const DUPLICATE_WINDOW_MS = 24 * 3600 * 1000;

export interface NatsPublisherOptions {
  log?: Logger;
  /** Connecting, and each JetStream API call, ms. @default 5000 */
  timeoutMs?: number;
  /** Waiting for one PubAck, ms; after it the record is published again (the stream drops the copy). @default 5000 */
  ackTimeoutMs?: number;
}

// Loaded on first use: commands without a NATS sink do not pay for the client at start-up.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const client = (): typeof Nats => require('nats') as typeof Nats;

/** `--sink nats://…/SUBJECT`: JetStream publish with `Nats-Msg-Id: <record_id>`, one PubAck per record. */
export class NatsPublisher implements Publisher {
  readonly name: string;
  readonly secrets: readonly string[];
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly ackTimeoutMs: number;
  private nc: Nats.NatsConnection | undefined;
  private js: Nats.JetStreamClient | undefined;
  private connecting: Promise<Nats.JetStreamClient> | undefined;
  private windowWarned = false;
  private closed = false;
  /** False between the client's `disconnect` and `reconnect`: publishing then would only wait for a timeout. */
  private linked = false;
  private reachable: (() => void) | undefined;

  constructor(
    private readonly target: SinkTarget,
    opts: NatsPublisherOptions = {},
  ) {
    this.name = target.shown;
    this.secrets = target.secrets;
    this.log = opts.log ?? noopLogger;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 5000;
  }

  async open(): Promise<string | null> {
    try {
      await this.ready();
      return null;
    } catch (err) {
      // JetStream answering 503 at start means it is not enabled there: as much a refusal as bad credentials.
      if (refused(err) || (err as Nats.NatsError).code === '503') {
        throw new OutputsError('BAD_CONFIG', this.redact(`--sink ${this.name}: ${refusal(err)}`));
      }
      return `cannot reach the NATS server (${describeError(err)})`;
    }
  }

  async publish(entry: OutboxEntry, stop: AbortSignal): Promise<Outcome> {
    if (this.nc && !this.nc.isClosed() && !this.linked) return { kind: 'retry', reason: 'disconnected from the NATS server (reconnecting)' };
    try {
      const js = await this.ready();
      const data = Buffer.from(entry.body, 'utf8');
      const ack = js.publish(this.target.path, data, { msgID: entry.recordId ?? entry.id, timeout: this.ackTimeoutMs });
      const { duplicate } = await untilAborted(ack, stop);
      return { kind: 'delivered', duplicate };
    } catch (err) {
      const code = (err as Nats.NatsError).code;
      if (code === '503') {
        // No stream takes the subject any more (deleted, or JetStream restarted without it): look again next time.
        this.js = undefined;
        return { kind: 'retry', reason: `no JetStream stream answered for ${this.target.path} (503)` };
      }
      if (code === 'MAX_PAYLOAD_EXCEEDED') return { kind: 'dropped', reason: 'the record is larger than the server\'s max_payload' };
      return { kind: 'retry', reason: describeError(err), ...(refused(err) ? { level: 'error' as const } : {}) };
    }
  }

  onReachable(wake: () => void): void {
    this.reachable = wake;
  }

  async close(): Promise<void> {
    this.closed = true;
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    await nc?.close().catch(() => undefined);
  }

  /** The JetStream client, connecting and checking the stream when there is none yet (once at a time). */
  private ready(): Promise<Nats.JetStreamClient> {
    if (this.js && this.nc && !this.nc.isClosed()) return Promise.resolve(this.js);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Nats.JetStreamClient> {
    if (this.closed) throw new Error('closing');
    if (!this.nc || this.nc.isClosed()) {
      const { username, password } = this.target;
      const auth = password !== undefined ? { user: username ?? '', pass: password } : username !== undefined ? { token: username } : {};
      // After the first connection the client reconnects by itself, forever; records wait in the outbox meanwhile.
      const nc = await client().connect({
        servers: `${this.target.host}:${this.target.port}`,
        name: 'invokeai-outputs',
        timeout: this.timeoutMs,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        ...auth,
      });
      this.nc = nc;
      this.linked = true;
      void this.follow(nc);
      if (this.closed) await nc.close();
    }
    const jsm = await this.nc.jetstreamManager({ timeout: this.timeoutMs });
    await this.ensureStream(jsm);
    this.js = this.nc.jetstream({ timeout: this.timeoutMs });
    return this.js;
  }

  /** Keeps `linked` in step with the connection (the iterator ends when the connection is closed). */
  private async follow(nc: Nats.NatsConnection): Promise<void> {
    const { Events } = client();
    try {
      for await (const s of nc.status()) {
        if (s.type === Events.Disconnect) this.linked = false;
        else if (s.type === Events.Reconnect) {
          this.linked = true;
          this.reachable?.();
        }
      }
    } catch {
      /* closed */
    }
  }

  /** A stream that covers the subject, or `INVOKEAI_OUTPUTS` made (or widened) for it. */
  private async ensureStream(jsm: Nats.JetStreamManager): Promise<void> {
    const subject = this.target.path;
    const found = await jsm.streams.find(subject).catch((err: unknown) => {
      if (/no stream matches subject/i.test(errorMessage(err))) return undefined;
      throw err;
    });
    if (found !== undefined) {
      const info = await jsm.streams.info(found);
      this.checkWindow(found, info.config.duplicate_window);
      return;
    }
    const { nanos, StorageType } = client();
    const config = { name: NATS_STREAM, subjects: [subject], storage: StorageType.File, duplicate_window: nanos(DUPLICATE_WINDOW_MS) };
    try {
      await jsm.streams.add(config);
      this.log.info(`${this.name}: created JetStream stream ${NATS_STREAM} for ${subject} (file storage, duplicate window 24 h)`);
    } catch (err) {
      // 10058: the name is taken by the stream of another subject (another sink of this farm): add ours to it.
      if ((err as Nats.NatsError).api_error?.err_code !== 10058) throw err;
      const info = await jsm.streams.info(NATS_STREAM);
      await jsm.streams.update(NATS_STREAM, { subjects: [...(info.config.subjects ?? []), subject] });
      this.log.info(`${this.name}: added ${subject} to JetStream stream ${NATS_STREAM}`);
      this.checkWindow(NATS_STREAM, info.config.duplicate_window);
    }
  }

  private checkWindow(stream: string, windowNanos: number): void {
    const ms = windowNanos / 1e6;
    if (ms >= DUPLICATE_WINDOW_MS || this.windowWarned) return;
    this.windowWarned = true;
    this.log.warn(
      `${this.name}: JetStream stream ${stream} covers ${this.target.path} with a duplicate window of ${formatWindow(ms)}; ` +
        'a record published again after that (a restart, an active-active peer, a long outage) is stored twice: set it to 24 h',
    );
  }

  private redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s.length > 0) out = out.split(s).join('***');
    return out;
  }
}

/** The server answered and said no: bad credentials, or the user may not use JetStream or the subject. */
function refused(err: unknown): boolean {
  const code = (err as Nats.NatsError).code;
  return code === 'AUTHORIZATION_VIOLATION' || code === 'PERMISSIONS_VIOLATION' || code === 'AUTHENTICATION_EXPIRED' || code === 'ACCOUNT_EXPIRED';
}

function refusal(err: unknown): string {
  const code = (err as Nats.NatsError).code;
  if (code === 'AUTHORIZATION_VIOLATION') return 'the NATS server refused the credentials (authorization violation)';
  if (code === 'PERMISSIONS_VIOLATION') return `the NATS server does not permit this user to use JetStream here (${errorMessage(err)})`;
  if (code === '503') return 'JetStream is not enabled on the NATS server (start it with -js)';
  return `the NATS server refused the connection (${describeError(err)})`;
}

function describeError(err: unknown): string {
  const code = (err as Nats.NatsError).code;
  if (code === '503') return 'JetStream is not enabled on the server (503)';
  if (code === 'TIMEOUT') return 'no PubAck in time';
  const msg = errorMessage(err);
  return code && code !== msg ? `${code}: ${msg}` : msg;
}

function formatWindow(ms: number): string {
  if (ms >= 3_600_000) return `${+(ms / 3_600_000).toFixed(2)} h`;
  if (ms >= 60_000) return `${+(ms / 60_000).toFixed(2)} min`;
  return `${+(ms / 1000).toFixed(2)} s`;
}

/** Rejects as soon as `signal` aborts, so closing never waits for a PubAck timeout. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('closing'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('closing'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
