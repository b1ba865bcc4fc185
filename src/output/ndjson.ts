import { closeSync, openSync, write as writeFd } from 'node:fs';
import { Writable } from 'node:stream';
import { EventEmitter } from 'eventemitter3';

export interface NdjsonWriterEvents {
  /** The reader went away (EPIPE) or the stream failed: stop producing. */
  closed: [err: Error | null];
}

/** A stream the writer can ask to reopen its file (`--output FILE` on SIGHUP). */
interface Reopenable {
  reopen(): Promise<void>;
}

/**
 * The only code that writes records to stdout: one JSON object per line. Node buffers what the pipe cannot take
 * yet; `flush()` waits until it has drained, so a shutdown loses nothing that was written.
 */
export class NdjsonWriter extends EventEmitter<NdjsonWriterEvents> {
  private broken = false;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {
    super();
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (this.broken) return;
      this.broken = true;
      this.emit('closed', err.code === 'EPIPE' ? null : err);
    });
  }

  /** Records appended to `path` instead of stdout (`watch --output FILE`); `reopen()` starts a new file there. */
  static appendingTo(path: string): NdjsonWriter {
    return new NdjsonWriter(new AppendingFile(path));
  }

  get isBroken(): boolean {
    return this.broken;
  }

  /** Writes one record; false when the pipe is full (it is still queued) or broken (it is dropped). */
  write(record: object): boolean {
    return this.writeLine(JSON.stringify(record));
  }

  /**
   * Writes one already serialised record (so other sinks can reuse the exact bytes). `done` is called once the bytes
   * left this process (the stream's write callback), with an error when they never will.
   */
  writeLine(json: string, done?: (err?: Error | null) => void): boolean {
    if (this.broken) {
      done?.(new Error('stdout is closed'));
      return false;
    }
    return this.out.write(`${json}\n`, done);
  }

  /** Bytes written and not yet taken by the reader. */
  get buffered(): number {
    return (this.out as { writableLength?: number }).writableLength ?? 0;
  }

  /** Resolves once everything written so far has been handed to the OS (or the pipe broke). */
  flush(): Promise<void> {
    if (this.broken) return Promise.resolve();
    return new Promise((resolve) => {
      this.out.write('', () => resolve());
    });
  }

  /**
   * For a file output: lines written before this call go to the file that was open, later ones to a file opened
   * anew at the same path (logrotate renamed the old one). Resolves once the new file is open; rejects, writing on
   * to the old file, when the path cannot be opened. Resolves at once for stdout.
   */
  reopen(): Promise<void> {
    const out = this.out as Partial<Reopenable>;
    return typeof out.reopen === 'function' ? out.reopen() : Promise.resolve();
  }
}

/**
 * A file opened for appending (O_APPEND: every line lands whole at the end, whoever else appends). Writes run one
 * at a time in order; a reopen takes effect after the bytes queued when it was asked for, so those go to the old
 * file and everything later to the new one.
 */
class AppendingFile extends Writable {
  private fd: number;
  /** Bytes handed to the OS so far. */
  private written = 0;
  private reopens: { at: number; resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(private readonly path: string) {
    super({ decodeStrings: true });
    this.fd = openSync(path, 'a');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (chunk.length === 0) return done();
    this.writeAll(chunk, 0, (err) => {
      if (!err) this.written += chunk.length;
      this.reopenDue();
      done(err);
    });
  }

  private writeAll(chunk: Buffer, offset: number, done: (err: Error | null) => void): void {
    writeFd(this.fd, chunk, offset, chunk.length - offset, null, (err, n) => {
      if (err) return done(err);
      if (offset + n < chunk.length) return this.writeAll(chunk, offset + n, done);
      done(null);
    });
  }

  reopen(): Promise<void> {
    return new Promise((resolve, reject) => {
      // writableLength counts what is queued, the chunk being written included.
      this.reopens.push({ at: this.written + this.writableLength, resolve, reject });
      this.reopenDue();
    });
  }

  private reopenDue(): void {
    const due = this.reopens.filter((r) => r.at <= this.written);
    if (due.length === 0) return;
    this.reopens = this.reopens.filter((r) => r.at > this.written);
    let fd: number;
    try {
      fd = openSync(this.path, 'a');
    } catch (err) {
      for (const r of due) r.reject(err as Error);
      return;
    }
    closeSync(this.fd);
    this.fd = fd;
    for (const r of due) r.resolve();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.closeFd();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.closeFd();
    done(err);
  }

  private closeFd(): void {
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.fd = -1;
  }
}
