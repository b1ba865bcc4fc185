import { api, createBoard, enqueue, simulator, Teardown, watch } from '../support/harness';
import { saveOne } from '../support/graphs';
import { startApiProxy } from '../support/apiProxy';
import { startPythonSocketServer } from '../support/pythonSocketServer';
import { asEnqueued, onQueueItems, statusOf, until, withoutExecuted, withoutResults } from './support';

/*
 * Issue 12, behaviour 1: a finished item whose queue item has no result (or an empty `results`) for a node that ran
 * and saves images goes to the next rung; it is never `complete: true` with fewer images than the nodes that ran,
 * whatever version the server reports.
 */

const td = new Teardown();
afterEach(() => td.run());

const dropComplete = { event: 'invocation_complete', action: 'drop' as const };

describe('a node that ran, with no result in its queue item', () => {
  it('4.2.3 keeps no results and invocation_complete was lost: the listing finds the image by session_id', async () => {
    const sim = await simulator(td, { profile: '4.2.3' });
    const board = await createBoard(sim, 'b');
    sim.faults.add(dropComplete);
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, saveOne(board));
    const [item] = await w.items$(1);
    const made = sim.store.imageNames(board);
    expect(made).toHaveLength(1);
    expect(item).toMatchObject({ status: 'completed', complete: true, via: ['board_diff'], new_images: made });
    expect(w.images()).toEqual([expect.objectContaining({ image_name: made[0], node_id: 'out', board_id: board, via: 'board_diff' })]);
  });

  it('events without image names and a queue item whose results were emptied: the listing finds the image', async () => {
    const sim = await simulator(td, { profile: 'legacy-no-names' });
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    proxy.hooks = { rewrite: onQueueItems(withoutResults) };
    const board = await createBoard(sim, 'b');
    const w = watch(td, { url: proxy.url });
    await w.connected;
    await enqueue(sim, saveOne(board));
    const [item] = await w.items$(1);
    const made = sim.store.imageNames(board);
    expect(item).toMatchObject({ status: 'completed', complete: true, via: ['board_diff'], new_images: made });
    expect(made).toHaveLength(1);
  });

  it('a modern server (6.14) whose queue item has empty results, invocation_complete dropped: found by the listing, complete', async () => {
    const sim = await simulator(td);
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    proxy.hooks = { rewrite: onQueueItems(withoutResults) };
    const board = await createBoard(sim, 'b');
    sim.faults.add(dropComplete);
    const w = watch(td, { url: proxy.url });
    await w.connected;
    await enqueue(sim, saveOne(board));
    const [item] = await w.items$(1);
    const made = sim.store.imageNames(board);
    expect(made).toHaveLength(1);
    expect(item).toMatchObject({ status: 'completed', complete: true, via: ['board_diff'], new_images: made });
    expect(item!.nodes['out']).toMatchObject({ node_type: 'save_image', board_id: board, image_names: made });
    expect(w.images()).toEqual([expect.objectContaining({ image_name: made[0], via: 'board_diff', node_id: 'out' })]);
    // The listing rung was climbed: the board was read.
    expect(proxy.requests.some((r) => r.startsWith('GET /api/v1/images/?') && r.includes(`board_id=${board}`))).toBe(true);
  });

  it('every event lost and the queue item has empty results (6.14): the listing finds the image', async () => {
    const sim = await simulator(td);
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    proxy.hooks = { rewrite: onQueueItems(withoutResults) };
    const board = await createBoard(sim, 'b');
    for (const event of ['invocation_started', 'invocation_complete']) sim.faults.add({ event, action: 'drop' });
    const w = watch(td, { url: proxy.url });
    await w.connected;
    await enqueue(sim, saveOne(board));
    const [item] = await w.items$(1);
    const made = sim.store.imageNames(board);
    expect(made).toHaveLength(1);
    expect(item).toMatchObject({ status: 'completed', new_images: made, complete: true });
  });

  it('every event lost, and the stored session kept neither results nor executed: its execution graph says what ran', async () => {
    const sim = await simulator(td);
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    proxy.hooks = { rewrite: onQueueItems((b) => withoutExecuted(withoutResults(b))) };
    const board = await createBoard(sim, 'b');
    for (const event of ['invocation_started', 'invocation_complete']) sim.faults.add({ event, action: 'drop' });
    const w = watch(td, { url: proxy.url });
    await w.connected;
    await enqueue(sim, saveOne(board));
    const [item] = await w.items$(1);
    const made = sim.store.imageNames(board);
    expect(made).toHaveLength(1);
    expect(item).toMatchObject({ status: 'completed', new_images: made, complete: true, via: ['board_diff'] });
    expect(item!.nodes['out']?.image_names).toEqual(made);
  });

  it('empty results, invocation_complete dropped, and the image listing fails: complete false with a warning', async () => {
    const sim = await simulator(td);
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    proxy.hooks = {
      rewrite: onQueueItems(withoutResults),
      respond: (req) => (req.method === 'GET' && req.path === '/api/v1/images/' ? { status: 503, headers: { 'retry-after': '0' } } : null),
    };
    const board = await createBoard(sim, 'b');
    sim.faults.add(dropComplete);
    const w = watch(td, { url: proxy.url });
    await w.connected;
    await enqueue(sim, saveOne(board));
    const [item] = await w.items$(1);
    expect(item).toMatchObject({ status: 'completed', complete: false, new_images: [] });
    expect(w.log.lines.some((l) => l.level === 'warn' && new RegExp(`item ${item!.item_id} .*incomplete`).test(l.msg))).toBe(true);
  });

  it('empty results, invocation_complete dropped, and the image deleted before it could be listed: complete false, never true with no image', async () => {
    const sim = await simulator(td);
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    proxy.hooks = { rewrite: onQueueItems(withoutResults) };
    const board = await createBoard(sim, 'b');
    sim.faults.add(dropComplete);
    sim.faults.add({ event: 'queue_item_status_changed', action: 'delay', delayMs: 400, when: (p) => p['status'] === 'completed' });
    const w = watch(td, { url: proxy.url });
    await w.connected;
    await enqueue(sim, saveOne(board));
    await until(() => sim.store.imageNames(board).length === 1, 'the image');
    await api(sim.url, 'DELETE', `/images/i/${sim.store.imageNames(board)[0]!}`);
    const [item] = await w.items$(1);
    expect(item).toMatchObject({ status: 'completed', new_images: [], complete: false });
    expect(w.log.lines.some((l) => l.level === 'warn' && /incomplete/.test(l.msg))).toBe(true);
  });

  it('empty results, invocation_complete dropped, the queue item deleted before it was read: complete false, the image still found', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'b');
    sim.faults.add(dropComplete);
    sim.faults.add({ event: 'queue_item_status_changed', action: 'delay', delayMs: 400, when: (p) => p['status'] === 'completed' });
    const w = watch(td, { url: sim.url });
    await w.connected;
    const { item_ids } = await enqueue(sim, saveOne(board));
    await until(() => sim.store.getQueueItem(item_ids[0]!)?.['status'] === 'completed', 'the item to complete');
    await api(sim.url, 'DELETE', `/queue/default/i/${item_ids[0]!}`);
    const [item] = await w.items$(1);
    const made = sim.store.imageNames(board);
    expect(item).toMatchObject({ item_id: item_ids[0], complete: false, new_images: made, via: ['board_diff'] });
    expect(w.log.lines.some((l) => l.level === 'warn' && /incomplete/.test(l.msg) && /gone/.test(l.msg))).toBe(true);
  });
});

describe('over a real python-socketio server (the events) in front of the simulator (the API)', () => {
  it('an invocation_complete that fails validation still says the node completed: the listing finds its image', async () => {
    const pysio = td.add(await startPythonSocketServer(), (p) => p.close());
    const sim = await simulator(td);
    const board = await createBoard(sim, 'b');
    const proxy = td.add(await startApiProxy(sim.url, { socketTarget: pysio.origin }), (p) => p.close());
    // A server that never wrote the run back: only events could tell which workflow node made the image.
    proxy.hooks = { rewrite: onQueueItems(asEnqueued) };
    const w = watch(td, { url: proxy.url });
    await w.connected;
    // The simulator runs the item; its own events reach no one (the watcher's socket is python-socketio's).
    const { item_ids } = await enqueue(sim, saveOne(board));
    const id = item_ids[0]!;
    await until(() => statusOf(sim, id) === 'completed', 'the item to complete');
    const row = sim.store.getQueueItem(id)! as { batch_id: string; session_id: string; session: { prepared_source_mapping: Record<string, string> } };
    const prepared = Object.keys(row.session.prepared_source_mapping).find((k) => row.session.prepared_source_mapping[k] === 'out')!;
    const ids = { queue_id: 'default', item_id: id, batch_id: row.batch_id, session_id: row.session_id, origin: null, destination: null, user_id: 'system', timestamp: 1 };
    // `result` is not an object: the payload fails validation, but it still names the item, the node and its end.
    await pysio.emit('invocation_complete', { ...ids, invocation: { id: prepared, type: 'save_image', board: { board_id: board }, is_intermediate: false }, invocation_source_id: 'out', result: 'garbled' }, 'default');
    await pysio.emit('queue_item_status_changed', { ...ids, status: 'completed', error_type: null, error_message: null, error_traceback: null, created_at: null, updated_at: null, started_at: null, completed_at: null, batch_status: null, queue_status: null }, 'default');
    const [item] = await w.items$(1);
    const made = sim.store.imageNames(board);
    expect(item).toMatchObject({ item_id: id, status: 'completed', complete: true, via: ['board_diff'], new_images: made });
    expect(item!.nodes['out']?.image_names).toEqual(made);
    expect(w.log.lines.filter((l) => l.level === 'warn' && /dropped invalid invocation_complete event/.test(l.msg))).toHaveLength(1);
  });
});
