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
  workflowId?: string;
  /** `--set TARGET=VALUE`, in the order given. */
  set?: string[];
  /** `--image TARGET=PATH`, in the order given. */
  image?: string[];
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
  const inputs = (['graph', 'batch', 'workflow', 'workflowId'] as const).filter((k) => flags[k] !== undefined);
  if (inputs.length !== 1) throw new OutputsError('BAD_USAGE', 'run: give exactly one of --graph, --batch, --workflow or --workflow-id');
  const kind = inputs[0]!;
  if (flags.runs !== undefined && flags.runs < 1) throw new OutputsError('BAD_USAGE', '--runs: must be at least 1');
  const set = assignments(flags.set, '--set', 'VALUE', parseValue);
  const images = assignments(flags.image, '--image', 'PATH', (p) => p);
  const given = flags[kind]!;
  const input =
    kind === 'workflowId'
      ? { workflowId: given, source: `--workflow-id ${given}` }
      : { [kind]: readJsonInput(given, `--${kind}`), source: inputLabel(`--${kind}`, given) };
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
      ...input,
      set,
      images,
      inputNames: { set: '--set', images: '--image' },
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

/**
 * `TARGET=VALUE` flags as an object, later ones winning (fromEntries: a target such as `__proto__.x` stays an
 * ordinary key). The first `=` ends the target: values (prompts, paths) may hold more.
 */
function assignments<T>(raw: readonly string[] | undefined, flag: string, what: string, value: (text: string) => T): Record<string, T> {
  return Object.fromEntries(
    (raw ?? []).map((arg) => {
      const eq = arg.indexOf('=');
      if (eq <= 0) throw new OutputsError('BAD_USAGE', `${flag}: expected TARGET=${what}, got ${JSON.stringify(arg)}`);
      return [arg.slice(0, eq), value(arg.slice(eq + 1))];
    }),
  );
}

/** CONTRACT.md: a value is JSON when it parses as JSON, else the text itself. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
