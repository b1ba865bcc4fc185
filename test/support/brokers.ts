/*
 * Real brokers for the sink tests: Debian's `nats-server` (JetStream) and `redis-server`, each on a free loopback
 * port with its own temporary data directory, stopped by the test's teardown (never a system service). A broker can
 * be stopped and started again on the same port and data, which is how the tests make an outage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { connect, type NatsConnection } from 'nats';

interface Closer {
  add<T>(thing: T, close: (t: T) => unknown): T;
}

export interface Credentials {
  user?: string;
  password: string;
}

/** One broker process, restartable on its port and data directory. */
export abstract class Broker {
  readonly dir = mkdtempSync(join(tmpdir(), 'ioo-broker-'));
  port = 0;
  private proc: ChildProcess | undefined;
  private log = '';

  constructor(readonly creds?: Credentials) {}

  protected abstract command(): [cmd: string, args: string[]];
  protected abstract readyLine: RegExp;

  /** Starts the broker (on a new free port the first time, then on the same one) and waits until it takes clients. */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const fresh = this.port === 0;
      if (fresh) this.port = await freePort();
      try {
        await this.spawnOnce();
        return;
      } catch (err) {
        // A free port can be taken by someone else before the broker binds it: pick another (first start only).
        if (!fresh || attempt >= 3) throw err;
        this.port = 0;
      }
    }
  }

  /** Stops the process (SIGTERM, SIGKILL after 5 s; `kill` sends SIGKILL at once) and waits for its exit. */
  async stop(kill = false): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(kill ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** SIGKILL now, synchronously: for a process that is exiting (the benchmark's exit handler). */
  kill(): void {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Stops the broker and removes its data; for teardown. */
  async destroy(): Promise<void> {
    await this.stop(true);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawnOnce(): Promise<void> {
    const [cmd, args] = this.command();
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
    this.log = '';
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${cmd} not ready after 10 s:\n${this.log}`)), 10000);
      const onData = (d: Buffer): void => {
        this.log += d.toString();
        if (this.readyLine.test(this.log)) {
          clearTimeout(timer);
          this.proc = proc;
          resolve();
        }
      };
      const fail = (err: Error): void => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(err);
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.once('error', fail);
      proc.once('exit', (code) => {
        if (this.proc !== proc) fail(new Error(`${cmd} exited (${code}) before it was ready:\n${this.log}`));
      });
    });
  }
}

export class NatsBroker extends Broker {
  protected readyLine = /Server is ready/;

  protected command(): [string, string[]] {
    const auth = this.creds ? `authorization { user: ${JSON.stringify(this.creds.user ?? 'invokeai')}, password: ${JSON.stringify(this.creds.password)} }\n` : '';
    const conf = join(this.dir, 'nats.conf');
    writeFileSync(conf, `listen: "127.0.0.1:${this.port}"\njetstream { store_dir: ${JSON.stringify(join(this.dir, 'js'))} }\n${auth}`);
    return ['nats-server', ['-c', conf]];
  }

  /** `nats://[user:pass@]127.0.0.1:PORT/SUBJECT`; `creds` overrides the broker's own (null: none). */
  url(subject: string, creds: Credentials | null | undefined = this.creds): string {
    const auth = creds ? `${encodeURIComponent(creds.user ?? 'invokeai')}:${encodeURIComponent(creds.password)}@` : '';
    return `nats://${auth}127.0.0.1:${this.port}/${subject}`;
  }

  client(): Promise<NatsConnection> {
    return connect({ servers: `127.0.0.1:${this.port}`, ...(this.creds ? { user: this.creds.user ?? 'invokeai', pass: this.creds.password } : {}) });
  }

  /** Every message of a stream, oldest first: its data as text and its `Nats-Msg-Id`. */
  async messages(stream: string): Promise<{ seq: number; msgId: string | undefined; data: string }[]> {
    const nc = await this.client();
    try {
      const jsm = await nc.jetstreamManager();
      const { state } = await jsm.streams.info(stream);
      const out: { seq: number; msgId: string | undefined; data: string }[] = [];
      for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq });
        out.push({ seq: m.seq, msgId: m.header?.get('Nats-Msg-Id'), data: m.string() });
      }
      return out;
    } finally {
      await nc.close();
    }
  }
}

export class RedisBroker extends Broker {
  protected readyLine = /Ready to accept connections/;

  /**
   * `appendfsync`: `always` (the tests': what Redis acknowledged survives even a SIGKILL) or `everysec` (Redis's
   * own default with an append-only file, which the benchmark uses).
   */
  constructor(
    creds?: Credentials,
    private readonly fsync: 'always' | 'everysec' = 'always',
  ) {
    super(creds);
  }

  protected command(): [string, string[]] {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', this.fsync];
    if (this.creds) args.push('--requirepass', this.creds.password);
    return ['redis-server', args];
  }

  /** `redis://[:pass@]127.0.0.1:PORT/STREAM`; `creds` overrides the broker's own (null: none). */
  url(stream: string, creds: Credentials | null | undefined = this.creds): string {
    const auth = creds ? `${creds.user ? encodeURIComponent(creds.user) : ''}:${encodeURIComponent(creds.password)}@` : '';
    return `redis://${auth}127.0.0.1:${this.port}/${stream}`;
  }

  client(): Redis {
    return new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: false, maxRetriesPerRequest: 1, ...(this.creds ? { password: this.creds.password } : {}) });
  }

  /** Every entry of a stream, oldest first, as its fields. */
  async entries(stream: string): Promise<{ id: string; record_id: string; type: string; record: string }[]> {
    const r = this.client();
    try {
      const rows = await r.xrange(stream, '-', '+');
      return rows.map(([id, fields]) => {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
        return { id, record_id: f['record_id'] ?? '', type: f['type'] ?? '', record: f['record'] ?? '' };
      });
    } finally {
      r.disconnect();
    }
  }
}

export async function natsBroker(td: Closer, creds?: Credentials): Promise<NatsBroker> {
  const b = td.add(new NatsBroker(creds), (x) => x.destroy());
  await b.start();
  return b;
}

export async function redisBroker(td: Closer, creds?: Credentials): Promise<RedisBroker> {
  const b = td.add(new RedisBroker(creds), (x) => x.destroy());
  await b.start();
  return b;
}

/** A loopback port nothing listens on (until someone does). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
