import type { Config } from '../config';
import type { Logger } from '../log';
import { NdjsonWriter } from '../output/ndjson';
import { WebhookSink } from '../output/webhook';
import type { OutputRecord } from '../records';
import type { RecordSink } from '../sinks/sink';
import { StdoutSink } from '../sinks/stdout';
import { watchOutputs, type WatchOptions } from '../watch/watcher';
import { liveSourceOf, serveHttp } from '../sinks/http';
import { onceSignalled } from './common';

export interface WatchRunOptions {
  cfg: Readonly<Config>;
  log: Logger;
  writer?: NdjsonWriter;
  /** Resolves when the watch should end (besides signals and a closed stdout). */
  until?: Promise<unknown>;
  extra?: Partial<WatchOptions>;
}

/** The webhook as a sink: with an outbox file, a post is on disk (fsynced) when `send` returns. */
function webhookSink(w: WebhookSink): RecordSink {
  return {
    name: 'webhook',
    open: () => Promise.resolve(),
    accept: (r) => {
      w.send({ type: r.type } as OutputRecord, r.line);
      return Promise.resolve();
    },
    flush: (ms) => w.flush(ms),
    close: () => w.close(),
    stats: () => ({ name: 'webhook', delivered: w.delivered, pending: w.pending, failed: w.failed }),
  };
}

/**
 * The daemon: delivers records (to stdout, or appended to `--output FILE`) until SIGINT/SIGTERM or until the output
 * closes, then drains and returns 0. With `--output`, SIGHUP reopens the file (after logrotate moved it).
 */
export async function runWatch({ cfg, log, writer = outputFor(cfg), until, extra }: WatchRunOptions): Promise<number> {
  // With --state, undelivered posts are kept beside the cursor and survive a restart.
  const webhook = cfg.webhook
    ? new WebhookSink({
        url: cfg.webhook,
        ...(cfg.webhookSecret ? { secret: cfg.webhookSecret } : {}),
        images: cfg.webhookImages,
        outboxFile: cfg.state ? `${cfg.state}.webhook-outbox` : null,
        log: log.child('webhook'),
      })
    : null;
  const sinks: RecordSink[] = [new StdoutSink(writer), ...(webhook ? [webhookSink(webhook)] : [])];
  const watcher = watchOutputs({
    url: cfg.urls,
    servers: cfg.servers.map((s) => ({
      url: s.url,
      ...(s.queue ? { queueId: s.queue } : {}),
      ...(s.token ? { token: s.token } : {}),
      ...(s.username ? { username: s.username } : {}),
      ...(s.password ? { password: s.password } : {}),
      ...(s.state ? { state: s.state } : {}),
    })),
    queueId: cfg.queue,
    token: cfg.token,
    username: cfg.username,
    password: cfg.password,
    includeIntermediate: cfg.includeIntermediate,
    state: cfg.state,
    drainTimeoutMs: cfg.drainTimeout,
    logger: log,
    download: cfg.download,
    sinks,
    ...extra,
  });
  const http = cfg.http
    ? await serveHttp({ address: cfg.http, token: cfg.httpToken, source: liveSourceOf(watcher, { sinks: () => sinks.map((s) => s.stats()) }), log }).catch(async (err: unknown) => {
        await Promise.all([watcher.close(), webhook?.close()]);
        throw err;
      })
    : null;
  const signals = onceSignalled();
  const stopReopening = cfg.output ? reopenOnHangup(writer, cfg.output, log) : () => undefined;
  const pipeClosed = new Promise<string>((resolve) => writer.once('closed', (err) => resolve(err ? `${cfg.output ?? 'stdout'} failed: ${err.message}` : 'stdout closed')));
  const why = await Promise.race([signals.promise, pipeClosed, ...(until ? [until.then(() => 'done')] : [])]);
  log.info(`stopping (${String(why)})`);
  stopReopening();
  await watcher.close();
  await http?.close();
  signals.dispose();
  if (webhook) {
    if (!(await webhook.flush(cfg.drainTimeout))) log.warn(`webhook: ${webhook.pending} post(s) not delivered before the drain timeout`);
    await webhook.close();
  }
  await writer.flush();
  return 0;
}

function outputFor(cfg: Readonly<Config>): NdjsonWriter {
  return cfg.output ? NdjsonWriter.appendingTo(cfg.output) : new NdjsonWriter();
}

/** SIGHUP: later records go to a file opened anew at `path`; a path that cannot be opened keeps the old file. */
function reopenOnHangup(writer: NdjsonWriter, path: string, log: Logger): () => void {
  const onHup = (): void => {
    writer.reopen().then(
      () => log.info(`SIGHUP: reopened ${path}`),
      (err: unknown) => log.warn(`SIGHUP: cannot reopen ${path} (${(err as Error).message}); still writing to the old file`),
    );
  };
  process.on('SIGHUP', onHup);
  return () => process.off('SIGHUP', onHup);
}
