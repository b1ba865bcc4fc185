import { join } from 'node:path';

/* What `--help` adds after the flags, and what a bare `invokeai-outputs` prints: examples and exit codes. */

/** The commands, one line each (also the usage printed when no command is given). */
export const COMMANDS: readonly [name: string, summary: string][] = [
  ['watch', 'the daemon: report every output image and finished queue item as NDJSON'],
  ['run', 'enqueue a graph, batch or editor workflow, wait, and print exactly its records'],
  ['resolve', 'print the records of an existing queue item'],
  ['workflows', "list the server's workflow library as NDJSON"],
  ['demo', 'start the embedded simulator, submit sample work and watch it'],
  ['simulate', 'run the embedded InvokeAI simulator until SIGINT/SIGTERM'],
];

const README = join(__dirname, '..', '..', 'README.md');

export function readMore(): string {
  return `Run 'invokeai-outputs <command> --help' for a command's flags; the README has the rest: ${README}`;
}

/** What a bare `invokeai-outputs` prints on stderr (exit 2). */
export function usage(): string {
  const width = Math.max(...COMMANDS.map(([n]) => n.length));
  return [
    'Usage: invokeai-outputs <command> [flags]',
    '',
    'Commands:',
    ...COMMANDS.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`),
    '',
    readMore(),
    '',
  ].join('\n');
}

type Exit = readonly [code: string, meaning: string];

function section(examples: readonly string[], exits: readonly Exit[]): string {
  const width = Math.max(...exits.map(([c]) => c.length));
  return ['', 'Examples:', ...examples.map((e) => `  ${e}`), '', 'Exit codes:', ...exits.map(([c, m]) => `  ${c.padEnd(width)}  ${m}`), ''].join('\n');
}

const BAD_USAGE: Exit = ['2', 'bad usage, config or input file (one line on stderr says what and where)'];
const NO_SERVER: Exit = ['3', 'the server cannot be reached, is not an InvokeAI API, or refused the credentials'];

export const HELP_AFTER: Readonly<Record<string, string>> = {
  program: `\n${readMore()}\n`,
  watch: section(
    [
      'invokeai-outputs watch --url http://127.0.0.1:9090 > outputs.ndjson',
      'invokeai-outputs watch --state state.json --download ./images | jq -c \'select(.type=="item")\'',
      'invokeai-outputs watch --config /etc/invokeai-outputs/config.json --output /var/log/invokeai-outputs/outputs.ndjson',
    ],
    [
      ['0', 'stopped by SIGINT/SIGTERM or a closed stdout, after draining'],
      BAD_USAGE,
      ['', 'a server that is down or refuses the credentials is retried, never an exit'],
    ],
  ),
  run: section(
    [
      'invokeai-outputs run --url http://127.0.0.1:9090 --workflow my-workflow.json',
      'invokeai-outputs run --graph graph.json --runs 3 --board B --download ./out',
      'cat batch.json | invokeai-outputs run --batch - --timeout 10m',
      'invokeai-outputs run --workflow-id 3f2a… --set \'Positive Prompt="a lighthouse"\' --image image.image=in.png',
    ],
    [
      ['0', 'every item completed'],
      ['1', 'an item failed or was canceled, or --timeout canceled the run'],
      BAD_USAGE,
      NO_SERVER,
      ['130', "SIGINT: the run's items were canceled and their records printed (143: SIGTERM)"],
    ],
  ),
  resolve: section(
    ['invokeai-outputs resolve --url http://127.0.0.1:9090 --item 158', 'invokeai-outputs resolve --item 158 --download ./out | jq -r \'select(.type=="image").file\''],
    [['0', 'the item completed'], ['1', 'the item failed, was canceled, or does not exist (one line on stderr names it)'], BAD_USAGE, NO_SERVER],
  ),
  workflows: section(
    ['invokeai-outputs workflows --url http://127.0.0.1:9090', 'invokeai-outputs workflows | jq -r \'[.workflow_id, .name] | @tsv\''],
    [['0', 'the library was listed'], ['1', 'the server has no workflow library'], BAD_USAGE, NO_SERVER],
  ),
  demo: section(['invokeai-outputs demo', 'invokeai-outputs demo --keep | jq .', 'npm run demo -- --http :0   # and open the page it names'], [['0', 'every sample item was reported (or SIGINT with --keep)'], BAD_USAGE]),
  simulate: section(
    ['invokeai-outputs simulate --port 9090', 'invokeai-outputs simulate --profile 4.2.3 --fault drop:invocation_complete --base /invoke'],
    [['0', 'stopped by SIGINT/SIGTERM'], ['2', 'bad usage (one line on stderr says what), also a port in use']],
  ),
};
