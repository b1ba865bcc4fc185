import type { Config } from '../config';
import type { Logger } from '../log';
import { NdjsonWriter } from '../output/ndjson';
import { SinkSet } from '../sinks/fanout';
import { sinksFor } from '../sinks/fromUrl';
import { liveSourceOf, serveHttp } from '../sinks/http';
import { StdoutSink } from '../sinks/stdout';
import { watchOutputs, type WatchOptions } from '../watch/watcher';
import { onceSignalled } from './common';

export interface WatchRunOptions {
  cfg: Readonly<Config>;
  log: Logger;
  writer?: NdjsonWriter;
  /** Resolves when the watch should end (besides signals and a closed stdout). */
  until?: Promise<unknown>;
  extra?: Partial<WatchOptions>;
}

/**
 * The daemon: delivers records (to stdout, or appended to `--output FILE`) until SIGINT/SIGTERM or until the output
 * closes, then drains and returns 0. With `--output`, SIGHUP reopens the file (after logrotate moved it).
 */
export async function runWatch({ cfg, log, writer = outputFor(cfg), until, extra }: WatchRunOptions): Promise<number> {
  // Sinks first: a broker that refuses the credentials ends the daemon (exit 2) before any server is contacted.
  const sinks = new SinkSet(sinksFor(cfg, log), log);
  await sinks.open();
  const stdout = new StdoutSink(writer);
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
    // A record counts as delivered once stdout wrote it and every sink holds it (on disk with --state): only
    // then may the cursor move over it.
    sinks: [stdout, ...sinks.sinks],
    ...extra,
  });
  const http = cfg.http
    ? await serveHttp({ address: cfg.http, token: cfg.httpToken, source: liveSourceOf(watcher, { sinks: () => [stdout.stats(), ...sinks.stats()] }), log }).catch(async (err: unknown) => {
        await Promise.all([watcher.close(), sinks.drain(0)]);
        throw err;
      })
    : null;
  const signals = onceSignalled();
  const stopReopening = cfg.output ? reopenOnHangup(writer, cfg.output, log) : () => undefined;
  const pipeClosed = new Promise<string>((resolve) => writer.once('closed', (err) => resolve(err ? `${cfg.output ?? 'stdout'} failed: ${err.message}` : 'stdout closed')));
  const why = await Promise.race([signals.promise, pipeClosed, ...(until ? [until.then(() => 'done')] : [])]);
  log.info(`stopping (${String(why)})`);
  // --drain-timeout bounds the whole shutdown: the watcher's drain, the sinks', stdout's.
  const deadline = Date.now() + cfg.drainTimeout;
  const left = (): number => Math.max(0, deadline - Date.now());
  stopReopening();
  await watcher.close();
  await http?.close();
  signals.dispose();
  await sinks.drain(left());
  // A reader that stopped reading must not keep the daemon from exiting: what it never took is not delivered,
  // so the cursor did not move over it and a restart with --state reports it.
  const flushed = await Promise.race([writer.flush().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), left()).unref())]);
  if (!flushed) log.warn(`stdout: ${writer.buffered} bytes the reader never took; exiting anyway (a restart with --state reports what was not delivered)`);
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
