import { EventEmitter } from 'eventemitter3';

export interface NdjsonWriterEvents {
  /** The reader went away (EPIPE) or the stream failed: stop producing. */
  closed: [err: Error | null];
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
}
