import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { OutputsError } from './errors';
import { LOG_LEVELS, type LogLevel } from './log';
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
  sinks: [],
  servers: [],
});

const nonEmpty = z.string().min(1, 'must not be empty');
const urlString = nonEmpty.refine((s) => /^https?:\/\/[^/]/.test(s), 'must be an http(s) URL');
const sinkUrl = nonEmpty.superRefine((s, ctx) => {
  try {
    parseSinkUrl(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^--sink: /, '') });
  }
});

/** One schema per key, so every source can be checked key by key and each error names its key. */
const keySchemas = {
  url: z.union([urlString, z.array(urlString).min(1, 'must list at least one URL')]),
  queue: nonEmpty,
  token: nonEmpty.nullable(),
  username: nonEmpty.nullable(),
  password: nonEmpty.nullable(),
  includeIntermediate: z.boolean(),
  state: nonEmpty.nullable(),
  logLevel: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]),
  logFile: nonEmpty.nullable(),
  drainTimeout: z.number().int('must be a whole number of ms').min(0, 'must be >= 0'),
  download: nonEmpty.nullable(),
  webhook: urlString.nullable(),
  webhookSecret: nonEmpty.nullable(),
  webhookImages: z.boolean(),
  sinks: z.array(sinkUrl),
  servers: z.array(
    z.strictObject({
      url: urlString,
      queue: nonEmpty.optional(),
      token: nonEmpty.optional(),
      username: nonEmpty.optional(),
      password: nonEmpty.optional(),
      state: nonEmpty.optional(),
    }),
  ),
} as const;
type Key = keyof typeof keySchemas;
export const CONFIG_KEYS = Object.keys(keySchemas) as Key[];
type Partial_ = { [K in Key]?: z.infer<(typeof keySchemas)[K]> };

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
};

function checkKeys(raw: Record<string, unknown>, name: (k: string) => string): { value: Partial_; errors: string[] } {
  const value: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    const schema = (keySchemas as Record<string, z.ZodType>)[k];
    if (!schema) {
      errors.push(`${name(k)}: unknown key`);
      continue;
    }
    const r = schema.safeParse(v);
    if (r.success) value[k] = r.data;
    else {
      const issue = r.error.issues[0];
      const sub = (issue?.path ?? []).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      errors.push(`${name(k)}${sub}: ${issue?.message ?? 'invalid'}`);
    }
  }
  return { value: value, errors };
}

/** Reads a JSON config file; every bad key is named in one error line. */
export function readConfigFile(path: string): Partial_ {
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
  const { value, errors } = checkKeys(Object.fromEntries(entries), (k) => k);
  if (errors.length) throw new OutputsError('BAD_CONFIG', `config file ${path}: ${errors.join('; ')}`);
  return value;
}

function fromEnv(env: NodeJS.ProcessEnv): Partial_ {
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
  drainTimeout?: string | number;
  download?: string;
  webhook?: string;
  webhookSecret?: string;
  webhookImages?: boolean;
  sinks?: string[];
}

function fromFlags(flags: FlagValues): Partial_ {
  const raw: Record<string, unknown> = { ...flags };
  if (flags.url && flags.url.length === 0) delete raw['url'];
  if (typeof flags.drainTimeout === 'string') {
    raw['drainTimeout'] = /^\d+$/.test(flags.drainTimeout) ? Number(flags.drainTimeout) : flags.drainTimeout;
  }
  const { value, errors } = checkKeys(raw, (k) => FLAG_OF[k as Key] ?? k);
  if (errors.length) throw new OutputsError('BAD_USAGE', errors.join('; '));
  return value;
}

/** defaults ← config file ← environment ← flags; frozen. Throws one `OutputsError` line naming what is wrong. */
export function loadConfig(input: { flags?: FlagValues; env?: NodeJS.ProcessEnv; configFile?: string | undefined }): Readonly<Config> {
  const layers = [
    input.configFile ? readConfigFile(input.configFile) : {},
    fromEnv(input.env ?? {}),
    fromFlags(input.flags ?? {}),
  ];
  const merged: Partial_ = Object.assign({}, ...layers) as Partial_;
  // A config that lists `servers` needs no default URL besides them.
  const url = merged.url ?? (merged.servers?.length ? [] : DEFAULT_CONFIG.urls);
  return Object.freeze({
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
    sinks: merged.sinks ?? [],
    servers: merged.servers ?? [],
  });
}
