#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { OutputsError, errorMessage, exitCodeFor } from './errors';
import { LOG_LEVELS } from './log';
import { checkPaths, configFrom, loggerFor, type ServerFlags } from './commands/common';
import { COMMANDS, HELP_AFTER, usage } from './commands/help';
import { CONNECTION_FLAGS, DURATION_FORMS, addFlags, duration, oneOf, port, wholeNumber } from './commands/options';
import { runResolve } from './commands/resolve';
import { runRun, type RunFlags } from './commands/run';
import { runWatch } from './commands/watch';
import { runDemo, type DemoFlags } from './commands/demo';
import { runSimulate, type SimulateFlags } from './commands/simulate';
import { PROFILES } from './simulator';
import { runWorkflows } from './commands/workflows';

/*
 * The bin. The only place that handles process exit codes; stdout carries NDJSON records only, everything else
 * goes to stderr. Each command declares only the flags it uses: any other is an unknown option (exit 2).
 */

function summary(name: string): string {
  return COMMANDS.find(([n]) => n === name)?.[1] ?? '';
}

function command(prog: Command, name: string): Command {
  return prog.command(name).description(summary(name)).addHelpText('after', HELP_AFTER[name] ?? '');
}

function watchCommand(prog: Command): void {
  const cmd = command(prog, 'watch');
  addFlags(cmd, [...CONNECTION_FLAGS, 'state', 'drainTimeout', 'download', 'output', 'webhook', 'webhookSecret', 'webhookImages', 'sink', 'http', 'httpToken'], { manyServers: true });
  cmd.action(async (flags: ServerFlags) => {
    const cfg = configFrom(flags);
    checkPaths(cfg);
    process.exitCode = await runWatch({ cfg, log: loggerFor(cfg) });
    // Bytes a stalled reader never took would keep the process alive for ever: the drain timeout is over.
    if (process.stdout.writableLength > 0) process.exit(process.exitCode);
  });
}

const ONE_INPUT = '(required: one of --graph, --batch, --workflow, --workflow-id)';

function runCommand(prog: Command): void {
  const cmd = command(prog, 'run');
  addFlags(cmd, [...CONNECTION_FLAGS, 'download']);
  cmd
    .option('--graph <file>', `a bare graph ({"nodes", "edges"}); - reads stdin ${ONE_INPUT}`)
    .option('--batch <file>', `a whole enqueue_batch body ({"batch": …}); - reads stdin ${ONE_INPUT}`)
    .option('--workflow <file>', `a workflow exported from the InvokeAI editor; - reads stdin ${ONE_INPUT}`)
    .option('--workflow-id <id>', `a saved workflow of the server's library, converted like --workflow ${ONE_INPUT}`)
    .option('--set <target=value>', 'set an input first (repeatable): NODE_ID.FIELD, LABEL.FIELD or a form field label; the value is JSON when it parses, else text (default: none)', repeatable)
    .option('--image <target=path>', 'upload a PNG, JPEG or WebP file as a user image and set the field to it (repeatable) (default: none)', repeatable)
    .option('--board <id>', 'board for every output node that has one; "none" = uncategorized (default: the graph\'s own)')
    .option('--temp-board', 'run into a new board made for the run; with --board, then move the outputs there (default: off)')
    .addOption(new Option('--runs <n>', 'queue items to run (default: the batch\'s runs, else 1)').argParser(wholeNumber('--runs', 1)))
    .addOption(
      new Option('--timeout <s>', `cancel the run's items after this long, in seconds (${DURATION_FORMS}) (default: none)`).argParser(
        duration('--timeout', 's', { positive: true }),
      ),
    )
    .option('--quiet', 'warnings and errors only on stderr: no progress, no info lines (default: off)')
    .action(async (flags: ServerFlags & RunFlags) => {
      const cfg = configFrom(flags, { singleServer: 'run' });
      checkPaths(cfg);
      process.exitCode = await runRun(cfg, flags, loggerFor(cfg, { quiet: flags.quiet === true }));
    });
}

function resolveCommand(prog: Command): void {
  const cmd = command(prog, 'resolve');
  addFlags(cmd, [...CONNECTION_FLAGS, 'download']);
  cmd
    .addOption(new Option('--item <id>', 'queue item id (required)').argParser(wholeNumber('--item', 1)).makeOptionMandatory())
    .action(async (flags: ServerFlags & { item: number }) => {
      const cfg = configFrom(flags, { singleServer: 'resolve' });
      checkPaths(cfg);
      process.exitCode = await runResolve(cfg, flags.item, loggerFor(cfg));
    });
}

function workflowsCommand(prog: Command): void {
  const cmd = command(prog, 'workflows');
  addFlags(cmd, CONNECTION_FLAGS.filter((f) => f !== 'includeIntermediate'));
  cmd.action(async (flags: ServerFlags) => {
    const cfg = configFrom(flags, { singleServer: 'workflows' });
    checkPaths(cfg);
    process.exitCode = await runWorkflows(cfg, loggerFor(cfg));
  });
}

function demoCommand(prog: Command): void {
  const cmd = command(prog, 'demo')
    .addOption(new Option('--log-level <level>', 'error, warn, info or debug').argParser(oneOf('--log-level', LOG_LEVELS)).default('info', 'info'))
    .option('--keep', 'keep watching after the sample work is done, until SIGINT (default: off)');
  addFlags(cmd, ['http', 'httpToken']).action(async (flags: DemoFlags) => {
    process.exitCode = await runDemo(flags);
  });
}

function simulateCommand(prog: Command): void {
  command(prog, 'simulate')
    .addOption(new Option('--port <n>', 'port on 127.0.0.1; 0 picks a free one').default(0, '0').argParser(port('--port')))
    .option('--base <path>', 'path prefix, e.g. /invoke (default: none)')
    .option('--multiuser', `multi-user mode (profiles ${multiuserProfiles().join(', ')}) (default: off)`)
    .addOption(
      new Option('--profile <name>', `server generation: ${Object.keys(PROFILES).join(', ')}`)
        .default('head', 'head')
        .argParser(oneOf('--profile', Object.keys(PROFILES))),
    )
    .addOption(new Option('--node-delay <ms>', `simulated run time of each node, in milliseconds (${DURATION_FORMS}) (default: 2)`).argParser(duration('--node-delay', 'ms')))
    .option('--fault <spec...>', 'event faults: action:event[:count[:delayMs]], e.g. drop:invocation_complete duplicate:queue_item_status_changed:1 delay:invocation_complete:5:200 (default: none)')
    .action(async (flags: SimulateFlags) => {
      process.exitCode = await runSimulate(flags);
    });
}

function multiuserProfiles(): string[] {
  return Object.entries(PROFILES).filter(([, p]) => p.authStatusEndpoint).map(([n]) => n);
}

function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function program(): Command {
  const version = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const prog = new Command('invokeai-outputs')
    .description('Which images each InvokeAI workflow run produced, and on which board')
    .version(version)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: writeHelp, writeErr: () => undefined, outputError: () => undefined })
    .addHelpText('after', HELP_AFTER['program'] ?? '');
  watchCommand(prog);
  runCommand(prog);
  resolveCommand(prog);
  demoCommand(prog);
  simulateCommand(prog);
  workflowsCommand(prog);
  return prog;
}

/** `--help | head` closes the pipe early; that is the reader's choice, not a crash worth a stack trace. */
function writeHelp(text: string): void {
  if (process.stdout.listenerCount('error') === 0) {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') process.stderr.write(`invokeai-outputs: stdout: ${err.message}\n`);
    });
  }
  process.stdout.write(text);
}

/** Commander's messages on one line: `unknown option '--quuee' (did you mean --queue?)`. */
function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)')
    .split('\n')
    .filter(Boolean)
    .join(' ');
}

async function main(argv: string[]): Promise<void> {
  if (argv.length <= 2) {
    process.stderr.write(usage());
    process.exitCode = 2;
    return;
  }
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0.
      if (err.exitCode === 0) return;
      process.stderr.write(`invokeai-outputs: ${oneLine(err.message)}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`invokeai-outputs: ${errorMessage(err).split('\n')[0]}\n`);
    process.exitCode = err instanceof OutputsError ? exitCodeFor(err) : 1;
  }
}

void main(process.argv);
