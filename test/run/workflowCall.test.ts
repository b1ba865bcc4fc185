/**
 * `run` with a `call_saved_workflow` node (6.14+, docs/protocol.md §8.8): the called workflow runs as a child queue item of
 * the run's batch; the run reports one item record per item of the chain and waits for all of them.
 */
import { runWorkflow } from '../../src/run/runWorkflow';
import type { Simulator } from '../../src/simulator';
import { simulator, Teardown } from '../support/harness';
import { callableWorkflow, callerGraph } from '../support/graphs';
import { cli, imagesOf, itemsOf, tempDir, until, writeJson } from './support';

const td = new Teardown();
afterEach(() => td.run());

function savedCallable(sim: Simulator): string {
  return sim.saveWorkflow(callableWorkflow()).workflow_id;
}

/** Non-intermediate images the server holds for a queue item's session. */
function itemImages(sim: Simulator, itemId: number): string[] {
  const sessionId = sim.store.getQueueItem(itemId)?.['session_id'];
  return sim.store.imageNames().filter((n) => {
    const dto = sim.store.getImage(n);
    return dto !== undefined && dto.session_id === sessionId && !dto.is_intermediate;
  });
}

describe('run: saved-workflow calls', () => {
  it('library: one item record per item of the chain, each with its own images; the child names the root', async () => {
    const sim = await simulator(td);
    const { items, images, canceled } = await runWorkflow({ url: sim.url, graph: callerGraph(savedCallable(sim)) });
    expect(canceled).toBe(false);
    expect(items).toHaveLength(2);
    const parent = items.find((i) => i.root_item_id === i.item_id)!;
    const child = items.find((i) => i.item_id !== parent.item_id)!;
    expect(sim.store.getQueueItem(child.item_id)).toMatchObject({ parent_item_id: parent.item_id, root_item_id: parent.item_id });
    expect(parent).toMatchObject({ status: 'completed', complete: true });
    expect(child).toMatchObject({ status: 'completed', complete: true, root_item_id: parent.item_id, batch_id: parent.batch_id });
    expect(parent.new_images).toEqual(itemImages(sim, parent.item_id));
    expect(parent.new_images).toHaveLength(2);
    expect(child.new_images).toEqual(itemImages(sim, child.item_id));
    expect(child.new_images).toHaveLength(1);
    expect(images.map((i) => i.image_name).sort()).toEqual([...parent.new_images, ...child.new_images].sort());
    expect(images.every((i) => i.root_item_id === parent.item_id && !i.cached)).toBe(true);
  });

  it('CLI: run --graph waits for the whole chain and exits 0', async () => {
    // The parent still has two nodes to run when its child ends.
    const sim = await simulator(td, { nodeDelayMs: 40 });
    const file = writeJson(tempDir(td), 'call.json', callerGraph(savedCallable(sim)));
    const r = cli(td, ['run', '--url', sim.url, '--graph', file]);
    expect(await r.exited).toBe(0);
    const items = itemsOf(r.records());
    expect(items.map((i) => i.status)).toEqual(['completed', 'completed']);
    const rootId = Math.min(...items.map((i) => i.item_id));
    expect(items.map((i) => i.root_item_id)).toEqual([rootId, rootId]);
    expect(sim.store.listQueueItems().every((i) => i['status'] === 'completed')).toBe(true);
    const images = imagesOf(r.records());
    expect(images).toHaveLength(3);
    // Each image comes before the record of its own item.
    const lines = r.records();
    for (const img of images) {
      const at = lines.indexOf(img as unknown as Record<string, unknown>);
      expect(lines.findIndex((l) => l['type'] === 'item' && l['item_id'] === img.item_id)).toBeGreaterThan(at);
    }
  });

  it('an interrupt while the child runs cancels the chain; both reported canceled without waiting on the suspended parent', async () => {
    const sim = await simulator(td, { nodeDelayMs: 250 });
    const ac = new AbortController();
    const t0 = Date.now();
    const done = runWorkflow({ url: sim.url, graph: callerGraph(savedCallable(sim)), signal: ac.signal });
    await until(() => sim.store.listQueueItems().some((i) => i['parent_item_id'] !== undefined && i['status'] === 'in_progress'), 5000, 'the child to run');
    ac.abort();
    const { items, canceled } = await done;
    expect(canceled).toBe(true);
    expect(items.map((i) => i.status)).toEqual(['canceled', 'canceled']);
    expect(sim.store.listQueueItems().map((i) => i['status'])).toEqual(['canceled', 'canceled']);
    // The child's running node finishes (≤ 250 ms); the waiting parent runs nothing, so no 3 s cancel grace for it.
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('finds the child even when every event of it was lost: the batch counts tell', async () => {
    const sim = await simulator(td);
    const workflowId = savedCallable(sim);
    // The first item of the run is 1, its child 2: none of the child's events reaches the client.
    for (const event of ['queue_item_status_changed', 'invocation_started', 'invocation_complete', 'invocation_progress'])
      sim.faults.add({ event, action: 'drop', when: (p) => p['item_id'] === 2 });
    const { items } = await runWorkflow({ url: sim.url, graph: callerGraph(workflowId), pollMs: 100 });
    expect(items.map((i) => [i.item_id, i.status, i.root_item_id]).sort()).toEqual([
      [1, 'completed', 1],
      [2, 'completed', 1],
    ]);
    expect(items.find((i) => i.item_id === 2)!.new_images).toEqual(itemImages(sim, 2));
  });
});
