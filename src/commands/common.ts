import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { loadConfig, type Config, type FlagValues } from '../config';
import { OutputsError } from '../errors';
import { createWinstonLogger, type Logger } from '../log';
import { sinkSecrets } from '../sinks/url';

export interface ServerFlags extends FlagValues {
  config?: string;
  /** `--sink` (repeatable), the config's `sinks`. */
  sink?: string[];
}

const CONFIG_FLAGS = ['url', 'queue', 'token', 'username', 'password', 'includeIntermediate', 'state', 'logLevel', 'logFile', 'drainTimeout', 'download', 'webhook', 'webhookSecret', 'webhookImages', 'output', 'http', 'httpToken'] as const;

/**
 * Flags ← env ← config file ← defaults, frozen. `singleServer` names a command that talks to one server (`run`,
 * `resolve`): several URLs or a `servers` list are then a usage error.
 */
export function configFrom(flags: ServerFlags, opts: { env?: NodeJS.ProcessEnv; singleServer?: string } = {}): Readonly<Config> {
  const picked: FlagValues = flags.sink ? { sinks: flags.sink } : {};
  for (const k of CONFIG_FLAGS) if (flags[k] !== undefined) (picked as Record<string, unknown>)[k] = flags[k];
  return loadConfig({
    flags: picked,
    env: opts.env ?? process.env,
    configFile: flags.config,
    ...(opts.singleServer ? { singleServer: opts.singleServer } : {}),
  });
}

/** errno codes people meet here, in words. */
function why(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'a parent is not a directory',
    EROFS: 'read-only file system',
  };
  return code ? (words[code] ?? code) : String(err);
}

/** Fails at start, naming the flag and the path, when `path` cannot be opened for appending. */
export function checkAppendable(flag: string, path: string): void {
  try {
    closeSync(openSync(path, 'a'));
  } catch (err) {
    throw new OutputsError('BAD_USAGE', `${flag}: cannot open ${path} (${why(err)})`);
  }
}

/** `--download DIR`: a writable directory, made when it does not exist yet. */
export function checkDownloadDir(dir: string): void {
  const flag = '--download';
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new OutputsError('BAD_USAGE', `${flag}: cannot use ${dir} (${why(err)})`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (mkErr) {
      throw new OutputsError('BAD_USAGE', `${flag}: cannot create ${dir} (${why(mkErr)})`);
    }
    isDir = true;
  }
  if (!isDir) throw new OutputsError('BAD_USAGE', `${flag}: ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new OutputsError('BAD_USAGE', `${flag}: ${dir} is not writable (${why(err)})`);
  }
}

/** The paths a command will write to, checked before it connects anywhere. */
export function checkPaths(cfg: Readonly<Config>): void {
  if (cfg.logFile) checkAppendable('--log-file', cfg.logFile);
  if (cfg.download) checkDownloadDir(cfg.download);
  if (cfg.output) checkAppendable('--output', cfg.output);
}

/** `quiet`: warnings and errors only, whatever the log level says (`error` stays `error`). */
export function loggerFor(cfg: Readonly<Config>, opts: { quiet?: boolean } = {}): Logger {
  const level = opts.quiet && cfg.logLevel !== 'error' ? 'warn' : cfg.logLevel;
  const fromSinks = sinkSecrets(cfg.sinks);
  return createWinstonLogger({
    level,
    ...(cfg.logFile ? { file: cfg.logFile } : {}),
    secrets: () =>
      [cfg.token, cfg.password, cfg.webhookSecret, cfg.httpToken, ...cfg.servers.flatMap((s) => [s.token, s.password]), ...fromSinks].filter(
        (s): s is string => typeof s === 'string',
      ),
  });
}

/** The shell's convention for a process ended by `sig`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (osConstants.signals[sig] ?? 0);
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once (130 or 143). */
export function onceSignalled(): { promise: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = (): void => undefined;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    let count = 0;
    const h = (sig: NodeJS.Signals): void => {
      count += 1;
      if (count > 1) process.exit(signalExitCode(sig));
      resolve(sig);
    };
    process.on('SIGINT', h);
    process.on('SIGTERM', h);
    dispose = () => {
      process.off('SIGINT', h);
      process.off('SIGTERM', h);
    };
  });
  return { promise, dispose };
}
