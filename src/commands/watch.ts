import type { Config } from '../config';
import type { Logger } from '../log';
import { NdjsonWriter } from '../output/ndjson';
import { SinkSet } from '../sinks/fanout';
import { sinksFor } from '../sinks/fromUrl';
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
  // Sinks first: a broker that refuses the credentials ends the daemon (exit 2) before any server is contacted.
  const sinks = new SinkSet(sinksFor(cfg, log), log);
  await sinks.open();
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
  // Printed, then handed to every sink (the webhook, --sink brokers) with the same bytes, and only then does the
  // cursor move (the watcher saves it after this). With --state a sink's accept is on disk when it returns, so
  // not awaiting it loses nothing; without, the sink keeps order itself while its memory bound holds accepts back.
  const sub = watcher.records$.subscribe((rec) => {
    const line = JSON.stringify(rec);
    writer.writeLine(line);
    if (sinks.sinks.length > 0) void sinks.accept({ recordId: rec.record_id, type: rec.type, line });
  });
  const signals = onceSignalled();
  const pipeClosed = new Promise<string>((resolve) => writer.once('closed', (err) => resolve(err ? `stdout failed: ${err.message}` : 'stdout closed')));
  const why = await Promise.race([signals.promise, pipeClosed, ...(until ? [until.then(() => 'done')] : [])]);
  log.info(`stopping (${String(why)})`);
  await watcher.close();
  sub.unsubscribe();
  signals.dispose();
  await sinks.drain(cfg.drainTimeout);
  await writer.flush();
  return 0;
}
