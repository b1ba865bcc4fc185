import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** A message, or a function that builds it only when the level is enabled (keeps debug text off the hot path). */
export type LogMessage = string | (() => string);

export interface Logger {
  error(msg: LogMessage, meta?: Record<string, unknown>): void;
  warn(msg: LogMessage, meta?: Record<string, unknown>): void;
  info(msg: LogMessage, meta?: Record<string, unknown>): void;
  debug(msg: LogMessage, meta?: Record<string, unknown>): void;
  /** A logger whose lines carry `ns` (for example `invoke:socket`). */
  child(ns: string): Logger;
}

export const noopLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => noopLogger,
};

export interface WinstonLoggerOptions {
  level?: LogLevel;
  /** Also append JSON lines to this file. */
  file?: string;
  /** Strings that must never reach a log line (tokens, passwords); replaced by `***`. */
  secrets?: () => readonly string[];
  /** Where human-readable lines go; stderr unless a test passes its own stream. */
  stream?: NodeJS.WritableStream;
}

/**
 * Secrets learned while running (tokens from a login, `X-Refreshed-Token`): every logger of the process redacts
 * them like the configured ones. Process-wide on purpose: a token must not reach any log line, whichever logger
 * writes it.
 */
const learned = new Set<string>();

/** Adds a secret every logger redacts from then on. */
export function addSecret(secret: string): void {
  if (secret.length >= 4) learned.add(secret);
}

/** `text` without the secrets learned so far; for text that is cut short before it reaches a logger. */
export function redactLearned(text: string): string {
  let out = text;
  for (const s of learned) out = out.split(s).join('***');
  return out;
}

function redactor(secrets: () => readonly string[]): (text: string) => string {
  return (text) => {
    let out = text;
    for (const s of secrets()) if (s.length >= 4) out = out.split(s).join('***');
    return redactLearned(out);
  };
}

/** Winston to stderr (stdout carries NDJSON records only), optionally also to a JSON-lines file. */
export function createWinstonLogger(opts: WinstonLoggerOptions = {}): Logger {
  const redact = redactor(opts.secrets ?? (() => []));
  const scrub = winston.format((info) => {
    info.message = redact(String(info.message));
    return info;
  });
  const transports: winston.transport[] = [
    new winston.transports.Stream({
      stream: opts.stream ?? process.stderr,
      format: winston.format.combine(
        winston.format.timestamp(),
        winston.format.printf((i) => {
          const ns = typeof i['ns'] === 'string' ? ` [${i['ns']}]` : '';
          return `${String(i['timestamp'])} ${i.level}${ns} ${String(i.message)}`;
        }),
      ),
    }),
  ];
  if (opts.file) {
    transports.push(
      new winston.transports.File({
        filename: opts.file,
        format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      }),
    );
  }
  const root = winston.createLogger({
    level: opts.level ?? 'info',
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: scrub(),
    transports,
  });
  return wrap(root, undefined);
}

function wrap(w: winston.Logger, ns: string | undefined): Logger {
  const at =
    (level: LogLevel) =>
    (msg: LogMessage, meta?: Record<string, unknown>): void => {
      if (!w.isLevelEnabled(level)) return;
      w.log(level, typeof msg === 'function' ? msg() : msg, ns ? { ns, ...meta } : meta);
    };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (childNs) => wrap(w, ns ? `${ns}:${childNs}` : childNs),
  };
}

/** Collects lines in memory; for tests and for library users who want to inspect warnings. */
export class MemoryLogger implements Logger {
  readonly lines: { level: LogLevel; msg: string; ns?: string }[] = [];
  constructor(private readonly ns?: string, lines?: { level: LogLevel; msg: string; ns?: string }[]) {
    if (lines) this.lines = lines;
  }
  private push(level: LogLevel, msg: LogMessage): void {
    const text = typeof msg === 'function' ? msg() : msg;
    this.lines.push(this.ns === undefined ? { level, msg: text } : { level, msg: text, ns: this.ns });
  }
  error(msg: LogMessage): void { this.push('error', msg); }
  warn(msg: LogMessage): void { this.push('warn', msg); }
  info(msg: LogMessage): void { this.push('info', msg); }
  debug(msg: LogMessage): void { this.push('debug', msg); }
  child(ns: string): Logger { return new MemoryLogger(this.ns ? `${this.ns}:${ns}` : ns, this.lines); }
}
