import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROFILES } from '../../src/simulator';
import { enqueue, simulator, Teardown } from '../support/harness';
import { saveOne } from '../support/graphs';
import { runCli, type Spawned } from './spawn';

/*
 * What a newcomer meets first: the usage, each command's help, and exit 2 as exactly one line on stderr (nothing on
 * stdout) for every kind of bad usage. The cases that need no server run side by side, started in beforeAll.
 */
const td = new Teardown();
afterEach(() => td.run());
const early = new Teardown();
afterAll(() => early.run());

const tmp = mkdtempSync(join(tmpdir(), 'ioo-conventions-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, content: unknown): string => {
  const p = join(tmp, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};
const graphFile = file('g.json', saveOne());
const aFile = file('plain.txt', 'not a folder');
const A = 'http://127.0.0.1:1';
const B = 'http://127.0.0.1:2';
const profiles = Object.keys(PROFILES);

/** [args, env, the one stderr line]: all exit 2 with nothing on stdout. */
const USAGE: [string[], Record<string, string>, string][] = [
  [['watch', '--quuee', 'x'], {}, "unknown option '--quuee' (did you mean --queue?)"],
  [['wtch'], {}, "unknown command 'wtch' (did you mean watch?)"],
  [['resolve', '--state', 's.json', '--item', '1'], {}, "unknown option '--state'"],
  [['resolve', '--drain-timeout', '5', '--item', '1'], {}, "unknown option '--drain-timeout'"],
  [['resolve', '--output', 'o.ndjson', '--item', '1'], {}, "unknown option '--output'"],
  [['run', '--state', 's.json', '--graph', graphFile], {}, "unknown option '--state'"],
  [['run', '--drain-timeout', '5', '--graph', graphFile], {}, "unknown option '--drain-timeout'"],
  [['run', '--webhook', 'http://127.0.0.1:3/hook', '--graph', graphFile], {}, "unknown option '--webhook'"],
  [['watch', '--drain-timeout', 'abc'], {}, '--drain-timeout: expected milliseconds, got "abc"'],
  [['watch', '--log-level', 'loud'], {}, '--log-level: expected error, warn, info or debug, got "loud"'],
  [['watch'], { LOG_LEVEL: 'loud' }, 'LOG_LEVEL: expected error, warn, info or debug, got "loud"'],
  [['run', '--graph', graphFile, '--timeout', 'soon'], {}, '--timeout: expected seconds, got "soon"'],
  [['run', '--graph', graphFile, '--timeout', '0'], {}, '--timeout: expected more than 0 seconds, got "0"'],
  [['run', '--graph', graphFile, '--runs', 'two'], {}, '--runs: expected a whole number of at least 1, got "two"'],
  [['resolve', '--item', 'abc'], {}, '--item: expected a whole number of at least 1, got "abc"'],
  [['resolve'], {}, "required option '--item <id>' not specified"],
  [['demo', '--log-level', 'chatty'], {}, '--log-level: expected error, warn, info or debug, got "chatty"'],
  [['simulate', '--profile', '9.9'], {}, `--profile: expected ${profiles.slice(0, -1).join(', ')} or ${profiles[profiles.length - 1]!}, got "9.9"`],
  [['simulate', '--port', '70000'], {}, '--port: expected a port number from 0 to 65535, got "70000"'],
  [['simulate', '--multiuser', '--profile', '4.2.3'], {}, '--multiuser: profile 4.2.3 (InvokeAI 4.2.3) predates multi-user mode (6.12)'],
  [['run', '--url', A, '--url', B, '--graph', graphFile], {}, `--url: run talks to one server, got 2 ("${A}", "${B}")`],
  [['resolve', '--url', A, '--url', B, '--item', '1'], {}, `--url: resolve talks to one server, got 2 ("${A}", "${B}")`],
  [['resolve', '--item', '1'], { INVOKEAI_URL: `${A},${B}` }, `INVOKEAI_URL: resolve talks to one server, got 2 ("${A}", "${B}")`],
  [['watch', '--url', A, '--url', 'bad'], {}, '--url: expected an http(s) URL, got "bad"'],
  [['watch', '--url', 'http://bot:hunter2@[::1'], {}, '--url: expected an http(s) URL, got "http://***@[::1"'],
  [['watch', '--url', 'HTTP://Render-1:80/', '--url', 'http://render-1'], {}, '--url: http://render-1 (queue default) is given twice'],
  [['watch', '--log-file', join(tmp, 'missing', 'x.log')], {}, `--log-file: cannot open ${join(tmp, 'missing', 'x.log')} (no such file or directory)`],
  [['watch', '--log-file', tmp], {}, `--log-file: cannot open ${tmp} (is a directory)`],
  [['watch', '--output', join(tmp, 'missing', 'out.ndjson')], {}, `--output: cannot open ${join(tmp, 'missing', 'out.ndjson')} (no such file or directory)`],
  [['run', '--download', aFile, '--graph', graphFile], {}, `--download: ${aFile} is not a directory`],
  [['resolve', '--download', join(aFile, 'sub'), '--item', '1'], {}, `--download: cannot use ${join(aFile, 'sub')} (a parent is not a directory)`],
];

/** Config files: [name, content, args after --config, the line with FILE standing for the file's path]. */
const CONFIGS: [string, unknown, string[], string][] = [
  ['servers-for-run', { servers: [{ url: A }] }, ['run', '--graph', graphFile], 'config file FILE: servers: run talks to one server; give it with --url'],
  ['urls-for-resolve', { url: [A, B] }, ['resolve', '--item', '1'], `config file FILE: url: resolve talks to one server, got 2 ("${A}", "${B}")`],
  ['url-and-servers', { servers: [{ url: 'http://Render-1:9090/' }] }, ['watch', '--url', 'http://render-1:9090'], 'config file FILE: servers[0]: http://render-1:9090 (queue default) is also given by --url'],
  ['servers-twice', { servers: [{ url: 'https://r2.example/invoke', queue: 'q' }, { url: 'https://R2.example:443/invoke/', queue: 'q' }] }, ['watch'], 'config file FILE: servers[1]: https://r2.example/invoke (queue q) is also given by servers[0]'],
];

/** Four processes at a time: on two shared cores, thirty at once would starve each other. */
const launched = new Map<string, Promise<Spawned>>();
const key = (args: string[], env: Record<string, string>): string => JSON.stringify([args, env]);
beforeAll(() => {
  const jobs: [string, string[], Record<string, string>][] = [
    ...USAGE.map(([args, env]): [string, string[], Record<string, string>] => [key(args, env), args, env]),
    ...CONFIGS.map(([name, content, args]): [string, string[], Record<string, string>] => [name, [...args, '--config', file(`${name}.json`, content)], {}]),
  ];
  const lanes: Promise<void>[] = [1, 2, 3, 4].map(() => Promise.resolve());
  jobs.forEach(([k, args, env], i) => {
    const lane = i % lanes.length;
    const started = lanes[lane]!.then(() => early.add(runCli(args, env), (s) => s.exited));
    lanes[lane] = started.then((s) => s.exited).then(() => undefined);
    launched.set(k, started);
  });
});

async function expectOneLine(r: Spawned, line: string, code = 2): Promise<void> {
  expect(await r.exited).toBe(code);
  expect({ stdout: r.stdout(), stderr: r.stderr() }).toEqual({ stdout: '', stderr: `invokeai-outputs: ${line}\n` });
}

describe('bad usage: exit 2, one line on stderr naming the flag, nothing on stdout', () => {
  it.each(USAGE)('%j %j', async (args, env, line) => {
    await expectOneLine(await launched.get(key(args, env))!, line);
  });

  it.each(CONFIGS)('config file %s', async (name, _content, _args, line) => {
    await expectOneLine(await launched.get(name)!, line.replace('FILE', join(tmp, `${name}.json`)));
  });

  it('simulate: a port in use', async () => {
    const busy = createTcpServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    td.add(busy, (s) => new Promise((resolve) => s.close(resolve)));
    const port = (busy.address() as AddressInfo).port;
    await expectOneLine(td.add(runCli(['simulate', '--port', String(port)]), (s) => s.exited), `--port: 127.0.0.1:${port} is in use`);
  });
});

describe('a URL that answers but is not an InvokeAI API: exit 3 at once', () => {
  // Since 6.14 the server answers under its base_url and without it alike: a prefix too many is the mistake left.
  it('a wrong path prefix (the server lives at the root): run and resolve', async () => {
    const sim = await simulator(td, { profile: '6.8' });
    const wrong = `${sim.url}/invoke`;
    const line = `no InvokeAI API at ${wrong}/api/v1 (GET /app/version: 404) — wrong path prefix?`;
    await expectOneLine(td.add(runCli(['resolve', '--url', wrong, '--item', '1']), (s) => s.exited), line, 3);
    await expectOneLine(td.add(runCli(['run', '--url', wrong, '--graph', graphFile]), (s) => s.exited), line, 3);
    expect(sim.store.listQueueItems()).toEqual([]);
  });

  it.each([
    ['another web server (HTML)', 'text/html', '<html>hello</html>', '200, not JSON'],
    ['a JSON API of another kind', 'application/json', '{"status":"ok"}', '200, no "version" in the answer'],
  ])('%s', async (_what, type, body, detail) => {
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': type }).end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    td.add(server, (s: Server) => new Promise((resolve) => s.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ai`;
    const r = td.add(runCli(['resolve', '--url', url, '--item', '1']), (s) => s.exited);
    await expectOneLine(r, `no InvokeAI API at ${url}/api/v1 (GET /app/version: ${detail}) — wrong path prefix?`, 3);
  });
});

describe('usage and help', () => {
  it('no command: the commands, one line each, and where to read more, on stderr; exit 2', async () => {
    const r = td.add(runCli([]), (s) => s.exited);
    expect(await r.exited).toBe(2);
    expect(r.stdout()).toBe('');
    const lines = r.stderr().split('\n');
    expect(lines[0]).toBe('Usage: invokeai-outputs <command> [flags]');
    for (const cmd of ['watch', 'run', 'resolve', 'demo', 'simulate']) expect(lines.filter((l) => new RegExp(`^  ${cmd} +\\S`).test(l))).toHaveLength(1);
    expect(r.stderr()).toContain(`Run 'invokeai-outputs <command> --help' for a command's flags; the README has the rest: ${join(__dirname, '../../README.md')}`);
  });

  it.each(['watch', 'run', 'resolve', 'demo', 'simulate'])('%s --help: every flag with its default, examples, exit codes', async (cmd) => {
    const r = td.add(runCli([cmd, '--help']), (s) => s.exited);
    expect(await r.exited).toBe(0);
    expect(r.stderr()).toBe('');
    const text = r.stdout();
    const options = text.slice(text.indexOf('Options:\n'), text.indexOf('\nExamples:\n'));
    // One entry per flag: its first line starts with "  -", wrapped lines follow.
    const entries = options.split(/\n(?= {2}-)/).slice(1).map((e) => e.replace(/\s+/g, ' ').trim());
    expect(entries.length).toBeGreaterThan(1);
    for (const e of entries.filter((x) => !x.startsWith('-h, --help'))) expect(e).toMatch(/\((default: [^)]+|required[^)]*)\)/);
    expect(text).toMatch(/\nExamples:\n( {2}\S.*\n)+\nExit codes:\n {2}0 +\S/);
    expect(text).toMatch(/\n {2}2 +bad usage/);
    const flag = (name: string): string | undefined => entries.find((e) => e.startsWith(`${name} `));
    if (cmd === 'watch') expect(flag('--drain-timeout')).toMatch(/in milliseconds \(10s, 500ms, 2m also work\) \(default: 10000\)/);
    if (cmd === 'run') {
      expect(flag('--timeout')).toMatch(/in seconds \(10s, 500ms, 2m also work\)/);
      expect(text).toMatch(/\n {2}130 +SIGINT/);
      expect(flag('--state')).toBeUndefined();
    }
    if (cmd === 'resolve') expect([flag('--state'), flag('--drain-timeout'), flag('--webhook')]).toEqual([undefined, undefined, undefined]);
  });

  it('--help into a reader that stops early (`| head`): exit 0, no stack trace', async () => {
    const r = runCli(['watch', '--help']);
    r.child.stdout.destroy();
    expect(await r.exited).toBe(0);
    expect(r.stderr()).toBe('');
  });
});

describe('resolve --download DIR', () => {
  it("saves the item's images like run does; image records name the file", async () => {
    const sim = await simulator(td);
    const { item_ids } = await enqueue(sim, saveOne());
    const id = item_ids[0]!;
    const deadline = Date.now() + 5000;
    while (sim.store.getQueueItem(id)?.['status'] !== 'completed') {
      if (Date.now() > deadline) throw new Error('the item did not complete');
      await new Promise((r) => setTimeout(r, 20));
    }
    const dir = join(tmp, 'downloads');
    const r = td.add(runCli(['resolve', '--url', sim.url, '--item', String(id), '--download', dir]), (s) => s.exited);
    expect(await r.exited).toBe(0);
    const [image, item] = r.records();
    expect(item).toMatchObject({ type: 'item', status: 'completed', complete: true });
    expect(image).toMatchObject({ type: 'image', file: join(dir, String(image!['board_id']), String(image!['image_name'])) });
    const path = String(image!['file']);
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });
});
