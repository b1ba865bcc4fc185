import { firstValueFrom, filter, scan } from 'rxjs';
import { loadConfig } from '../config';
import { createWinstonLogger, LOG_LEVELS, type LogLevel } from '../log';
import { NdjsonWriter } from '../output/ndjson';
import { StdoutSink } from '../sinks/stdout';
import { InvokeApi } from '../invoke/api';
import { InvokeHttp } from '../invoke/http';
import { serverEndpoints } from '../invoke/url';
import { sampleGraph, startSimulator } from '../simulator';
import { watchOutputs } from '../watch/watcher';
import { onceSignalled } from './common';
import { failing, iterateThree, saveToBoard } from '../demo/sampleWork';

/**
 * Starts the simulator, watches it, submits the sample work, prints the records, and exits once every sample
 * item is reported (or keeps watching with --keep).
 */
export async function runDemo(flags: { logLevel: string; keep?: boolean }): Promise<number> {
  const level = (LOG_LEVELS as readonly string[]).includes(flags.logLevel) ? (flags.logLevel as LogLevel) : 'info';
  const log = createWinstonLogger({ level });
  const sim = await startSimulator({ nodeDelayMs: 40 });
  log.info(`simulator listening on ${sim.url}`);
  const cfg = loadConfig({ flags: { url: [sim.url] } });
  const writer = new NdjsonWriter();
  const watcher = watchOutputs({ url: cfg.urls, logger: log, drainTimeoutMs: cfg.drainTimeout, sinks: [new StdoutSink(writer)] });
  // Subscribe before enqueueing: events of a fast run would otherwise be missed.
  const connected = new Promise<void>((resolve) => watcher.once('connected', () => resolve()));
  const signals = onceSignalled();
  const http = new InvokeHttp({ endpoints: serverEndpoints(sim.url) });
  try {
    await connected;
    const api = new InvokeApi(http);
    const board = await api.createBoard('demo outputs');
    const submissions = [
      { graph: sampleGraph({ boardId: board.board_id }), runs: 1 },
      { graph: saveToBoard(board.board_id), runs: 2 },
      { graph: iterateThree(), runs: 1 },
      { graph: failing(), runs: 1 },
    ];
    let expected = 0;
    for (const s of submissions) {
      const r = await api.enqueueBatch('default', { batch: { graph: s.graph, runs: s.runs, origin: 'invokeai-outputs-demo' } });
      expected += r.enqueued;
    }
    log.info(`submitted ${expected} queue items; records follow on stdout`);
    const allReported = firstValueFrom(
      watcher.items$.pipe(
        scan((n) => n + 1, 0),
        filter((n) => n >= expected),
      ),
    );
    await Promise.race([flags.keep ? new Promise(() => undefined) : allReported, signals.promise]);
  } finally {
    signals.dispose();
    await watcher.close();
    await http.close();
    await sim.close();
    await writer.flush();
  }
  return 0;
}
