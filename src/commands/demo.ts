import { firstValueFrom, filter, scan } from 'rxjs';
import { loadConfig } from '../config';
import { createWinstonLogger, LOG_LEVELS, type LogLevel } from '../log';
import { NdjsonWriter } from '../output/ndjson';
import { StdoutSink } from '../sinks/stdout';
import { InvokeApi } from '../invoke/api';
import { InvokeHttp } from '../invoke/http';
import { serverEndpoints } from '../invoke/url';
import { sampleGraph, startSimulator } from '../simulator';
import { liveSourceOf, serveHttp, type LiveServer } from '../sinks/http';
import { watchOutputs } from '../watch/watcher';
import { onceSignalled } from './common';
import { failing, iterateThree, saveToBoard } from '../demo/sampleWork';

export interface DemoFlags {
  logLevel: string;
  keep?: boolean;
  /** Serve the live page too, and keep running until SIGINT. */
  http?: string;
  httpToken?: string;
}

/**
 * Starts the simulator, watches it, submits the sample work, prints the records, and exits once every sample
 * item is reported (or keeps watching with --keep). With --http the work arrives over a few seconds, slowly
 * enough to watch on the page, and the demo runs until SIGINT.
 */
export async function runDemo(flags: DemoFlags): Promise<number> {
  const level = (LOG_LEVELS as readonly string[]).includes(flags.logLevel) ? (flags.logLevel as LogLevel) : 'info';
  // Checked before anything starts: a bad --http exits 2 with nothing left running.
  const env = process.env['INVOKEAI_OUTPUTS_HTTP_TOKEN'];
  const httpCfg = loadConfig({
    flags: { ...(flags.http ? { http: flags.http } : {}), ...(flags.httpToken ? { httpToken: flags.httpToken } : {}) },
    env: env ? { INVOKEAI_OUTPUTS_HTTP_TOKEN: env } : {},
  });
  const log = createWinstonLogger({ level, secrets: () => (httpCfg.httpToken ? [httpCfg.httpToken] : []) });
  const slow = httpCfg.http !== null;
  const sim = await startSimulator({ nodeDelayMs: slow ? 150 : 40 });
  log.info(`simulator listening on ${sim.url}`);
  const cfg = loadConfig({ flags: { url: [sim.url] } });
  const writer = new NdjsonWriter();
  const watcher = watchOutputs({ url: cfg.urls, logger: log, drainTimeoutMs: cfg.drainTimeout, sinks: [new StdoutSink(writer)] });
  // Subscribe before enqueueing: events of a fast run would otherwise be missed.
  const connected = new Promise<void>((resolve) => watcher.once('connected', () => resolve()));
  const signals = onceSignalled();
  const http = new InvokeHttp({ endpoints: serverEndpoints(sim.url) });
  let live: LiveServer | null = null;
  try {
    if (httpCfg.http) {
      live = await serveHttp({ address: httpCfg.http, token: httpCfg.httpToken, source: liveSourceOf(watcher), log });
      log.info(`open ${live.url}/${httpCfg.httpToken ? '?token=<your token>' : ''} in a browser to watch the runs arrive; Ctrl-C stops the demo`);
    }
    const work = (async () => {
      await connected;
      // Counted from before the first submission: a fast item must not be missed.
      const reported = watcher.items$.pipe(scan((n) => n + 1, 0));
      let seen = 0;
      const counting = reported.subscribe((n) => (seen = n));
      const expected = await submitSamples(new InvokeApi(http), slow ? 1200 : 0);
      log.info(`submitted ${expected} queue items; records follow on stdout`);
      if (flags.keep || slow) {
        counting.unsubscribe();
        return new Promise<never>(() => undefined); // until a signal
      }
      if (seen < expected) await firstValueFrom(reported.pipe(filter((n) => n >= expected)));
      counting.unsubscribe();
    })();
    await Promise.race([work, signals.promise]);
    work.catch(() => undefined);
  } finally {
    signals.dispose();
    await watcher.close();
    await live?.close();
    await http.close();
    await sim.close();
    await writer.flush();
  }
  return 0;
}

/** Enqueues the sample work, `gapMs` apart; resolves to the number of queue items enqueued. */
async function submitSamples(api: InvokeApi, gapMs: number): Promise<number> {
  const board = await api.createBoard('demo outputs');
  const submissions = [
    { graph: sampleGraph({ boardId: board.board_id }), runs: 1 },
    { graph: saveToBoard(board.board_id), runs: 2 },
    { graph: iterateThree(), runs: 1 },
    { graph: failing(), runs: 1 },
  ];
  let expected = 0;
  for (const [i, s] of submissions.entries()) {
    if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    const r = await api.enqueueBatch('default', { batch: { graph: s.graph, runs: s.runs, origin: 'invokeai-outputs-demo' } });
    expected += r.enqueued;
  }
  return expected;
}
