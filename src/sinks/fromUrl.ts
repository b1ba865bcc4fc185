import type { Config } from '../config';
import { OutputsError } from '../errors';
import { noopLogger, type Logger } from '../log';
import { NatsPublisher } from './nats';
import { QueuedSink } from './queued';
import { RedisPublisher } from './redis';
import type { RecordSink } from './sink';
import { parseSinkUrl, sinkOutboxFile } from './url';
import { WebhookSink } from './webhook';

export { parseSinkUrl, sinkSecrets, sinkOutboxFile, type SinkTarget } from './url';

export interface SinkFromUrlOptions {
  /** `--state FILE`: the sink's outbox is `FILE.sink-<hash of the URL without credentials>`. @default null (memory) */
  state?: string | null;
  log?: Logger;
  /** Without `state`: records held in memory before `accept` waits. @default 10000 */
  memoryLimit?: number;
  /** Between failed attempts, ms. @default { min: 200, max: 5000 } */
  backoff?: { min?: number; max?: number };
  /** Connecting, each broker call and each ack, ms. @default 5000 */
  timeoutMs?: number;
}

/** A sink for `--sink URL` (`nats://…/SUBJECT` or `redis://…/STREAM`); a bad URL is `BAD_USAGE` naming `--sink`. */
export function sinkFromUrl(url: string, opts: SinkFromUrlOptions = {}): QueuedSink {
  const target = parseSinkUrl(url);
  const log = (opts.log ?? noopLogger).child(`sink:${target.kind}`);
  const t = opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs, ackTimeoutMs: opts.timeoutMs } : {};
  const publisher = target.kind === 'nats' ? new NatsPublisher(target, { log, ...t }) : new RedisPublisher(target, t);
  return new QueuedSink({
    publisher,
    outboxFile: opts.state ? sinkOutboxFile(opts.state, target) : null,
    log,
    ...(opts.memoryLimit !== undefined ? { memoryLimit: opts.memoryLimit } : {}),
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
  });
}

/** Every sink `watch` delivers to besides stdout: the webhook (if any), then each `--sink`, in the order given. */
export function sinksFor(cfg: Readonly<Config>, log: Logger): RecordSink[] {
  const seen = new Set<string>();
  for (const url of cfg.sinks) {
    const shown = parseSinkUrl(url).shown;
    // Two sinks on one URL would share an outbox file and store everything twice over.
    if (seen.has(shown)) throw new OutputsError('BAD_USAGE', `--sink: ${shown} is given twice`);
    seen.add(shown);
  }
  // Outboxes sit beside the cursor: `--state`, or else the first server's own `state`, so that whenever a cursor
  // moves past a record, the record is on disk for every sink.
  const state = cfg.state ?? cfg.servers.find((s) => s.state)?.state ?? null;
  const sinks: RecordSink[] = [];
  if (cfg.webhook) {
    sinks.push(
      new WebhookSink({
        url: cfg.webhook,
        ...(cfg.webhookSecret ? { secret: cfg.webhookSecret } : {}),
        images: cfg.webhookImages,
        outboxFile: state ? `${state}.webhook-outbox` : null,
        log,
      }),
    );
  }
  try {
    for (const url of cfg.sinks) sinks.push(sinkFromUrl(url, { state, log }));
  } catch (err) {
    for (const s of sinks) void s.close();
    throw err;
  }
  return sinks;
}
