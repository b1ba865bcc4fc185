import type { Config } from '../config';
import { OutputsError } from '../errors';
import type { Logger } from '../log';
import { ImageDownloader } from '../output/download';
import { NdjsonWriter } from '../output/ndjson';
import { readJsonInput } from '../run/input';
import { runWorkflow } from '../run/runWorkflow';
import { createServerContext } from '../serverContext';
import { onceSignalled } from './common';
import { ProgressReporter } from './progress';

export interface RunFlags {
  graph?: string;
  batch?: string;
  workflow?: string;
  board?: string;
  tempBoard?: boolean;
  runs?: number;
  timeout?: number;
  download?: string;
  quiet?: boolean;
}

/** `run`: enqueue, wait, print the records; exit 0 when every item completed, 1 otherwise. */
export async function runRun(cfg: Readonly<Config>, flags: RunFlags, log: Logger, writer = new NdjsonWriter()): Promise<number> {
  const inputs = (['graph', 'batch', 'workflow'] as const).filter((k) => flags[k] !== undefined);
  if (inputs.length !== 1) throw new OutputsError('BAD_USAGE', 'run: give exactly one of --graph, --batch or --workflow');
  const kind = inputs[0]!;
  const input = readJsonInput(flags[kind]!, `--${kind}`);
  const url = cfg.urls[0] ?? '';
  const progress = flags.quiet ? null : new ProgressReporter();
  const abort = new AbortController();
  const signals = onceSignalled();
  void signals.promise.then(() => abort.abort());
  const downloads = flags.download
    ? new ImageDownloader({ dir: flags.download, http: createServerContext({ url, token: cfg.token, log }).http, log })
    : null;
  try {
    const result = await runWorkflow({
      url,
      queueId: cfg.queue,
      token: cfg.token,
      [kind]: input,
      ...(flags.board ? { board: flags.board } : {}),
      tempBoard: flags.tempBoard === true,
      ...(flags.runs ? { runs: flags.runs } : {}),
      ...(flags.timeout ? { timeoutMs: flags.timeout * 1000 } : {}),
      signal: abort.signal,
      includeIntermediate: cfg.includeIntermediate,
      ...(downloads ? { saveImage: (rec) => downloads.download(rec) } : {}),
      onRecord: (rec) => {
        progress?.clear();
        writer.write(rec);
      },
      ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
      logger: log,
    });
    progress?.clear();
    const ok = !result.canceled && result.items.every((i) => i.status === 'completed');
    return ok ? 0 : 1;
  } finally {
    signals.dispose();
    await downloads?.close();
    await writer.flush();
  }
}
