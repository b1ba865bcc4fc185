import { HIDDEN_SAVE_TYPE } from '../../src/simulator';
import { api, createBoard, enqueue, simulator, sleep, Teardown, watch } from '../support/harness';
import { graph, iterate, saveOne } from '../support/graphs';
import { startApiProxy } from '../support/apiProxy';

const td = new Teardown();
afterEach(() => td.run());

describe('fallback ladder', () => {
  it('finds the outputs in session.results when events carry no image names', async () => {
    const sim = await simulator(td, { profile: 'legacy-no-names' });
    const board = await createBoard(sim, 'b');
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, saveOne(board));
    const [item] = await w.items$(1);
    expect(item).toMatchObject({ status: 'completed', complete: true, via: ['queue_item'] });
    expect(w.images()).toHaveLength(1);
    expect(w.images()[0]).toMatchObject({ node_id: 'out', board_id: board, via: 'queue_item', node_type: 'save_image' });
  });

  it('fills in what a dropped invocation_complete left out', async () => {
    const sim = await simulator(td);
    sim.faults.add({ event: 'invocation_complete', action: 'drop', when: (p) => p['invocation_source_id'] === 'out' });
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, saveOne());
    const [item] = await w.items$(1);
    expect(item).toMatchObject({ complete: true, via: ['queue_item'] });
    expect(Object.keys(item!.nodes)).toEqual(['out']);
  });

  it('finds an image a custom node saved without returning it, via the board listing', async () => {
    const sim = await simulator(td, { nodeDelayMs: 100 });
    const board = await createBoard(sim, 'custom');
    sim.seedImages(board, 30, { sessionId: 'earlier-work' });
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, graph([{ id: 'hidden', type: HIDDEN_SAVE_TYPE, board: { board_id: board }, is_intermediate: false, use_cache: false }]));
    // another session writes to the same board while our item runs: never attributed to our item
    await sleep(50);
    sim.seedImages(board, 5, { sessionId: 'someone-else-now' });
    const [item] = await w.items$(1);
    expect(item).toMatchObject({ complete: true, via: ['board_diff'] });
    expect(item!.nodes['hidden']?.image_names).toHaveLength(1);
    const img = w.images()[0]!;
    expect(img).toMatchObject({ node_id: 'hidden', board_id: board, via: 'board_diff', session_id: item!.session_id });
  });

  it('reports an item whose events were all missed while disconnected, after the reconnect', async () => {
    const sim = await simulator(td);
    const w = watch(td, { url: sim.url, backoff: { min: 400, max: 400 } });
    await w.connected;
    sim.disconnectSockets();
    await sleep(50);
    const { item_ids } = await enqueue(sim, iterate(2));
    const [item] = await w.items$(1, 5000);
    expect(item).toMatchObject({ item_id: item_ids[0], complete: true, via: ['queue_item'] });
    expect(item!.new_images).toHaveLength(2);
  });

  it('reports an item deleted before it could be read as incomplete, with a warning', async () => {
    const sim = await simulator(td);
    sim.faults.add({ event: 'queue_item_status_changed', action: 'delay', delayMs: 300, when: (p) => p['status'] === 'completed' });
    const w = watch(td, { url: sim.url });
    await w.connected;
    const { item_ids } = await enqueue(sim, saveOne());
    await sleep(150);
    await api(sim.url, 'DELETE', `/queue/default/i/${item_ids[0]}`);
    const [item] = await w.items$(1);
    expect(item).toMatchObject({ item_id: item_ids[0], status: 'completed', complete: false });
    expect(item!.new_images).toHaveLength(1); // from the socket
    expect(w.log.lines.some((l) => l.level === 'warn' && /incomplete/.test(l.msg) && /gone/.test(l.msg))).toBe(true);
  });

  it('reports the board an image is on when it was moved before it was read', async () => {
    const sim = await simulator(td);
    const [a, b] = [await createBoard(sim, 'a'), await createBoard(sim, 'b')];
    sim.faults.add({ event: 'invocation_complete', action: 'drop' });
    sim.faults.add({ event: 'queue_item_status_changed', action: 'delay', delayMs: 300, when: (p) => p['status'] === 'completed' });
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, saveOne(a));
    await sleep(150);
    const [name] = sim.store.imageNames(a);
    await api(sim.url, 'POST', '/board_images/', { board_id: b, image_name: name });
    const [item] = await w.items$(1);
    expect(w.images()[0]).toMatchObject({ image_name: name, board_id: b, requested_board_id: a });
    expect(item!.boards[b]?.added).toEqual([name]);
  });
});

describe('a server whose API stops answering', () => {
  it('postpones the item instead of reporting it incomplete, and resolves it once the API answers again', async () => {
    const sim = await simulator(td);
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    const w = watch(td, { url: proxy.url, reconcileIntervalMs: 300 });
    await w.connected;
    sim.faults.add({ event: 'queue_item_status_changed', action: 'delay', delayMs: 200, when: (p) => p['status'] === 'completed' });
    await enqueue(sim, saveOne());
    await sleep(100);
    proxy.apiDown = true; // the terminal status arrives while no request can get through
    const postponed = (): boolean => w.log.lines.some((l) => /server unreachable, resolving it once it answers again/.test(l.msg));
    for (let i = 0; i < 200 && !postponed(); i++) await sleep(50); // undici's own retries come first
    expect(postponed()).toBe(true);
    expect(w.items()).toHaveLength(0);
    proxy.apiDown = false;
    const [item] = await w.items$(1, 5000);
    expect(item).toMatchObject({ status: 'completed', complete: true });
    expect(item!.new_images).toHaveLength(1);
    expect(w.images().map((i) => i.image_name)).toEqual(item!.new_images);
  });
});
