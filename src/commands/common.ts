import { Command, Option } from 'commander';
import { loadConfig, type Config, type FlagValues } from '../config';
import { createWinstonLogger, type Logger } from '../log';
import { sinkSecrets } from '../sinks/url';

/** Flags every server-facing command takes (CONTRACT.md). */
export function addServerOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON config file (keys are the long flag names in camelCase)')
    .addOption(new Option('--url <url>', 'InvokeAI base URL (repeatable) [env INVOKEAI_URL]').argParser(collect))
    .option('--queue <id>', 'queue id [env INVOKEAI_QUEUE] (default "default")')
    .option('--token <jwt>', 'bearer token for multi-user servers [env INVOKEAI_TOKEN]')
    .option('--username <user>', 'log in as this user [env INVOKEAI_USERNAME]')
    .option('--password <password>', 'password for --username [env INVOKEAI_PASSWORD]')
    .option('--include-intermediate', 'also report images with is_intermediate: true')
    .option('--state <file>', 'durable cursor file [env INVOKEAI_OUTPUTS_STATE]')
    .option('--log-level <level>', 'error, warn, info or debug [env LOG_LEVEL] (default info)')
    .option('--log-file <file>', 'also write logs to this file (JSON lines)')
    .option('--drain-timeout <ms>', 'how long shutdown waits for resolutions in flight (default 10000)')
    .option('--download <dir>', 'save each output image to DIR/<board_id>/<image_name>; records gain "file"');
}

/** Push delivery (watch). */
export function addWebhookOptions(cmd: Command): Command {
  return cmd
    .option('--webhook <url>', 'POST each item record as JSON to this URL')
    .option('--webhook-secret <secret>', 'sign posts with HMAC-SHA256 [env INVOKEAI_OUTPUTS_WEBHOOK_SECRET]')
    .option('--webhook-images', 'also post image records')
    .addOption(new Option('--sink <url>', 'also publish every record to nats://HOST:PORT/SUBJECT or redis://HOST:PORT/STREAM (repeatable)').argParser(collect));
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface ServerFlags extends FlagValues {
  config?: string;
  /** `--sink` (repeatable), the config's `sinks`. */
  sink?: string[];
}

/** Flags ← env ← config file ← defaults, frozen. */
export function configFrom(flags: ServerFlags, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const { config, sink, ...rest } = flags;
  const picked: FlagValues = sink ? { sinks: sink } : {};
  for (const k of ['url', 'queue', 'token', 'username', 'password', 'includeIntermediate', 'state', 'logLevel', 'logFile', 'drainTimeout', 'download', 'webhook', 'webhookSecret', 'webhookImages'] as const) {
    if (rest[k] !== undefined) (picked as Record<string, unknown>)[k] = rest[k];
  }
  return loadConfig({ flags: picked, env, configFile: config });
}

export function loggerFor(cfg: Readonly<Config>): Logger {
  const fromSinks = sinkSecrets(cfg.sinks);
  return createWinstonLogger({
    level: cfg.logLevel,
    ...(cfg.logFile ? { file: cfg.logFile } : {}),
    secrets: () =>
      [cfg.token, cfg.password, cfg.webhookSecret, ...cfg.servers.flatMap((s) => [s.token, s.password]), ...fromSinks].filter(
        (s): s is string => typeof s === 'string',
      ),
  });
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
export function onceSignalled(): { promise: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = (): void => undefined;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    let count = 0;
    const h = (sig: NodeJS.Signals): void => {
      count += 1;
      if (count > 1) process.exit(130);
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
