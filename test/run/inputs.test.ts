import { Agent } from 'undici';
import { readJsonInput, buildEnqueueBody } from '../../src/run/input';
import { locateJsonError } from '../../src/run/jsonError';
import { runWorkflow } from '../../src/run/runWorkflow';
import { OutputsError } from '../../src/errors';
import { createBoard, simulator, Teardown } from '../support/harness';
import { blank, graph, saveOne } from '../support/graphs';
import { join } from 'node:path';
import type { Spawned } from '../cli/spawn';
import { cli, cliWithStdin, imagesOf, itemsOf, loadWorkflow, oneLine, tempDir, writeJson } from './support';

const td = new Teardown();
afterEach(() => td.run());

/** A graph whose only edge points at a node that is not there. */
const ghostEdge = {
  id: 'g',
  nodes: { make: { id: 'make', type: 'blank_image', width: 8, height: 8 } },
  edges: [{ source: { node_id: 'make', field: 'image' }, destination: { node_id: 'ghost', field: 'image' } }],
};

// The server is never needed: a bad input is found before connecting.
const URL = 'http://127.0.0.1:1';
const badFiles = [
  ['a missing file', '--graph', null, [/no-such\.json/, /cannot read \(no such file\)/]],
  ['invalid JSON', '--graph', '{"nodes": {\n  "make": {"id": "make",, "type": "blank_image"}}}', [/bad-\d+\.json/, /line 2, column 25/, /nodes\.make/]],
  ['a graph with an edge to a missing node', '--graph', ghostEdge, [/bad-\d+\.json/, /edges\[0\]\.destination\.node_id/, /ghost/]],
  ['a batch without a graph', '--batch', { batch: { runs: 1 } }, [/bad-\d+\.json/, /batch\.graph/, /missing/]],
] as const;
const badUsage: [string[], RegExp][] = [
  [['--graph', 'a.json', '--batch', 'b.json'], /exactly one of --graph, --batch, --workflow or --workflow-id/],
  [['--graph', 'a.json', '--runs', '0'], /--runs/],
  [['--graph', 'a.json', '--timeout', 'soon'], /--timeout/],
];

// Each case is a process of its own that needs no server: they all start at once and each test reads its own.
const early = new Teardown();
afterAll(() => early.run());
const launched = new Map<string, Spawned>();
beforeAll(() => {
  const dir = tempDir(early);
  badFiles.forEach(([what, flag, content], i) => {
    const file = content === null ? join(dir, 'no-such.json') : writeJson(dir, `bad-${i}.json`, content);
    launched.set(what, cli(early, ['run', '--url', URL, flag, file]));
  });
  for (const [args] of badUsage) launched.set(JSON.stringify(args), cli(early, ['run', '--url', URL, ...args]));
  launched.set('stdin', cliWithStdin(early, ['run', '--url', URL, '--graph', '-'], '{"id": "g",\n "nodes": {"a": }\n}'));
  launched.set('unreachable', cli(early, ['run', '--url', URL, '--graph', writeJson(dir, 'good.json', saveOne())]));
});

describe('run inputs through the CLI: --graph and --batch, from a file or stdin', () => {
  it('--graph FILE runs the bare graph; --board puts its output on the board', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'b');
    const file = writeJson(tempDir(td), 'g.json', saveOne());
    const r = cli(td, ['run', '--url', sim.url, '--graph', file, '--board', board]);
    expect(await r.exited).toBe(0);
    expect(r.records().map((x) => x['type'])).toEqual(['image', 'item']);
    expect(imagesOf(r.records())[0]).toMatchObject({ node_id: 'out', board_id: board, requested_board_id: board });
    expect(itemsOf(r.records())[0]).toMatchObject({ status: 'completed', complete: true, boards: { [board]: { count_before: 0, count_after: 1 } } });
  });

  it('--graph - reads the graph from stdin', async () => {
    const sim = await simulator(td);
    const r = cliWithStdin(td, ['run', '--url', sim.url, '--graph', '-', '--quiet'], JSON.stringify(saveOne()));
    expect(await r.exited).toBe(0);
    expect(itemsOf(r.records())).toHaveLength(1);
    expect(imagesOf(r.records())[0]).toMatchObject({ node_id: 'out', board_id: 'none' });
  });

  it('--batch FILE sends the whole enqueue_batch body: its data makes one item per value, its runs are kept', async () => {
    const sim = await simulator(td);
    const body = {
      prepend: false,
      batch: {
        graph: graph([blank('make', { is_intermediate: false })]),
        runs: 1,
        data: [[{ node_path: 'make', field_name: 'width', items: [16, 24] }]],
      },
    };
    const r = cli(td, ['run', '--url', sim.url, '--batch', writeJson(tempDir(td), 'b.json', body)]);
    expect(await r.exited).toBe(0);
    const items = itemsOf(r.records());
    expect(items).toHaveLength(2);
    expect(new Set(items.map((i) => i.item_id)).size).toBe(2);
    expect(imagesOf(r.records()).map((i) => i.width).sort()).toEqual([16, 24]);
    expect(items.every((i) => i.status === 'completed' && i.batch_id === items[0]!.batch_id)).toBe(true);
  });

  it('--batch - reads the body from stdin', async () => {
    const sim = await simulator(td);
    const r = cliWithStdin(td, ['run', '--url', sim.url, '--batch', '-'], JSON.stringify({ batch: { graph: saveOne(), runs: 2 } }));
    expect(await r.exited).toBe(0);
    expect(itemsOf(r.records())).toHaveLength(2);
  });

  it('--runs 3 makes three queue items: three item records, counts chained from one to the next', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'three');
    sim.seedImages(board, 5);
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', saveOne()), '--board', board, '--runs', '3']);
    expect(await r.exited).toBe(0);
    const items = itemsOf(r.records());
    expect(items).toHaveLength(3);
    expect(imagesOf(r.records())).toHaveLength(3);
    expect(new Set(items.map((i) => i.item_id)).size).toBe(3);
    expect(items.map((i) => [i.boards[board]!.count_before, i.boards[board]!.count_after])).toEqual([[5, 6], [6, 7], [7, 8]]);
    // every item record follows its own image record
    expect(r.records().map((x) => x['type'])).toEqual(['image', 'item', 'image', 'item', 'image', 'item']);
  });
});

describe('bad input: exit 2, one stderr line naming the file and the JSON path, nothing on stdout', () => {
  async function exit2(key: string): Promise<string> {
    const r = launched.get(key)!;
    expect(await r.exited).toBe(2);
    expect(r.stdout()).toBe('');
    return oneLine(r);
  }

  it.each(badFiles)('%s', async (what, flag, _content, patterns) => {
    const line = await exit2(what);
    expect(line).toContain(flag);
    for (const p of patterns) expect(line).toMatch(p);
  });

  it('invalid JSON on stdin names stdin and the place', async () => {
    expect(await exit2('stdin')).toMatch(/--graph stdin: not valid JSON at line 2, column 17 \(in nodes\.a\): unexpected "}"$/);
  });

  it.each(badUsage)('bad usage %j', async (args, pattern) => {
    expect(await exit2(JSON.stringify(args))).toMatch(pattern);
  });


  it('a --board that does not exist is bad usage, found before anything is enqueued', async () => {
    const sim = await simulator(td);
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', saveOne()), '--board', 'no-such-board']);
    expect(await r.exited).toBe(2);
    expect(r.stdout()).toBe('');
    expect(oneLine(r)).toMatch(/--board no-such-board/);
    expect(sim.store.listQueueItems()).toEqual([]);
  });

  it('a graph the server refuses (unknown field value) is bad input too', async () => {
    const sim = await simulator(td);
    const file = writeJson(tempDir(td), 'g.json', graph([blank('make', { width: 'wide' })]));
    const r = cli(td, ['run', '--url', sim.url, '--graph', file, '--temp-board']);
    expect(await r.exited).toBe(2);
    expect(r.stdout()).toBe('');
    expect(oneLine(r)).toMatch(/--graph .*g\.json.*422/);
    // nothing ran, and the temporary board made for it is gone again
    expect(sim.store.listQueueItems()).toEqual([]);
    expect(sim.store.listBoards()).toEqual([]);
  });

});

describe('input parsing (unit)', () => {
  it('locates JSON syntax errors by line, column and path', () => {
    expect(locateJsonError('{"a": [1, 2,]}')).toMatchObject({ line: 1, column: 13, path: 'a[2]', problem: 'trailing comma' });
    expect(locateJsonError('{"a": {"b c": tru}}')).toMatchObject({ path: 'a["b c"]' });
    expect(locateJsonError('{"a": "x\ny"}')).toMatchObject({ line: 1, column: 9, problem: expect.stringMatching(/control character/) as unknown });
    expect(locateJsonError('{} x')).toMatchObject({ line: 1, column: 4, path: '' });
    expect(locateJsonError('{"a": [1, {"b": -}]}')).toMatchObject({ path: 'a[1].b' });
    for (const ok of ['{}', '[]', '"s"', '-1.5e3', '{"a": [true, false, null, "\\u00e9\\n"]}']) expect(locateJsonError(ok)).toBeNull();
  });

  // jsonc-parser reports some errors at the start of the token, or after it has closed the container, or names
  // the token rather than what the grammar expected: the words and places are ours.
  it.each([
    ['{"a":[1,2]', { column: 11, path: '', problem: "expected ',' or '}', found end of input" }],
    ['{"a": [1, 2', { column: 12, path: 'a', problem: "expected ',' or ']', found end of input" }],
    ['{"a":1 "b":2}', { column: 8, path: '', problem: `expected ',' or '}', found "\\""` }],
    ['{"w"": 1}', { column: 5, path: '', problem: `expected ':', found "\\""` }],
    ['{"a":1,}', { column: 8, path: '', problem: 'trailing comma' }],
    ['{"a": "x\\qy"}', { column: 9, path: 'a', problem: 'bad escape \\q' }],
    ['{"a": "x\u0001y"}', { column: 9, path: 'a', problem: 'control character in a string (escape it)' }],
    ['{"a": "abc', { column: 7, path: 'a', problem: 'unterminated string' }],
    ['{"a": 1.}', { column: 7, path: 'a', problem: 'bad number "1."' }],
    ['{"a": 1} // c', { column: 10, path: '', problem: 'unexpected "/" after the JSON value' }],
    ['   ', { column: 4, path: '', problem: 'unexpected end of input' }],
  ])('locates %j', (text, expected) => {
    expect(locateJsonError(text)).toEqual({ line: 1, ...expected });
  });

  it.each([
    ['a batch whose graph has an edge to a missing node', { batch: { graph: ghostEdge } }, 'batch', /^--batch x\.json: batch\.graph\.edges\[0\]\.destination\.node_id: unknown node 'ghost'$/],
    ['a bare graph given as a batch', saveOne(), 'batch', /^--batch x\.json: batch: missing.*use --graph/],
    ['a batch given as a graph', { batch: { graph: saveOne() } }, 'graph', /^--graph x\.json: batch: .*use --batch/],
    ['a graph given as a workflow', saveOne(), 'workflow', /^--workflow x\.json: not a workflow .*use --graph/],
    ['a workflow given as a graph', loadWorkflow('sdxl-text-to-image'), 'graph', /^--graph x\.json: nodes: .*use --workflow/],
    ['a batch with zero runs', { batch: { graph: saveOne(), runs: 0 } }, 'batch', /^--batch x\.json: batch\.runs: /],
  ] as const)('names the file and the JSON path: %s', (_what, content, kind, message) => {
    const input = { [kind]: content } as { graph: unknown } | { batch: unknown } | { workflow: unknown };
    expect(() => buildEnqueueBody(input, {}, `--${kind} x.json`)).toThrow(message);
  });

  it('an empty file or stdin: where the JSON ends', () => {
    const file = writeJson(tempDir(td), 'empty.json', '');
    expect(() => readJsonInput(file, '--workflow')).toThrow(/^--workflow .*empty\.json: not valid JSON at line 1, column 1: unexpected end of input$/);
  });

  it('reads a file with a byte order mark', () => {
    const file = writeJson(tempDir(td), 'bom.json', '\ufeff{"a": 1}');
    expect(readJsonInput(file, '--graph')).toEqual({ a: 1 });
  });

  it('the library names its input kind, or the given source, in errors', async () => {
    await expect(runWorkflow({ url: 'http://127.0.0.1:1', graph: ghostEdge })).rejects.toThrow(/^graph: edges\[0\]\.destination\.node_id: unknown node 'ghost'$/);
    await expect(runWorkflow({ url: 'http://127.0.0.1:1', batch: {}, source: 'job 7' })).rejects.toThrow(/^job 7: batch: missing/);
    await expect(runWorkflow({ url: 'http://127.0.0.1:1', graph: saveOne(), workflow: {} })).rejects.toMatchObject({ code: 'BAD_USAGE' });
    await expect(runWorkflow({ url: 'http://127.0.0.1:1', graph: saveOne(), runs: 0 })).rejects.toMatchObject({ code: 'BAD_USAGE' });
    const noRetries = td.add(new Agent(), (a) => a.close());
    await expect(runWorkflow({ url: 'http://127.0.0.1:1', graph: saveOne(), dispatcher: noRetries })).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });

  it('an editor workflow keeps its workflow and drops its auto boards; --board replaces every board', () => {
    const wf = loadWorkflow('sdxl-flux-refine');
    const plain = buildEnqueueBody({ workflow: wf }, {}, 'w');
    const boards = Object.values(plain.batch.graph.nodes).map((n) => (n['board'] as { board_id?: string } | undefined)?.board_id);
    expect(boards).not.toContain('auto');
    expect(plain.batch['workflow']).toBe(wf);
    const onB = buildEnqueueBody({ workflow: wf }, { board: 'B', runs: 2 }, 'w');
    const set = Object.values(onB.batch.graph.nodes).filter((n) => n['board'] !== undefined);
    expect(set.length).toBeGreaterThanOrEqual(3);
    expect(set.every((n) => (n['board'] as { board_id: string }).board_id === 'B')).toBe(true);
    expect(onB.batch.runs).toBe(2);
    expect(() => buildEnqueueBody({ graph: wf }, {}, '--graph w.json')).toThrow(OutputsError);
  });
});

describe('an unreachable server', () => {
  it('exits 3 with nothing on stdout', async () => {
    const r = launched.get('unreachable')!;
    expect(await r.exited).toBe(3);
    expect(r.stdout()).toBe('');
    expect(r.stderr()).toMatch(/127\.0\.0\.1:1/);
  });
});
