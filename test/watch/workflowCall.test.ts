/**
 * `watch` and saved-workflow calls (6.14+, docs/protocol.md §8.8): a `call_saved_workflow` node suspends its item (`waiting`)
 * and a child item of the same batch runs the saved workflow; each is reported as its own item, the child naming
 * the chain's root.
 */
import type { Simulator } from '../../src/simulator';
import type { ImageRecord, ItemRecord } from '../../src/records';
import { api, createBoard, enqueue, sessionImages, simulator, Teardown, watch, type Watched } from '../support/harness';
import { callableWorkflow, callerGraph, forwardingWorkflow, graph } from '../support/graphs';

const td = new Teardown();
afterEach(() => td.run());


function serverItem(sim: Simulator, itemId: number): Record<string, unknown> {
  const item = sim.store.getQueueItem(itemId);
  if (!item) throw new Error(`no item ${itemId}`);
  return item;
}

const byItem = (items: ItemRecord[]): Map<number, ItemRecord> => new Map(items.map((i) => [i.item_id, i]));

const imagesOf = (w: Watched, itemId: number): ImageRecord[] => w.images().filter((i) => i.item_id === itemId);

async function statusOf(sim: Simulator, itemId: number, status: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (sim.store.getQueueItem(itemId)?.['status'] !== status) {
    if (Date.now() > end) throw new Error(`item ${itemId} never became ${status}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('watch: saved-workflow calls', () => {
  it('reports the child with its own images and the root id, and the resumed parent once, without the child images', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'calls');
    const { workflow_id } = sim.saveWorkflow(callableWorkflow(board));
    const w = watch(td, { url: sim.url });
    await w.connected;
    const { item_ids } = await enqueue(sim, callerGraph(workflow_id, { board }));
    const parentId = item_ids[0]!;
    const items = byItem(await w.items$(2, 8000));

    const child = serverItem(sim, parentId + 1);
    expect(child).toMatchObject({ parent_item_id: parentId, root_item_id: parentId, workflow_call_depth: 1, status: 'completed' });
    const first = items.get(parentId + 1)!;
    const second = items.get(parentId)!;
    expect(first).toMatchObject({ item_id: parentId + 1, root_item_id: parentId, status: 'completed', session_id: child['session_id'], complete: true });
    expect(second).toMatchObject({ item_id: parentId, root_item_id: parentId, status: 'completed', complete: true });
    expect(first.batch_id).toBe(second.batch_id);

    const childImages = sessionImages(sim, child['session_id'] as string);
    expect(childImages).toHaveLength(1);
    expect(first.new_images).toEqual(childImages);
    expect(Object.keys(first.nodes)).toEqual(['out']);
    expect(imagesOf(w, first.item_id).map((i) => [i.image_name, i.root_item_id, i.session_id, i.node_id, i.cached])).toEqual([
      [childImages[0], parentId, child['session_id'], 'out', false],
    ]);

    // The parent's own images: before the call and after it resumed; the value returned by the child is not one.
    const parentSession = serverItem(sim, parentId)['session_id'] as string;
    expect(second.new_images).toEqual(sessionImages(sim, parentSession));
    expect(second.new_images).toHaveLength(2);
    expect(second.new_images).not.toContain(childImages[0]);
    expect(Object.keys(second.nodes).sort()).toEqual(['after', 'before']);
    expect(second.boards[board]?.added).toEqual(second.new_images);
    expect(imagesOf(w, parentId).every((i) => i.root_item_id === parentId && !i.cached)).toBe(true);
    expect(w.images().map((i) => i.image_name).sort()).toEqual([...childImages, ...second.new_images].sort());

    // `waiting` is no end: nothing more was reported for either item.
    expect(w.items().filter((i) => i.item_id === parentId)).toHaveLength(1);
    expect(w.items()).toHaveLength(2);
  });

  it('a parent whose last node is the call completes straight from waiting; both reported', async () => {
    const sim = await simulator(td);
    const { workflow_id } = sim.saveWorkflow(callableWorkflow());
    const w = watch(td, { url: sim.url });
    await w.connected;
    const { item_ids } = await enqueue(sim, callerGraph(workflow_id, { callLast: true }));
    const items = await w.items$(2, 8000);
    // Records of different items may interleave: the two ends come close together here.
    expect(items.map((i) => [i.item_id, i.root_item_id, i.status, i.new_images.length]).sort()).toEqual([
      [item_ids[0], item_ids[0], 'completed', 1],
      [item_ids[0]! + 1, item_ids[0], 'completed', 1],
    ]);
  });

  it('a call two levels deep: every item and image names the first item as root; only the innermost made images', async () => {
    const sim = await simulator(td);
    const inner = sim.saveWorkflow(callableWorkflow()).workflow_id;
    const outer = sim.saveWorkflow(forwardingWorkflow(inner)).workflow_id;
    const w = watch(td, { url: sim.url });
    await w.connected;
    const { item_ids } = await enqueue(sim, graph([{ id: 'call', type: 'call_saved_workflow', workflow_id: outer }]));
    const root = item_ids[0]!;
    const items = byItem(await w.items$(3, 8000));
    expect([...items.keys()].sort()).toEqual([root, root + 1, root + 2]);
    expect([...items.values()].every((i) => i.status === 'completed' && i.root_item_id === root && i.complete)).toBe(true);
    expect(items.get(root)!.new_images).toEqual([]);
    expect(items.get(root + 1)!.new_images).toEqual([]);
    expect(items.get(root + 2)!.new_images).toEqual(sessionImages(sim, serverItem(sim, root + 2)['session_id'] as string));
    expect(w.images().map((i) => [i.item_id, i.root_item_id])).toEqual([[root + 2, root]]);
  });

  it('a watch started while the child runs still names the root on the child images', async () => {
    const sim = await simulator(td, { nodeDelayMs: 150 });
    const { workflow_id } = sim.saveWorkflow(callableWorkflow());
    const { item_ids } = await enqueue(sim, callerGraph(workflow_id));
    const parentId = item_ids[0]!;
    await statusOf(sim, parentId + 1, 'in_progress');
    // Neither the child's `pending` nor its `in_progress` reaches this watch.
    const w = watch(td, { url: sim.url });
    await w.connected;
    const items = byItem(await w.items$(2, 8000));
    expect(items.get(parentId + 1)).toMatchObject({ root_item_id: parentId, status: 'completed' });
    expect(imagesOf(w, parentId + 1).map((i) => i.root_item_id)).toEqual([parentId]);
    expect(imagesOf(w, parentId).every((i) => i.root_item_id === parentId)).toBe(true);
  });

  it('canceling the parent while its child runs cancels both; each is reported canceled', async () => {
    // Every child node takes 300 ms: the cancel lands while the child runs.
    const sim = await simulator(td, { nodeDelayMs: 300 });
    const { workflow_id } = sim.saveWorkflow(callableWorkflow());
    const w = watch(td, { url: sim.url, cancelGraceMs: 500 });
    await w.connected;
    const { item_ids } = await enqueue(sim, callerGraph(workflow_id));
    const parentId = item_ids[0]!;
    await statusOf(sim, parentId + 1, 'in_progress');
    expect(serverItem(sim, parentId)['status']).toBe('waiting');
    await api(sim.url, 'PUT', `/queue/default/i/${parentId}/cancel`);
    const items = await w.items$(2, 5000);

    expect(serverItem(sim, parentId)['status']).toBe('canceled');
    expect(serverItem(sim, parentId + 1)['status']).toBe('canceled');
    const byId = byItem(items);
    expect(byId.get(parentId)).toMatchObject({ status: 'canceled', root_item_id: parentId, error_type: null });
    expect(byId.get(parentId + 1)).toMatchObject({ status: 'canceled', root_item_id: parentId, error_type: null });
    // What each saved before the cancel is its own, and nothing else.
    for (const item of items) {
      expect([...item.new_images].sort()).toEqual(sessionImages(sim, item.session_id!).sort());
      expect(imagesOf(w, item.item_id).every((i) => i.root_item_id === parentId)).toBe(true);
    }
    expect(byId.get(parentId)!.new_images).toHaveLength(1);
    expect(w.items()).toHaveLength(2);
  });

  it('a failing child fails its parent with the child error; both reported failed', async () => {
    const sim = await simulator(td);
    sim.faults.failNode({ nodeType: 'save_image', errorType: 'OSError', errorMessage: 'disk full' });
    const { workflow_id } = sim.saveWorkflow(callableWorkflow());
    const w = watch(td, { url: sim.url });
    await w.connected;
    const { item_ids } = await enqueue(sim, callerGraph(workflow_id));
    const items = await w.items$(2, 8000);
    const parentId = item_ids[0]!;
    expect(items.map((i) => [i.item_id, i.root_item_id, i.status, i.error_type, i.error_message]).sort()).toEqual([
      [parentId, parentId, 'failed', 'ValueError', 'disk full'],
      [parentId + 1, parentId, 'failed', 'OSError', 'disk full'],
    ]);
  });
});
