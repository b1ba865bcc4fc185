import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { OutputsError, errorMessage } from '../errors';
import { noopLogger, type Logger } from '../log';

export interface OutboxEntry {
  /** Stable across retries and restarts (the webhook sends it as the delivery id). */
  id: string;
  /** The exact bytes to deliver: the record's line as printed. */
  body: string;
  /** The record's `record_id` (brokers deduplicate on it). */
  recordId?: string;
  type?: 'image' | 'item';
}

export interface OutboxOptions {
  log?: Logger;
  /** Rewrite the file once this many lines are dead (acked entries and acks) and they outnumber the live ones. @default 1000 */
  compactAfter?: number;
  /**
   * Without a file: how many entries may wait in memory before {@link Outbox.full} says so (the caller then waits
   * for {@link Outbox.room}). With a file the disk holds them and there is no bound. @default Infinity
   */
  memoryLimit?: number;
}

type Line = OutboxEntry | { ack: string };

/**
 * The queue of undelivered records of one sink, in order. With a file it is durable: append-only JSON lines, an
 * entry `{"id","body",…}` per record and `{"ack":id}` once it is delivered or dropped, compacted by an atomic rewrite
 * (temp + fsync + rename). Entries are written and fsynced before `append` returns, so a record handed to the sink
 * survives a crash at any later moment; acks are not fsynced, since losing one only repeats a delivery.
 * One process per file: two sinks sharing an outbox would deliver everything twice.
 */
export class Outbox {
  private readonly queue: OutboxEntry[] = [];
  private head = 0;
  private fd: number | undefined;
  /** Lines in the file that a rewrite would drop. */
  private dead = 0;
  private readonly log: Logger;
  private readonly compactAfter: number;
  private writeFailed = false;
  private closed = false;
  private readonly memoryLimit: number;
  private readonly roomWaiters: (() => void)[] = [];

  private constructor(
    readonly file: string | null,
    opts: OutboxOptions,
  ) {
    this.log = opts.log ?? noopLogger;
    this.compactAfter = Math.max(1, opts.compactAfter ?? 1000);
    this.memoryLimit = file === null ? Math.max(1, opts.memoryLimit ?? Infinity) : Infinity;
  }

  /** Opens (creating if needed) an outbox file and loads what is still undelivered; `null` keeps it in memory. */
  static open(file: string | null, opts: OutboxOptions = {}): Outbox {
    const box = new Outbox(file, opts);
    if (file === null) return box;
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new OutputsError('BAD_CONFIG', `outbox ${file}: cannot read (${code ?? errorMessage(err)})`);
    }
    box.load(text);
    try {
      mkdirSync(dirname(file), { recursive: true });
      // Always start from a clean rewrite: it drops acked entries and any torn last line, which a later append
      // would otherwise run into.
      box.rewrite();
    } catch (err) {
      box.closeFd();
      throw new OutputsError('BAD_CONFIG', `outbox ${file}: cannot write (${errorCode(err)})`, { cause: err });
    }
    return box;
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  peek(): OutboxEntry | undefined {
    return this.queue[this.head];
  }

  /** True when the memory bound (no file) is reached: append still works, but the caller should wait for {@link room}. */
  get full(): boolean {
    return this.size >= this.memoryLimit;
  }

  /** Resolves once the outbox is below its memory bound (at once when it is, or when it is closed). */
  room(): Promise<void> {
    if (!this.full || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Queues a body; with a file, it is on disk (fsynced) when this returns. After `close()` it is only written to the
   * file, for the next process to send. Never throws.
   */
  append(body: string, meta: { recordId?: string; type?: 'image' | 'item' } = {}): OutboxEntry {
    const entry: OutboxEntry = { id: randomUUID(), body, ...meta };
    const line = `${JSON.stringify(entry)}\n`;
    if (!this.closed) {
      this.queue.push(entry);
      if (this.fd !== undefined) this.write(line, true);
    } else if (this.file !== null) {
      try {
        this.fd = openSync(this.file, 'a');
        this.write(line, true);
      } catch (err) {
        this.log.error(`outbox ${this.file}: cannot append (${errorCode(err)})`);
      } finally {
        this.closeFd();
      }
    }
    return entry;
  }

  /** Removes a delivered (or dropped) entry. Never throws. */
  ack(id: string): void {
    if (this.closed) return;
    let at = this.head;
    while (at < this.queue.length && this.queue[at]?.id !== id) at += 1;
    if (at === this.queue.length) return;
    if (at === this.head) this.head += 1;
    else this.queue.splice(at, 1);
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    while (this.roomWaiters.length > 0 && !this.full) this.roomWaiters.shift()?.();
    if (this.fd === undefined) return;
    this.write(`${JSON.stringify({ ack: id })}\n`, false);
    this.dead += 2;
    if (this.dead >= this.compactAfter && this.dead > this.size) {
      try {
        this.rewrite();
      } catch (err) {
        this.log.warn(`outbox ${this.file ?? ''}: compaction failed (${errorCode(err)}); still appending`);
      }
    }
  }

  /** Closes the file; what is left in it is sent by the next sink that opens it. */
  close(): void {
    this.closed = true;
    for (const wake of this.roomWaiters.splice(0)) wake();
    if (this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
    } catch {
      /* acks only: losing them repeats deliveries, which at-least-once allows */
    }
    this.closeFd();
  }

  private load(text: string): void {
    const live = new Map<string, OutboxEntry>();
    const lines = text.split('\n');
    let bad = 0;
    let valid = 0;
    lines.forEach((raw, i) => {
      if (raw.trim() === '') return;
      const line = parseLine(raw);
      if (!line) {
        // Only the last line can be torn by a crash; say so only for damage elsewhere.
        if (i !== lines.length - 1) bad += 1;
        return;
      }
      valid += 1;
      if ('ack' in line) live.delete(line.ack);
      else live.set(line.id, line);
    });
    if (bad > 0 && valid === 0) {
      throw new OutputsError('BAD_CONFIG', `outbox ${this.file ?? ''}: not an outbox (no valid line)`);
    }
    if (bad > 0) this.log.warn(`outbox ${this.file ?? ''}: skipped ${bad} unreadable line(s)`);
    this.queue.push(...live.values());
  }

  /** Writes the live entries to a temporary file, fsyncs it and renames it over the outbox. */
  private rewrite(): void {
    const file = this.file as string;
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      let chunk = '';
      for (let i = this.head; i < this.queue.length; i++) {
        chunk += `${JSON.stringify(this.queue[i])}\n`;
        if (chunk.length > 1 << 20) {
          writeSync(fd, chunk);
          chunk = '';
        }
      }
      if (chunk) writeSync(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    fsyncDir(dirname(file));
    this.closeFd();
    this.fd = openSync(file, 'a');
    this.dead = 0;
  }

  private write(text: string, durable: boolean): void {
    try {
      writeSync(this.fd as number, text);
      if (durable) fsyncSync(this.fd as number);
      this.writeFailed = false;
    } catch (err) {
      // Delivery goes on from memory; only a restart would lose what could not be written.
      if (!this.writeFailed) this.log.error(`outbox ${this.file ?? ''}: write failed (${errorCode(err)})`);
      this.writeFailed = true;
    }
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      /* already gone */
    }
    this.fd = undefined;
  }
}

function parseLine(raw: string): Line | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['ack'] === 'string') return { ack: o['ack'] };
  if (typeof o['id'] !== 'string' || typeof o['body'] !== 'string') return undefined;
  const entry: OutboxEntry = { id: o['id'], body: o['body'] };
  if (typeof o['recordId'] === 'string') entry.recordId = o['recordId'];
  if (o['type'] === 'image' || o['type'] === 'item') entry.type = o['type'];
  return entry;
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some file systems cannot fsync a directory */
  }
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? errorMessage(err);
}
