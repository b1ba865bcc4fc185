import type { NdjsonWriter } from '../output/ndjson';
import type { RecordSink, SinkRecord, SinkStats } from './sink';

/**
 * Standard output as a sink: a record is accepted once the stream's write callback fired, i.e. its bytes are in the
 * pipe or the file, not in this process's buffer. A reader that stalls keeps records unaccepted, so the cursor does
 * not move over them: after a kill, a restart reports exactly what never left.
 */
export class StdoutSink implements RecordSink {
  readonly name = 'stdout';
  private delivered = 0;
  private pending = 0;
  private failed = 0;

  constructor(private readonly writer: NdjsonWriter) {}

  open(): Promise<void> {
    return Promise.resolve();
  }

  accept(rec: SinkRecord): Promise<void> {
    this.pending += 1;
    return new Promise((resolve, reject) => {
      this.writer.writeLine(rec.line, (err) => {
        this.pending -= 1;
        if (err) {
          this.failed += 1;
          reject(err);
        } else {
          this.delivered += 1;
          resolve();
        }
      });
    });
  }

  async flush(): Promise<boolean> {
    await this.writer.flush();
    return this.pending === 0;
  }

  close(): Promise<void> {
    return this.writer.flush();
  }

  stats(): SinkStats {
    return { name: this.name, delivered: this.delivered, pending: this.pending, failed: this.failed };
  }
}
