#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { OutputsError, errorMessage, exitCodeFor } from './errors';
import { addServerOptions, addWebhookOptions, configFrom, loggerFor, type ServerFlags } from './commands/common';
import { runResolve } from './commands/resolve';
import { runRun, type RunFlags } from './commands/run';
import { runWatch } from './commands/watch';
import { runWorkflows } from './commands/workflows';
import { runDemo } from './commands/demo';
import { runSimulate } from './commands/simulate';

/*
 * The bin. The only place that handles process exit codes and signals; stdout carries NDJSON records only,
 * everything else goes to stderr.
 */

function positiveInt(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new OutputsError('BAD_USAGE', `${flag}: must be a whole number, got "${v}"`);
    return Number(v);
  };
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
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined });

  addWebhookOptions(addServerOptions(prog.command('watch').description('daemon: report every output image and finished queue item as NDJSON')))
    .action(async (flags: ServerFlags) => {
      const cfg = configFrom(flags);
      process.exitCode = await runWatch({ cfg, log: loggerFor(cfg) });
    });

  addServerOptions(prog.command('run').description('enqueue a graph, batch or editor workflow, wait, and print its records'))
    .option('--graph <file>', 'a bare graph (nodes and edges); - reads stdin')
    .option('--batch <file>', 'a whole enqueue_batch body; - reads stdin')
    .option('--workflow <file>', 'a workflow exported from the InvokeAI editor; - reads stdin')
    .option('--workflow-id <id>', "a saved workflow of the server's library")
    .option('--set <target=value>', 'set an input first (repeatable): NODE_ID.FIELD, LABEL.FIELD or a form field label; JSON or text', repeatable)
    .option('--image <target=path>', 'upload a PNG, JPEG or WebP file and set the field to it (repeatable)', repeatable)
    .option('--board <id>', 'board for every output node that has one')
    .option('--temp-board', 'run into a new board made for the run (with --board: then move the outputs there)')
    .option('--runs <n>', 'queue items to run', positiveInt('--runs'))
    .option('--timeout <s>', 'cancel the run after this many seconds', positiveInt('--timeout'))
    .option('--quiet', 'no progress on stderr')
    .action(async (flags: ServerFlags & RunFlags) => {
      const cfg = configFrom(flags);
      process.exitCode = await runRun(cfg, flags, loggerFor(cfg));
    });

  addServerOptions(prog.command('workflows').description("list the server's workflow library as NDJSON"))
    .action(async (flags: ServerFlags) => {
      const cfg = configFrom(flags);
      process.exitCode = await runWorkflows(cfg, loggerFor(cfg));
    });

  addServerOptions(prog.command('resolve').description('resolve an existing queue item and print its records'))
    .requiredOption('--item <id>', 'queue item id', positiveInt('--item'))
    .action(async (flags: ServerFlags & { item: number }) => {
      const cfg = configFrom(flags);
      process.exitCode = await runResolve(cfg, flags.item, loggerFor(cfg));
    });

  prog
    .command('demo')
    .description('start the embedded simulator, submit sample work and watch it')
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .option('--keep', 'keep watching after the sample work is done (until SIGINT)')
    .action(async (flags: { logLevel: string; keep?: boolean }) => {
      process.exitCode = await runDemo(flags);
    });

  prog
    .command('simulate')
    .description('run the embedded InvokeAI simulator until SIGINT/SIGTERM')
    .addOption(new Option('--port <n>', 'port on 127.0.0.1 (0 = a free one)').default(0).argParser(positiveInt('--port')))
    .option('--base <path>', 'path prefix, e.g. /invoke', '')
    .option('--multiuser', 'multi-user mode')
    .option('--profile <name>', 'server generation', 'head')
    .option('--node-delay <ms>', 'simulated run time per node', positiveInt('--node-delay'))
    .option('--fault <spec...>', 'event faults, e.g. duplicate:invocation_complete drop:queue_item_status_changed:1 delay:invocation_complete:200 reorder:invocation_complete')
    .action(async (flags: { port: number; base: string; multiuser?: boolean; profile: string; nodeDelay?: number; fault?: string[] }) => {
      process.exitCode = await runSimulate(flags);
    });
  return prog;
}

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0.
      if (err.exitCode === 0) return;
      process.stderr.write(`invokeai-outputs: ${err.message.replace(/^error: /, '')}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`invokeai-outputs: ${errorMessage(err).split('\n')[0]}\n`);
    process.exitCode = exitCodeFor(err);
  }
}

void main(process.argv);
