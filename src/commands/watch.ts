import type { Config } from '../config';
import type { Logger } from '../log';
import { NdjsonWriter } from '../output/ndjson';
import { WebhookSink } from '../sinks/webhook';
import { watchOutputs, type WatchOptions } from '../watcher';
import { onceSignalled } from './common';

export interface WatchRunOptions {
  cfg: Readonly<Config>;
  log: Logger;
  writer?: NdjsonWriter;
  /** Resolves when the watch should end (besides signals and a closed stdout). */
  until?: Promise<unknown>;
  extra?: Partial<WatchOptions>;
}

/** The daemon: prints records until SIGINT/SIGTERM or until stdout closes, then drains and returns 0. */
export async function runWatch({ cfg, log, writer = new NdjsonWriter(), until, extra }: WatchRunOptions): Promise<number> {
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
    ...extra,
  });
  // Printed, then queued for the webhook, and only then does the cursor move (the watcher saves it after this).
  const sub = watcher.records$.subscribe((rec) => {
    const line = JSON.stringify(rec);
    writer.writeLine(line);
    webhook?.send(rec, line);
  });
  const signals = onceSignalled();
  const pipeClosed = new Promise<string>((resolve) => writer.once('closed', (err) => resolve(err ? `stdout failed: ${err.message}` : 'stdout closed')));
  const why = await Promise.race([signals.promise, pipeClosed, ...(until ? [until.then(() => 'done')] : [])]);
  log.info(`stopping (${String(why)})`);
  await watcher.close();
  sub.unsubscribe();
  signals.dispose();
  if (webhook) {
    if (!(await webhook.flush(cfg.drainTimeout))) log.warn(`webhook: ${webhook.pending} post(s) not delivered before the drain timeout`);
    await webhook.close();
  }
  await writer.flush();
  return 0;
}
