import type { Simulator } from '../../src/simulator';
import { api, createBoard, enqueue, simulator, Teardown, watch } from '../support/harness';
import { saveOne } from '../support/graphs';
import { until } from './support';

/*
 * Issue 12, behaviour 6: an image that completes after the cancel grace of a canceled item is not dropped. The item
 * waits for the queue item's session to be written (a canceled run's session is written once its last node stopped),
 * or is `complete: false` with a warning when it never settles.
 */

const td = new Teardown();
afterEach(() => td.run());

/**
 * blank_image → save_image, each node `nodeDelayMs`: waits until save_image runs (the intermediate blank image
 * exists), then cancels. save_image has no cancellation checkpoint: it finishes and saves its image after the cancel.
 */
async function cancelWhileSaving(sim: Simulator, board: string): Promise<number> {
  const { item_ids } = await enqueue(sim, saveOne(board));
  const id = item_ids[0]!;
  const session = sim.store.getQueueItem(id)!['session_id'];
  await until(() => sim.store.imageNames().some((n) => sim.store.getImage(n)?.session_id === session), 'the blank image (save_image started)');
  await api(sim.url, 'PUT', `/queue/default/i/${id}/cancel`);
  return id;
}

it('the node finishes after the grace, its late invocation_complete lost: the image is found once the session is written', async () => {
  const sim = await simulator(td, { nodeDelayMs: 700 });
  const board = await createBoard(sim, 'b');
  sim.faults.add({ event: 'invocation_complete', action: 'drop', when: (p) => p['invocation_source_id'] === 'out' });
  const w = watch(td, { url: sim.url, cancelGraceMs: 50, settleTimeoutMs: 5000 });
  await w.connected;
  const id = await cancelWhileSaving(sim, board);
  const [item] = await w.items$(1, 8000);
  const made = sim.store.imageNames(board);
  expect(made).toHaveLength(1); // saved after the cancel
  expect(item).toMatchObject({ item_id: id, status: 'canceled', complete: true, new_images: made, via: ['queue_item'] });
  expect(w.images()).toEqual([expect.objectContaining({ image_name: made[0], node_id: 'out', via: 'queue_item' })]);
});

it('the node outlasts the settle timeout: complete false with a warning, never complete without its image', async () => {
  const sim = await simulator(td, { nodeDelayMs: 2000 });
  const board = await createBoard(sim, 'b');
  const w = watch(td, { url: sim.url, cancelGraceMs: 50, settleTimeoutMs: 300 });
  await w.connected;
  const id = await cancelWhileSaving(sim, board);
  const [item] = await w.items$(1, 8000);
  expect(sim.store.imageNames(board)).toEqual([]); // still running when the item was reported
  expect(item).toMatchObject({ item_id: id, status: 'canceled', complete: false, new_images: [] });
  expect(w.log.lines.some((l) => l.level === 'warn' && new RegExp(`item ${id} .*incomplete.*node out`).test(l.msg))).toBe(true);
});
