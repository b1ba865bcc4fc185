import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { OutputsError } from './errors';
import { LOG_LEVELS, type LogLevel } from './log';
import { serverEndpoints } from './invoke/url';
import { expectedDuration, isHttpUrl, parseDuration, shown } from './values';
import { parseHttpAddress } from './sinks/http/address';
import { parseSinkUrl } from './sinks/url';

/** Settings shared by every command; file keys are the long flag names in camelCase (CONTRACT.md). */
export interface Config {
  urls: string[];
  queue: string;
  token: string | null;
  username: string | null;
  password: string | null;
  includeIntermediate: boolean;
  state: string | null;
  logLevel: LogLevel;
  logFile: string | null;
  /** ms */
  drainTimeout: number;
  /** `--download DIR` */
  download: string | null;
  /** `--webhook URL`: POST each item record (and image records with `webhookImages`). */
  webhook: string | null;
  webhookSecret: string | null;
  webhookImages: boolean;
  /** `watch --output FILE`: append records to FILE instead of stdout (reopened on SIGHUP). */
  output: string | null;
  /** `--http HOST:PORT`: serve the live view and operator endpoints (watch, demo). */
  http: string | null;
  /** `--http-token`: required for a non-loopback `http` address. */
  httpToken: string | null;
  /** `--sink URL` (repeatable): brokers that get every record too (`nats://…/SUBJECT`, `redis://…/STREAM`). */
  sinks: readonly string[];
  /** Config file only: servers with their own queue, credentials and state, watched besides `url`. */
  servers: readonly ServerConfig[];
}

export interface ServerConfig {
  url: string;
  queue?: string | undefined;
  token?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  state?: string | undefined;
}

/** One layer of settings (a config file, the environment, the flags), checked; keys as in the config file. */
export interface ConfigValues {
  url?: string | string[];
  queue?: string;
  token?: string | null;
  username?: string | null;
  password?: string | null;
  includeIntermediate?: boolean;
  state?: string | null;
  logLevel?: LogLevel;
  logFile?: string | null;
  drainTimeout?: number;
  download?: string | null;
  webhook?: string | null;
  webhookSecret?: string | null;
  webhookImages?: boolean;
  output?: string | null;
  http?: string | null;
  httpToken?: string | null;
  sinks?: string[];
  servers?: ServerConfig[];
}

export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  urls: ['http://127.0.0.1:9090'],
  queue: 'default',
  token: null,
  username: null,
  password: null,
  includeIntermediate: false,
  state: null,
  logLevel: 'info',
  logFile: null,
  drainTimeout: 10000,
  download: null,
  webhook: null,
  webhookSecret: null,
  webhookImages: false,
  output: null,
  http: null,
  httpToken: null,
  sinks: [],
  servers: [],
});

type Key = keyof ConfigValues;

const nonEmpty = z.string({ error: 'expected a string' }).min(1, 'must not be empty');
const urlString = z.string({ error: 'expected an http(s) URL' }).refine(isHttpUrl, 'expected an http(s) URL');
const flag = z.boolean({ error: 'expected true or false' });
const milliseconds = z.preprocess(
  (v) => (typeof v === 'string' ? (parseDuration(v, 'ms') ?? v) : v),
  z.number({ error: expectedDuration('ms') }).int(expectedDuration('ms')).min(0, expectedDuration('ms')),
);
const sinkUrl = nonEmpty.superRefine((s, ctx) => {
  try {
    parseSinkUrl(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^--sink: /, '') });
  }
});

/** One schema per key, so every source can be checked key by key and each error names its key. */
const keySchemas: { readonly [K in Key]-?: z.ZodType<Exclude<ConfigValues[K], undefined>> } = {
  url: z.union([urlString, z.array(urlString).min(1, 'must list at least one URL')], { error: 'expected an http(s) URL or a list of them' }),
  queue: nonEmpty,
  token: nonEmpty.nullable(),
  username: nonEmpty.nullable(),
  password: nonEmpty.nullable(),
  includeIntermediate: flag,
  state: nonEmpty.nullable(),
  logLevel: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]], { error: 'expected error, warn, info or debug' }),
  logFile: nonEmpty.nullable(),
  drainTimeout: milliseconds,
  download: nonEmpty.nullable(),
  webhook: urlString.nullable(),
  webhookSecret: nonEmpty.nullable(),
  webhookImages: flag,
  output: nonEmpty.nullable(),
  http: nonEmpty
    .superRefine((s, ctx) => {
      try {
        parseHttpAddress(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .nullable(),
  httpToken: nonEmpty.nullable(),
  sinks: z.array(sinkUrl, { error: 'expected a list of nats:// or redis:// URLs' }),
  servers: z.array(
    z.strictObject(
      {
        url: urlString,
        queue: nonEmpty.optional(),
        token: nonEmpty.optional(),
        username: nonEmpty.optional(),
        password: nonEmpty.optional(),
        state: nonEmpty.optional(),
      },
      { error: 'expected an object with url (and queue, token, username, password, state)' },
    ),
    { error: 'expected a list of servers' },
  ),
};
export const CONFIG_KEYS = Object.keys(keySchemas) as Key[];

/** Never quoted back in an error message. */
const SECRET_KEYS = new Set(['token', 'password', 'webhookSecret', 'httpToken']);

const FLAG_OF: Record<Key, string> = {
  url: '--url',
  queue: '--queue',
  token: '--token',
  username: '--username',
  password: '--password',
  includeIntermediate: '--include-intermediate',
  state: '--state',
  logLevel: '--log-level',
  logFile: '--log-file',
  drainTimeout: '--drain-timeout',
  download: '--download',
  webhook: '--webhook',
  webhookSecret: '--webhook-secret',
  webhookImages: '--webhook-images',
  output: '--output',
  http: '--http',
  httpToken: '--http-token',
  sinks: '--sink',
  servers: 'servers',
};

const ENV_OF: Partial<Record<Key, string>> = {
  url: 'INVOKEAI_URL',
  queue: 'INVOKEAI_QUEUE',
  token: 'INVOKEAI_TOKEN',
  username: 'INVOKEAI_USERNAME',
  password: 'INVOKEAI_PASSWORD',
  state: 'INVOKEAI_OUTPUTS_STATE',
  logLevel: 'LOG_LEVEL',
  webhookSecret: 'INVOKEAI_OUTPUTS_WEBHOOK_SECRET',
  httpToken: 'INVOKEAI_OUTPUTS_HTTP_TOKEN',
};

type PathPart = PropertyKey;

function valueAt(v: unknown, path: readonly PathPart[]): unknown {
  let cur = v;
  for (const p of path) cur = typeof cur === 'object' && cur !== null ? (cur as Record<PropertyKey, unknown>)[p] : undefined;
  return cur;
}

/** `what was wrong, got "value"`; secrets are never quoted. */
function describeIssue(key: string, raw: unknown, issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  const last = issue.path[issue.path.length - 1];
  const secret = SECRET_KEYS.has(key) || (typeof last === 'string' && SECRET_KEYS.has(last));
  return secret ? issue.message : `${issue.message}, got ${shown(valueAt(raw, issue.path))}`;
}

/**
 * Checks each key of one layer. `name(key, sub)` says how the layer names a key (`--drain-timeout`, `LOG_LEVEL`,
 * `servers[1].url`), `sub` being the path inside the value.
 */
function checkKeys(raw: Record<string, unknown>, name: (k: string, sub: readonly PathPart[]) => string): { value: ConfigValues; errors: string[] } {
  const value: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    const schema = (keySchemas as Record<string, z.ZodType>)[k];
    if (!schema) {
      errors.push(`${name(k, [])}: unknown key`);
      continue;
    }
    const r = schema.safeParse(v);
    if (r.success) value[k] = r.data;
    else {
      const issue = r.error.issues[0];
      errors.push(issue ? `${name(k, issue.path)}: ${describeIssue(k, v, issue)}` : `${name(k, [])}: invalid`);
    }
  }
  return { value, errors };
}

const pathText = (sub: readonly PathPart[]): string => sub.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');

/** Reads a JSON config file; every bad key is named in one error line. */
export function readConfigFile(path: string): ConfigValues {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OutputsError('BAD_CONFIG', `config file ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new OutputsError('BAD_CONFIG', `config file ${path}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new OutputsError('BAD_CONFIG', `config file ${path}: must be a JSON object`);
  }
  // `$comment`-style keys document the file and are not settings.
  const entries = Object.entries(raw).filter(([k]) => !k.startsWith('$') && !k.startsWith('_'));
  const { value, errors } = checkKeys(Object.fromEntries(entries), (k, sub) => `${k}${pathText(sub)}`);
  if (errors.length) throw new OutputsError('BAD_CONFIG', `config file ${path}: ${errors.join('; ')}`);
  return value;
}

function fromEnv(env: NodeJS.ProcessEnv): ConfigValues {
  const raw: Record<string, unknown> = {};
  for (const [k, name] of Object.entries(ENV_OF) as [Key, string][]) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    // INVOKEAI_URL may list several servers, separated by commas or spaces.
    raw[k] = k === 'url' ? v.split(/[\s,]+/).filter(Boolean) : v;
  }
  const { value, errors } = checkKeys(raw, (k) => ENV_OF[k as Key] ?? k);
  if (errors.length) throw new OutputsError('BAD_CONFIG', errors.join('; '));
  return value;
}

/** Flags as parsed by the CLI (strings from the command line, converted here). */
export interface FlagValues {
  url?: string[];
  queue?: string;
  token?: string;
  username?: string;
  password?: string;
  includeIntermediate?: boolean;
  state?: string;
  logLevel?: string;
  logFile?: string;
  /** ms, or a duration such as `10s` */
  drainTimeout?: string | number;
  download?: string;
  webhook?: string;
  webhookSecret?: string;
  webhookImages?: boolean;
  output?: string;
  http?: string;
  httpToken?: string;
  sinks?: string[];
}

function fromFlags(flags: FlagValues): ConfigValues {
  const raw: Record<string, unknown> = { ...flags };
  if (flags.url && flags.url.length === 0) delete raw['url'];
  // A flag names itself, once: `--url` rather than `--url[1]` for the second of several.
  const { value, errors } = checkKeys(raw, (k) => FLAG_OF[k as Key] ?? k);
  if (errors.length) throw new OutputsError('BAD_USAGE', errors.join('; '));
  return value;
}

export interface LoadConfigInput {
  flags?: FlagValues;
  env?: NodeJS.ProcessEnv;
  configFile?: string | undefined;
  /** A command that talks to one server (`run`, `resolve`): several URLs or a `servers` list are a usage error. */
  singleServer?: string;
}

/** defaults ← config file ← environment ← flags; frozen. Throws one `OutputsError` line naming what is wrong. */
export function loadConfig(input: LoadConfigInput): Readonly<Config> {
  const file = input.configFile ? readConfigFile(input.configFile) : {};
  const env = fromEnv(input.env ?? {});
  const flags = fromFlags(input.flags ?? {});
  const merged: ConfigValues = { ...file, ...env, ...flags };
  const urlFrom = flags.url !== undefined ? '--url' : env.url !== undefined ? 'INVOKEAI_URL' : `config file ${input.configFile ?? ''}: url`;
  const serversFrom = `config file ${input.configFile ?? ''}: servers`;
  checkHttpToken(merged, flags.http !== undefined ? '--http' : `config file ${input.configFile ?? ''}: http`);
  // A config that lists `servers` needs no default URL besides them.
  const url = merged.url ?? (merged.servers?.length ? [] : DEFAULT_CONFIG.urls);
  const cfg: Config = {
    urls: Array.isArray(url) ? url : [url],
    queue: merged.queue ?? DEFAULT_CONFIG.queue,
    token: merged.token ?? null,
    username: merged.username ?? null,
    password: merged.password ?? null,
    includeIntermediate: merged.includeIntermediate ?? false,
    state: merged.state ?? null,
    logLevel: merged.logLevel ?? DEFAULT_CONFIG.logLevel,
    logFile: merged.logFile ?? null,
    drainTimeout: merged.drainTimeout ?? DEFAULT_CONFIG.drainTimeout,
    download: merged.download ?? null,
    webhook: merged.webhook ?? null,
    webhookSecret: merged.webhookSecret ?? null,
    webhookImages: merged.webhookImages ?? false,
    output: merged.output ?? null,
    http: merged.http ?? null,
    httpToken: merged.httpToken ?? null,
    sinks: merged.sinks ?? [],
    servers: merged.servers ?? [],
  };
  if (input.singleServer) checkSingleServer(cfg, input.singleServer, urlFrom, serversFrom);
  checkDuplicates(cfg, urlFrom, input.configFile);
  return Object.freeze(cfg);
}

function checkSingleServer(cfg: Config, command: string, urlFrom: string, serversFrom: string): void {
  if (cfg.servers.length > 0) {
    throw new OutputsError('BAD_USAGE', `${serversFrom}: ${command} talks to one server; give it with --url`);
  }
  if (cfg.urls.length > 1) {
    throw new OutputsError('BAD_USAGE', `${urlFrom}: ${command} talks to one server, got ${cfg.urls.length} (${cfg.urls.map((u) => shown(u)).join(', ')})`);
  }
}

/**
 * The same server and queue given twice would print every record twice. Same server means the same URL once
 * normalised: scheme and host case, default port, trailing slash (what `serverEndpoints` makes of it).
 */
function checkDuplicates(cfg: Config, urlFrom: string, configFile: string | undefined): void {
  const seen = new Map<string, { full: string; short: string }>();
  const all = [
    ...cfg.urls.map((url) => ({ url, queue: cfg.queue, full: urlFrom, short: urlFrom })),
    ...cfg.servers.map((s, i) => ({ url: s.url, queue: s.queue ?? cfg.queue, full: `config file ${configFile ?? ''}: servers[${i}]`, short: `servers[${i}]` })),
  ];
  for (const { url, queue, full, short } of all) {
    const server = serverEndpoints(url).server;
    const key = `${server}\n${queue}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, { full, short });
      continue;
    }
    // Both in the config file: the second names the first by its key alone.
    const other = first.full === full ? null : first.full.startsWith('config file') && full.startsWith('config file') ? first.short : first.full;
    const again = other === null ? 'is given twice' : `is also given by ${other}`;
    throw new OutputsError('BAD_USAGE', `${full}: ${shown(server).slice(1, -1)} (queue ${queue}) ${again}`);
  }
}

/** Off loopback, the live view would show every run and image to anyone who can reach the port: a token is a must. */
function checkHttpToken(merged: ConfigValues, where: string): void {
  if (!merged.http || merged.httpToken || parseHttpAddress(merged.http).loopback) return;
  throw new OutputsError('BAD_USAGE', `${where} ${merged.http}: a non-loopback address needs --http-token T (or INVOKEAI_OUTPUTS_HTTP_TOKEN)`);
}
