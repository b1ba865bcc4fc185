import { api, createBoard, enqueue, simulator, sleep, Teardown, watch } from '../support/harness';
import { saveOne } from '../support/graphs';

const td = new Teardown();
afterEach(() => td.run());

describe('cancel', () => {
  it('reports the image a node saves after its item was canceled, in the canceled item', async () => {
    // blank_image → save_image, each node 300 ms: cancel while save_image runs; it has no checkpoint and finishes.
    const sim = await simulator(td, { nodeDelayMs: 300 });
    const board = await createBoard(sim, 'b');
    const w = watch(td, { url: sim.url, cancelGraceMs: 1000 });
    await w.connected;
    const { item_ids } = await enqueue(sim, saveOne(board));
    await sleep(450);
    await api(sim.url, 'PUT', `/queue/default/i/${item_ids[0]}/cancel`);
    const [item] = await w.items$(1, 5000);
    expect(item).toMatchObject({ status: 'canceled', error_type: null });
    const onBoard = sim.store.imageNames(board);
    expect(item!.new_images).toEqual(onBoard);
    expect(item!.complete).toBe(true);
  });

  it('reports items canceled while pending, without waiting', async () => {
    const sim = await simulator(td, { nodeDelayMs: 100 });
    sim.pauseProcessor();
    const w = watch(td, { url: sim.url });
    await w.connected;
    const { item_ids } = await api<{ item_ids: number[] }>(sim.url, 'POST', '/queue/default/enqueue_batch', { batch: { graph: saveOne(), runs: 2 } });
    const t0 = Date.now();
    await api(sim.url, 'PUT', '/queue/default/cancel_by_batch_ids', { batch_ids: [(await api<{ batch_id: string }>(sim.url, 'GET', `/queue/default/i/${item_ids[0]}`)).batch_id] });
    const items = await w.items$(2, 5000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(items.map((i) => i.status)).toEqual(['canceled', 'canceled']);
    expect(items.every((i) => i.new_images.length === 0 && i.complete)).toBe(true);
  });
});
