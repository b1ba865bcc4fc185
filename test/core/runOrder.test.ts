import { writeFileSync } from 'node:fs';
import type { ImageRecord, ItemRecord } from '../../src/records';
import { createBoard, simulator, Teardown } from '../support/harness';
import { blank, graph } from '../support/graphs';
import { startApiProxy } from '../support/apiProxy';
import { cliWith } from '../cli/spawn';
import { tempDir } from './support';

/*
 * Issue 12, behaviour 9: `run --runs N` prints items in execution order, each item's `count_before`/`count_after`
 * its own (chained from one item to the next), and a cache-hit item never before the item that made the image.
 */

const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);

it('run --runs 3 with the first item slow to resolve: items in execution order, counts chained, the cache hit after its maker', async () => {
  const sim = await simulator(td);
  const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
  // The first item's queue item answers late: its record is ready after the others' (a naive core prints 2 and 3 first).
  proxy.hooks = { delayMs: (req) => (req.method === 'GET' && req.path === '/api/v1/queue/default/i/1' ? 800 : 0) };
  const board = await createBoard(sim, 'runs');
  sim.seedImages(board, 5);
  // `cached` is a cache hit from the second item on; `fresh` makes an image every time.
  const g = graph([blank('cached', { use_cache: true, width: 40 }), blank('fresh', { width: 24 })]);
  const { file } = tempDir(td);
  writeFileSync(file('g.json'), JSON.stringify(g));
  const r = cli(['run', '--url', proxy.url, '--graph', file('g.json'), '--board', board, '--runs', '3']);
  expect(await r.exited).toBe(0);
  expect(proxy.requests.filter((q) => q === 'GET /api/v1/queue/default/i/1').length).toBeGreaterThan(0);

  const records = r.records() as unknown as (ImageRecord | ItemRecord)[];
  const items = records.filter((x): x is ItemRecord => x.type === 'item');
  expect(items.map((i) => i.item_id)).toEqual([1, 2, 3]);
  // Each item's images, then the item: nothing of item 2 before item 1's record.
  expect(records.map((x) => `${x.type}:${x.item_id}`)).toEqual(['image:1', 'image:1', 'item:1', 'image:2', 'image:2', 'item:2', 'image:3', 'image:3', 'item:3']);
  expect(items.map((i) => [i.boards[board]?.count_before, i.boards[board]?.count_after])).toEqual([
    [5, 7],
    [7, 8],
    [8, 9],
  ]);
  const made = records.find((x): x is ImageRecord => x.type === 'image' && x.item_id === 1 && x.node_id === 'cached')!;
  for (const id of [2, 3]) {
    const hit = records.find((x): x is ImageRecord => x.type === 'image' && x.item_id === id && x.node_id === 'cached')!;
    expect(hit).toMatchObject({ image_name: made.image_name, cached: true });
    expect(records.indexOf(hit)).toBeGreaterThan(records.indexOf(items[0]!));
  }
  expect(items.map((i) => i.new_images.length)).toEqual([2, 1, 1]);
  for (const i of items) expect(i).toMatchObject({ status: 'completed', complete: true });
});
