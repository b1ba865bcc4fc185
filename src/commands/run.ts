import type { Config } from '../config';
import { OutputsError } from '../errors';
import type { Logger } from '../log';
import { NdjsonWriter } from '../output/ndjson';
import { inputLabel, readJsonInput } from '../run/input';
import { runWorkflow } from '../run/runWorkflow';
import { onceSignalled, signalExitCode } from './common';
import { ProgressReporter, clearingProgress } from './progress';

export interface RunFlags {
  graph?: string;
  batch?: string;
  workflow?: string;
  board?: string;
  tempBoard?: boolean;
  runs?: number;
  /** ms (`--timeout` takes seconds; the parser converts) */
  timeout?: number;
  /** Warnings and errors only: no progress either. */
  quiet?: boolean;
}

/**
 * `run`: enqueue, wait, print the records; exit 0 when every item completed, 1 otherwise. SIGINT/SIGTERM cancel the
 * run's items on the server (they are then reported `canceled`) and, once their records are out, exit 130/143 (the
 * shell's convention); a second signal exits at once.
 */
export async function runRun(cfg: Readonly<Config>, flags: RunFlags, log: Logger, writer = new NdjsonWriter()): Promise<number> {
  const inputs = (['graph', 'batch', 'workflow'] as const).filter((k) => flags[k] !== undefined);
  if (inputs.length !== 1) throw new OutputsError('BAD_USAGE', 'run: give exactly one of --graph, --batch or --workflow');
  const kind = inputs[0]!;
  if (flags.runs !== undefined && flags.runs < 1) throw new OutputsError('BAD_USAGE', '--runs: must be at least 1');
  const file = flags[kind]!;
  const input = readJsonInput(file, `--${kind}`);
  const url = cfg.urls[0] ?? '';
  const progress = flags.quiet ? null : new ProgressReporter({ log });
  const abort = new AbortController();
  const signals = onceSignalled();
  let signalled: NodeJS.Signals | null = null;
  void signals.promise.then((sig) => {
    signalled = sig;
    abort.abort();
  });
  try {
    const result = await runWorkflow({
      url,
      queueId: cfg.queue,
      token: cfg.token,
      username: cfg.username,
      password: cfg.password,
      [kind]: input,
      source: inputLabel(`--${kind}`, file),
      ...(flags.board !== undefined ? { board: flags.board } : {}),
      tempBoard: flags.tempBoard === true,
      ...(flags.runs !== undefined ? { runs: flags.runs } : {}),
      ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
      signal: abort.signal,
      includeIntermediate: cfg.includeIntermediate,
      ...(cfg.download ? { download: cfg.download } : {}),
      onRecord: (rec) => {
        progress?.clear();
        writer.write(rec);
      },
      ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
      logger: progress ? clearingProgress(log, progress) : log,
    });
    if (signalled) return signalExitCode(signalled);
    const ok = !result.canceled && result.items.every((i) => i.status === 'completed');
    return ok ? 0 : 1;
  } finally {
    progress?.clear();
    signals.dispose();
    await writer.flush();
  }
}
