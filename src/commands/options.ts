import { Option, type Command } from 'commander';
import { DEFAULT_CONFIG } from '../config';
import { OutputsError } from '../errors';
import { expectedDuration, parseDuration, parseWhole, type DurationUnit } from '../values';

/*
 * Every flag of the server-facing commands, written once: its help (default, unit, environment variable) and its
 * parser. Each command takes only the flags it uses, so commander refuses the others as unknown (exit 2).
 */

/** A flag value that does not parse: exit 2, one line naming the flag and saying what it expected. */
function bad(flag: string, expected: string, got: string): OutputsError {
  return new OutputsError('BAD_USAGE', `${flag}: ${expected}, got ${JSON.stringify(got)}`);
}

/** A whole number ≥ `min`. */
export function wholeNumber(flag: string, min = 0): (v: string) => number {
  return (v) => {
    const n = parseWhole(v);
    if (n === null || n < min) throw bad(flag, min > 0 ? `expected a whole number of at least ${min}` : 'expected a whole number', v);
    return n;
  };
}

/** A duration in `unit` (plain numbers) or with its own unit (`10s`, `500ms`, `2m`); milliseconds out. */
export function duration(flag: string, unit: DurationUnit, opts: { positive?: boolean } = {}): (v: string) => number {
  return (v) => {
    const ms = parseDuration(v, unit);
    if (ms === null) throw bad(flag, expectedDuration(unit), v);
    if (opts.positive && ms <= 0) throw bad(flag, `expected more than 0 ${unit === 's' ? 'seconds' : 'milliseconds'}`, v);
    return ms;
  };
}

export function port(flag: string): (v: string) => number {
  return (v) => {
    const n = parseWhole(v);
    if (n === null || n > 65535) throw bad(flag, 'expected a port number from 0 to 65535', v);
    return n;
  };
}

export function oneOf(flag: string, choices: readonly string[]): (v: string) => string {
  return (v) => {
    if (!choices.includes(v)) throw bad(flag, `expected ${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1] ?? ''}`, v);
    return v;
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const DURATION_FORMS = '10s, 500ms, 2m also work';

/** Names of the flags below; config keys (camelCase) where the flag is one. */
export type FlagName =
  | 'config' | 'url' | 'queue' | 'token' | 'username' | 'password' | 'includeIntermediate' | 'state'
  | 'logLevel' | 'logFile' | 'drainTimeout' | 'download' | 'webhook' | 'webhookSecret' | 'webhookImages' | 'output'
  | 'http' | 'httpToken' | 'sink';

const d = DEFAULT_CONFIG;
const FLAGS: Record<FlagName, (many: boolean) => Option> = {
  config: () => new Option('--config <file>', 'JSON config file; keys are the long flag names in camelCase, as in config/default.json (default: none)'),
  url: (many) =>
    new Option(
      '--url <url>',
      `InvokeAI base URL${many ? ', repeatable' : ''}; a path prefix (https://host/invoke) moves the API and the socket ` +
        `[env INVOKEAI_URL${many ? ', comma-separated' : ''}] (default: ${d.urls[0] ?? ''})`,
    ).argParser(collect),
  queue: () => new Option('--queue <id>', `queue id [env INVOKEAI_QUEUE] (default: ${d.queue})`),
  token: () => new Option('--token <jwt>', 'bearer token for multi-user servers [env INVOKEAI_TOKEN] (default: none)'),
  username: () => new Option('--username <user>', 'log in as this user on a multi-user server [env INVOKEAI_USERNAME] (default: none)'),
  password: () => new Option('--password <password>', 'password for --username [env INVOKEAI_PASSWORD] (default: none)'),
  includeIntermediate: () => new Option('--include-intermediate', 'also report images with is_intermediate: true (default: off)'),
  state: () => new Option('--state <file>', 'durable cursor: after a restart, report what finished meanwhile [env INVOKEAI_OUTPUTS_STATE] (default: none)'),
  logLevel: () => new Option('--log-level <level>', `error, warn, info or debug [env LOG_LEVEL] (default: ${d.logLevel})`),
  logFile: () => new Option('--log-file <file>', 'also append logs to this file, as JSON lines (default: none)'),
  drainTimeout: () =>
    new Option('--drain-timeout <ms>', `on SIGINT/SIGTERM, wait this long for resolutions in flight, in milliseconds (${DURATION_FORMS}) (default: ${d.drainTimeout})`),
  download: () => new Option('--download <dir>', 'save each output image to DIR/<board_id>/<image_name>; image records gain "file" (default: none)'),
  webhook: () => new Option('--webhook <url>', 'POST each item record as JSON to this URL (default: none)'),
  webhookSecret: () => new Option('--webhook-secret <secret>', 'sign each post with HMAC-SHA256 [env INVOKEAI_OUTPUTS_WEBHOOK_SECRET] (default: none)'),
  webhookImages: () => new Option('--webhook-images', 'also post image records (default: off)'),
  output: () => new Option('--output <file>', 'append records to FILE instead of stdout, reopening it on SIGHUP (logrotate) (default: stdout)'),
  http: () =>
    new Option('--http <addr>', 'serve the live page, /events, /api/records, /healthz and /metrics on HOST:PORT (:PORT = 127.0.0.1, port 0 = a free one) (default: none)'),
  sink: () =>
    new Option('--sink <url>', 'also publish every record to nats://[user:pass@]HOST:PORT/SUBJECT or redis://[:pass@]HOST:PORT/STREAM, repeatable (default: none)').argParser(collect),
  httpToken: () =>
    new Option('--http-token <token>', 'required off loopback: clients send it as a Bearer token, or open the page once with ?token= [env INVOKEAI_OUTPUTS_HTTP_TOKEN] (default: none)'),
};

/** Adds `names` to `cmd`. `manyServers`: `--url` may be repeated (watch). */
export function addFlags(cmd: Command, names: readonly FlagName[], opts: { manyServers?: boolean } = {}): Command {
  for (const n of names) cmd.addOption(FLAGS[n](opts.manyServers === true));
  return cmd;
}

/** The flags every server-facing command takes. */
export const CONNECTION_FLAGS: readonly FlagName[] = ['config', 'url', 'queue', 'token', 'username', 'password', 'includeIntermediate', 'logLevel', 'logFile'];

export { DURATION_FORMS };
