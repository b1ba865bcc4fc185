import { HIDDEN_SAVE_TYPE } from '../../src/simulator';
import { createBoard, enqueue, sessionImages, simulator, Teardown, watch } from '../support/harness';
import { graph } from '../support/graphs';
import { statusOf, until } from './support';

/*
 * Issue 12, behaviour 3: images found through listings keep execution order — `created_at` ascending, the order they
 * were stored in as the tie-break (a listing is newest first, so its order reversed).
 */

const td = new Teardown();
afterEach(() => td.run());

/** range → iterate → a custom node (unknown to the catalog) that saves an image on `board` and returns none. */
function hiddenSaves(count: number, board: string): Record<string, unknown> {
  return graph(
    [
      { id: 'sizes', type: 'range', start: 16, stop: 16 + 8 * count, step: 8, is_intermediate: true, use_cache: false },
      { id: 'each', type: 'iterate', is_intermediate: true, use_cache: false },
      { id: 'hidden', type: HIDDEN_SAVE_TYPE, board: { board_id: board }, is_intermediate: false, use_cache: false },
    ],
    [
      ['sizes', 'collection', 'each', 'collection'],
      ['each', 'item', 'hidden', 'width'],
    ],
  );
}

it('a custom node that saves several images without returning them: new_images and image records in creation order', async () => {
  const sim = await simulator(td, { nodeDelayMs: 0 });
  const board = await createBoard(sim, 'custom');
  sim.seedImages(board, 20, { sessionId: 'earlier-work' });
  const w = watch(td, { url: sim.url });
  await w.connected;
  await enqueue(sim, hiddenSaves(6, board));
  const [item] = await w.items$(1);
  const made = sessionImages(sim, item!.session_id!);
  expect(made).toHaveLength(6);
  expect(item).toMatchObject({ complete: true, via: ['board_diff'] });
  expect(item!.new_images).toEqual(made);
  expect(item!.nodes['hidden']?.image_names).toEqual(made);
  expect(w.images().map((i) => i.image_name)).toEqual(made);
  // Widths 16, 24, … tell the executions apart: the first execution's image comes first.
  expect(w.images().map((i) => i.width)).toEqual([16, 24, 32, 40, 48, 56]);
});

it('images of the session stored in the same millisecond: the order they were stored in', async () => {
  const sim = await simulator(td, { nodeDelayMs: 300 });
  const board = await createBoard(sim, 'custom');
  const w = watch(td, { url: sim.url });
  await w.connected;
  await enqueue(sim, graph([{ id: 'hidden', type: HIDDEN_SAVE_TYPE, board: { board_id: board }, is_intermediate: false, use_cache: false }]));
  await until(() => statusOf(sim, 1) === 'in_progress', 'the item to start');
  const session = sim.store.getQueueItem(1)!['session_id'] as string;
  // Saved by something of this session while its node runs, all with one created_at (one bulk insert).
  const early = sim.seedImages(board, 8, { sessionId: session });
  expect(new Set(early.map((n) => sim.store.getImage(n)!.created_at)).size).toBe(1);
  const [item] = await w.items$(1);
  const made = sessionImages(sim, session);
  expect(made.slice(0, 8)).toEqual(early);
  expect(made).toHaveLength(9); // and the node's own image, last
  expect(item!.new_images).toEqual(made);
  expect(w.images().map((i) => i.image_name)).toEqual(made);
});
