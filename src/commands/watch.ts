import type { Config } from '../config';
import type { Logger } from '../log';
import { NdjsonWriter } from '../output/ndjson';
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
  const watcher = watchOutputs({
    url: cfg.urls,
    queueId: cfg.queue,
    token: cfg.token,
    includeIntermediate: cfg.includeIntermediate,
    state: cfg.state,
    drainTimeoutMs: cfg.drainTimeout,
    logger: log,
    ...extra,
  });
  const sub = watcher.records$.subscribe((rec) => writer.write(rec));
  const signals = onceSignalled();
  const pipeClosed = new Promise<string>((resolve) => writer.once('closed', (err) => resolve(err ? `stdout failed: ${err.message}` : 'stdout closed')));
  const why = await Promise.race([signals.promise, pipeClosed, ...(until ? [until.then(() => 'done')] : [])]);
  log.info(`stopping (${String(why)})`);
  await watcher.close();
  sub.unsubscribe();
  signals.dispose();
  await writer.flush();
  return 0;
}
