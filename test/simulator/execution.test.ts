/**
 * Execution semantics of the simulator: iterate/collect, cache, boards, intermediates, failures, cancel,
 * batch expansion, retries, bulk queue operations, base path, seeded boards.
 */
import { sampleGraph, type Simulator } from '../../src/simulator';
import {
  api,
  Harness,
  readFixture,
  resultImageNames,
  sleep,
  waitFor,
  waitTerminal,
  type Client,
  type EnqueueResult,
  type ImageDTO,
  type InvocationEvent,
  type QueueItem,
  type StatusEvent,
} from './support';

type Nodes = Record<string, Record<string, unknown>>;
type Edge = { source: { node_id: string; field: string }; destination: { node_id: string; field: string } };
const edge = (from: string, field: string, to: string, toField: string = field): Edge => ({
  source: { node_id: from, field },
  destination: { node_id: to, field: toField },
});

async function enqueue(sim: Simulator, nodes: Nodes, edges: Edge[] = [], extra: Record<string, unknown> = {}): Promise<EnqueueResult> {
  const r = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: { nodes, edges }, runs: 1, ...extra } });
  if (r.status !== 200) throw new Error(`enqueue failed ${r.status}: ${JSON.stringify(r.json)}`);
  return r.json;
}

async function item(sim: Simulator, id: number): Promise<QueueItem> {
  return (await api<QueueItem>(sim, 'GET', `/queue/default/i/${id}`)).json;
}

async function image(sim: Simulator, name: string): Promise<ImageDTO> {
  return (await api<ImageDTO>(sim, 'GET', `/images/i/${name}`)).json;
}

function completesOf(c: Client, itemId: number): InvocationEvent[] {
  return c.of<InvocationEvent>('invocation_complete').filter((e) => e.item_id === itemId);
}

describe('simulator execution', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('iterate expands one source node into N prepared copies; collect gathers them', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const nodes: Nodes = {
      sizes: { id: 'sizes', type: 'integer_collection', collection: [64, 128, 256] },
      it: { id: 'it', type: 'iterate' },
      blank: { id: 'blank', type: 'blank_image', height: 32 },
      col: { id: 'col', type: 'collect' },
      show: { id: 'show', type: 'image_collection' },
    };
    const edges = [edge('sizes', 'collection', 'it'), edge('it', 'item', 'blank', 'width'), edge('blank', 'image', 'col', 'item'), edge('col', 'collection', 'show')];
    const { item_ids: [id = 0] } = await enqueue(sim, nodes, edges);
    await waitTerminal(c, [id]);
    const s = (await item(sim, id)).session;
    expect(s.source_prepared_mapping['it']).toHaveLength(3);
    expect(s.source_prepared_mapping['blank']).toHaveLength(3);
    expect(s.source_prepared_mapping['col']).toHaveLength(1);
    const iterEvents = completesOf(c, id).filter((e) => e.invocation_source_id === 'it');
    expect(iterEvents.map((e) => e.invocation['index'])).toEqual([0, 1, 2]);
    // The collection is blanked in events (graph.py overrides, docs/protocol.md §3).
    for (const e of iterEvents) expect(e.invocation['collection']).toEqual([]);
    const blanks = completesOf(c, id).filter((e) => e.invocation_source_id === 'blank');
    expect(blanks.map((e) => e.result?.['width'])).toEqual([64, 128, 256]);
    expect(blanks.map((e) => s.prepared_iteration_paths?.[e.invocation.id])).toEqual([[0], [1], [2]]);
    const made = blanks.flatMap((e) => resultImageNames(e.result));
    for (const [i, name] of made.entries()) {
      const dto = await image(sim, name);
      expect(dto.node_id).toBe(blanks[i]?.invocation.id);
      expect(dto.session_id).toBe(s.id);
    }
    const collected = completesOf(c, id).find((e) => e.invocation_source_id === 'col');
    expect(collected?.invocation['collection']).toEqual([]);
    expect(resultImageNames(collected?.result)).toEqual(made);
    // The pass-through image_collection returns the same (existing) images.
    expect(resultImageNames(completesOf(c, id).find((e) => e.invocation_source_id === 'show')?.result)).toEqual(made);
    expect(s.executed).toEqual(expect.arrayContaining(['sizes', 'it', 'blank', 'col', 'show']));
    expect(s.execution_graph.edges.filter((e) => e.destination.node_id === collected?.invocation.id)).toHaveLength(3);
  });

  test('a cache hit returns the earlier image (DTO session_id of the first run) and saves nothing', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const nodes: Nodes = { blank: { id: 'blank', type: 'blank_image', width: 64, height: 64 } };
    const first = (await enqueue(sim, nodes)).item_ids[0] ?? 0;
    await waitTerminal(c, [first]);
    const second = (await enqueue(sim, nodes)).item_ids[0] ?? 0;
    await waitTerminal(c, [second]);
    const [a] = resultImageNames(completesOf(c, first)[0]?.result);
    const [b] = resultImageNames(completesOf(c, second)[0]?.result);
    expect(b).toBe(a);
    const dto = await image(sim, a ?? '');
    expect(dto.session_id).toBe((await item(sim, first)).session_id);
    expect(dto.session_id).not.toBe((await item(sim, second)).session_id);
    expect(sim.store.imageCount).toBe(1);
    // save_image defaults to use_cache false: it always saves.
    const saves: Nodes = { blank: { id: 'blank', type: 'blank_image', width: 64, height: 64 }, save: { id: 'save', type: 'save_image' } };
    const s1 = (await enqueue(sim, saves, [edge('blank', 'image', 'save')])).item_ids[0] ?? 0;
    await waitTerminal(c, [s1]);
    expect(sim.store.imageCount).toBe(2);
  });

  test('nodeCacheSize 0 disables the cache', async () => {
    const sim = await h.start({ nodeCacheSize: 0 });
    const c = await h.connect(sim);
    const nodes: Nodes = { blank: { id: 'blank', type: 'blank_image', width: 64, height: 64 } };
    const ids = [(await enqueue(sim, nodes)).item_ids[0] ?? 0, (await enqueue(sim, nodes)).item_ids[0] ?? 0];
    await waitTerminal(c, ids);
    expect(sim.store.imageCount).toBe(2);
  });

  test('boards: requested board kept if it exists, else uncategorized; non-WithBoard nodes ignore boards', async () => {
    const logs: string[] = [];
    const sim = await h.start({ logger: (m) => logs.push(m) });
    const c = await h.connect(sim);
    const board = sim.createBoard('kept');
    const nodes: Nodes = {
      blank: { id: 'blank', type: 'blank_image', width: 64, height: 64, is_intermediate: true, use_cache: false },
      good: { id: 'good', type: 'save_image', board: { board_id: board.board_id } },
      bad: { id: 'bad', type: 'save_image', board: { board_id: 'no-such-board' } },
      canvas: { id: 'canvas', type: 'canvas_output', board: { board_id: board.board_id } },
    };
    const id = (await enqueue(sim, nodes, [edge('blank', 'image', 'good'), edge('blank', 'image', 'bad'), edge('blank', 'image', 'canvas')])).item_ids[0] ?? 0;
    await waitTerminal(c, [id]);
    const by = (src: string): InvocationEvent => completesOf(c, id).find((e) => e.invocation_source_id === src) as InvocationEvent;
    expect((await image(sim, resultImageNames(by('good').result)[0] ?? '')).board_id).toBe(board.board_id);
    expect((await image(sim, resultImageNames(by('bad').result)[0] ?? '')).board_id).toBeNull();
    expect(by('canvas').invocation).not.toHaveProperty('board');
    expect((await image(sim, resultImageNames(by('canvas').result)[0] ?? '')).board_id).toBeNull();
    expect(logs.some((l) => l.includes('no-such-board'))).toBe(true);
    // The intermediate source image is a real image, hidden from non-intermediate listings.
    const blank = await image(sim, resultImageNames(by('blank').result)[0] ?? '');
    expect(blank.is_intermediate).toBe(true);
    const visible = await api<{ items: ImageDTO[]; total: number }>(sim, 'GET', '/images/?board_id=none&is_intermediate=false');
    expect(visible.json.items.map((i) => i.image_name)).not.toContain(blank.image_name);
    expect(visible.json.total).toBe(2);
    const boardImages = await api<string[]>(sim, 'GET', `/boards/${board.board_id}/image_names`);
    expect(boardImages.json).toEqual(resultImageNames(by('good').result));
  });

  test('a failing node: failed status first, then invocation_error; session keeps errors and earlier results', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    sim.faults.failNode({ nodeType: 'save_image', errorType: 'ValueError', errorMessage: 'boom', count: 1 });
    const nodes: Nodes = { blank: { id: 'blank', type: 'blank_image', width: 64, height: 64 }, save: { id: 'save', type: 'save_image' } };
    const id = (await enqueue(sim, nodes, [edge('blank', 'image', 'save')])).item_ids[0] ?? 0;
    await waitTerminal(c, [id]);
    await waitFor(() => c.of('invocation_error').length === 1, 'invocation_error');
    const seq = c.events
      .filter((e) => e.payload['item_id'] === id)
      .map((e) => `${e.event}:${(e.payload['status'] as string | undefined) ?? (e.payload['invocation'] as { type: string }).type}`);
    expect(seq).toEqual([
      'queue_item_status_changed:in_progress',
      'invocation_started:blank_image',
      'invocation_complete:blank_image',
      'invocation_started:save_image',
      'queue_item_status_changed:failed',
      'invocation_error:save_image',
    ]);
    const failed = c.of<StatusEvent>('queue_item_status_changed').find((e) => e.status === 'failed');
    expect(failed).toMatchObject({ error_type: 'ValueError', error_message: 'boom', status_sequence: 2 });
    const q = await item(sim, id);
    expect(q).toMatchObject({ status: 'failed', error_type: 'ValueError', error_message: 'boom' });
    const savePrepared = q.session.source_prepared_mapping['save']?.[0] ?? '';
    expect(q.session.errors).toEqual({ [savePrepared]: 'ValueError: boom' });
    const blankPrepared = q.session.source_prepared_mapping['blank']?.[0] ?? '';
    expect(resultImageNames(q.session.results[blankPrepared])).toHaveLength(1);
    expect(q.session.results[savePrepared]).toBeUndefined();
    // count: 1 — the next run succeeds.
    const next = (await enqueue(sim, nodes, [edge('blank', 'image', 'save')])).item_ids[0] ?? 0;
    await waitTerminal(c, [next]);
    expect((await item(sim, next)).status).toBe('completed');
  });

  test('a node missing a required connection fails like invoke_internal', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const id = (await enqueue(sim, { l2i: { id: 'l2i', type: 'l2i' } })).item_ids[0] ?? 0;
    await waitTerminal(c, [id]);
    expect(await item(sim, id)).toMatchObject({ status: 'failed', error_type: 'RequiredConnectionException' });
  });

  test('cancel mid-run: canceled status, the running node may finish, partial session written', async () => {
    const sim = await h.start({ nodeDelayMs: 60 });
    const c = await h.connect(sim);
    const nodes: Nodes = {
      blank: { id: 'blank', type: 'blank_image', width: 64, height: 64 },
      blur: { id: 'blur', type: 'img_blur' },
      save: { id: 'save', type: 'save_image' },
    };
    const id = (await enqueue(sim, nodes, [edge('blank', 'image', 'blur'), edge('blur', 'image', 'save')])).item_ids[0] ?? 0;
    await waitFor(() => c.of<InvocationEvent>('invocation_started').some((e) => e.invocation_source_id === 'blur'), 'blur started');
    const canceled = await api<QueueItem>(sim, 'PUT', `/queue/default/i/${id}/cancel`);
    expect(canceled.json.status).toBe('canceled');
    await waitFor(() => completesOf(c, id).some((e) => e.invocation_source_id === 'blur'), 'blur finished after the cancel');
    await sleep(150);
    const names = c.events.filter((e) => e.payload['item_id'] === id).map((e) => e.event);
    expect(names.indexOf('queue_item_status_changed', 1)).toBeLessThan(names.lastIndexOf('invocation_complete'));
    expect(c.of<InvocationEvent>('invocation_started').some((e) => e.invocation_source_id === 'save')).toBe(false);
    const q = await item(sim, id);
    expect(q.status).toBe('canceled');
    expect(Object.keys(q.session.results)).toHaveLength(2);
    expect(c.of<StatusEvent>('queue_item_status_changed').map((e) => e.status)).toEqual(['in_progress', 'canceled']);
  });

  test('cancel during a denoise node stops it at the next step (no complete, no error)', async () => {
    const sim = await h.start({ nodeDelayMs: 40, progressSteps: 8 });
    const c = await h.connect(sim);
    const body = readFixture<{ batch: Record<string, unknown> }>('examples/enqueue_batch.request.json');
    const enq = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', body);
    const id = enq.json.item_ids[0] ?? 0;
    await waitFor(() => c.of('invocation_progress').length > 0, 'progress');
    await api(sim, 'PUT', `/queue/default/i/${id}/cancel`);
    await sleep(120);
    const denoise = c.of<InvocationEvent>('invocation_started').find((e) => e.invocation.type === 'denoise_latents');
    expect(completesOf(c, id).some((e) => e.invocation.id === denoise?.invocation.id)).toBe(false);
    expect(c.of('invocation_error')).toHaveLength(0);
    const q = await item(sim, id);
    expect(q.status).toBe('canceled');
    expect(q.session.results[denoise?.invocation.id ?? '']).toBeUndefined();
    expect(Object.keys(q.session.results).length).toBeGreaterThan(0);
  });

  test('batch runs × data create separate items and sessions, item_ids newest first', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const nodes: Nodes = { blank: { id: 'blank', type: 'blank_image', width: 64, height: 64, use_cache: false } };
    const data = [[{ node_path: 'blank', field_name: 'width', items: [32, 48] }]];
    const r = await enqueue(sim, nodes, [], { runs: 2, data });
    expect(r.requested).toBe(4);
    expect(r.enqueued).toBe(4);
    expect(r.item_ids).toEqual([...r.item_ids].sort((a, b) => b - a));
    await waitTerminal(c, r.item_ids);
    const items = await Promise.all([...r.item_ids].reverse().map((i) => item(sim, i)));
    expect(new Set(items.map((i) => i.session_id)).size).toBe(4);
    expect(items.map((i) => (i.field_values as { value: number }[])[0]?.value)).toEqual([32, 48, 32, 48]);
    expect(items.map((i) => i.session.graph.nodes['blank']?.['width'])).toEqual([32, 48, 32, 48]);
    expect(c.of<{ enqueued: number }>('batch_enqueued')[0]?.enqueued).toBe(4);
  });

  test('retry makes a new item (retried_from_item_id) announced only by queue_items_retried', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    sim.faults.failNode({ sourceId: 'blank', count: 1 });
    const id = (await enqueue(sim, { blank: { id: 'blank', type: 'blank_image', width: 64, height: 64 } })).item_ids[0] ?? 0;
    await waitTerminal(c, [id]);
    const r = await api<{ retried_item_ids: number[] }>(sim, 'PUT', '/queue/default/retry_items_by_id', [id]);
    expect(r.json.retried_item_ids).toEqual([id]);
    await waitFor(() => c.of('queue_items_retried').length === 1, 'queue_items_retried');
    expect(c.of<{ retried_item_ids: number[] }>('queue_items_retried')[0]?.retried_item_ids).toEqual([id]);
    const newId = id + 1;
    await waitTerminal(c, [newId]);
    const statuses = c.of<StatusEvent>('queue_item_status_changed').filter((e) => e.item_id === newId);
    expect(statuses.map((e) => e.status)).toEqual(['in_progress', 'completed']);
    const q = await item(sim, newId);
    expect(q.retried_from_item_id).toBe(id);
    expect(q.batch_id).toBe((await item(sim, id)).batch_id);
  });

  test('bulk cancel of pending items emits only queue_items_canceled; clear emits queue_cleared', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    sim.pauseProcessor();
    const r = await enqueue(sim, { blank: { id: 'blank', type: 'blank_image' } }, [], { runs: 3 });
    const canceled = await api<{ canceled: number }>(sim, 'PUT', '/queue/default/cancel_by_batch_ids', { batch_ids: [r.batch.batch_id] });
    expect(canceled.json.canceled).toBe(3);
    await waitFor(() => c.of('queue_items_canceled').length === 1, 'queue_items_canceled');
    expect(c.of<{ canceled_item_ids: number[] }>('queue_items_canceled')[0]?.canceled_item_ids.sort()).toEqual([...r.item_ids].sort());
    expect(c.of('queue_item_status_changed')).toHaveLength(0);
    expect((await item(sim, r.item_ids[0] ?? 0)).status).toBe('canceled');
    const cleared = await api<{ deleted: number }>(sim, 'PUT', '/queue/default/clear');
    expect(cleared.json.deleted).toBe(3);
    await waitFor(() => c.of('queue_cleared').length === 1, 'queue_cleared');
    expect(c.of('queue_cleared')[0]).toMatchObject({ queue_id: 'default', user_id: null });
    expect((await api(sim, 'GET', `/queue/default/i/${r.item_ids[0] ?? 0}`)).status).toBe(404);
    sim.resumeProcessor();
  });

  test('a base path moves HTTP and the socket under /invoke', async () => {
    const sim = await h.start({ base: '/invoke' });
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}/invoke`);
    const c = await h.connect(sim);
    const id = (await enqueue(sim, { blank: { id: 'blank', type: 'blank_image', width: 64, height: 64 } })).item_ids[0] ?? 0;
    await waitTerminal(c, [id]);
    const [name] = resultImageNames(completesOf(c, id)[0]?.result);
    const dto = await image(sim, name ?? '');
    expect(dto.image_url).toBe(`api/v1/images/i/${name ?? ''}/full`);
    expect((await fetch(`${sim.url}/${dto.image_url}`)).status).toBe(200);
    // Behind a proxy that strips the sub-path requests arrive without it: HEAD puts it back (SubPathASGIMiddleware).
    const stripped = await fetch(`http://127.0.0.1:${sim.port}/api/v1/app/version`);
    expect([stripped.status, await stripped.json()]).toEqual([200, { version: sim.profile.version }]);
  });

  test('sim_hidden_save saves an image on its board but returns no image', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const board = sim.createBoard('hidden');
    const id = (await enqueue(sim, { hide: { id: 'hide', type: 'sim_hidden_save', board: { board_id: board.board_id } } })).item_ids[0] ?? 0;
    await waitTerminal(c, [id]);
    const done = completesOf(c, id)[0];
    expect(done?.result).toEqual({ output_meta: null, value: 1, type: 'integer_output' });
    const names = sim.store.imageNames(board.board_id);
    expect(names).toHaveLength(1);
    const dto = await image(sim, names[0] ?? '');
    expect(dto.session_id).toBe((await item(sim, id)).session_id);
    expect(dto.node_id).toBe(done?.invocation.id);
  });

  test('seeded boards of 100 000 images are cheap and page in milliseconds', async () => {
    const sim = await h.start();
    const board = sim.createBoard('big');
    const t0 = Date.now();
    const names = sim.seedImages(board.board_id, 100_000);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(names).toHaveLength(100_000);
    await api(sim, 'GET', '/app/version');
    const t1 = performance.now();
    const page = await api<{ items: ImageDTO[]; total: number }>(sim, 'GET', `/images/?board_id=${board.board_id}&offset=50000&limit=50`);
    const ms = performance.now() - t1;
    expect(page.json.total).toBe(100_000);
    expect(page.json.items[0]?.image_name).toBe(names[100_000 - 1 - 50_000]);
    expect(ms).toBeLessThan(100);
    const filtered = await api<{ total: number }>(sim, 'GET', `/images/?board_id=${board.board_id}&is_intermediate=false&limit=10`);
    expect(filtered.json.total).toBe(100_000);
    const dto = await api<{ image_count: number }>(sim, 'GET', `/boards/${board.board_id}`);
    expect(dto.json.image_count).toBe(100_000);
  });

  test('prepend runs first (priority, then item_id)', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    sim.pauseProcessor();
    const nodes: Nodes = { blank: { id: 'blank', type: 'blank_image', width: 64, height: 64, use_cache: false } };
    const a = (await enqueue(sim, nodes)).item_ids[0] ?? 0;
    const b = (await enqueue(sim, nodes)).item_ids[0] ?? 0;
    const first = await api<EnqueueResult & { priority: number }>(sim, 'POST', '/queue/default/enqueue_batch', { prepend: true, batch: { graph: { nodes }, runs: 1 } });
    expect(first.json.priority).toBe(1);
    sim.resumeProcessor();
    const p = first.json.item_ids[0] ?? 0;
    await waitTerminal(c, [a, b, p]);
    const order = c.of<StatusEvent>('queue_item_status_changed').filter((e) => e.status === 'in_progress').map((e) => e.item_id);
    expect(order).toEqual([p, a, b]);
  });

  test('image listings put starred images first, then created_at in order_dir', async () => {
    const sim = await h.start();
    const board = sim.createBoard('stars');
    const names = sim.seedImages(board.board_id, 5);
    await api(sim, 'POST', '/images/star', { image_names: [names[1]] });
    const desc = await api<{ items: ImageDTO[] }>(sim, 'GET', `/images/?board_id=${board.board_id}`);
    expect(desc.json.items.map((i) => i.image_name)).toEqual([names[1], names[4], names[3], names[2], names[0]]);
    const asc = await api<{ items: ImageDTO[] }>(sim, 'GET', `/images/?board_id=${board.board_id}&order_dir=ASC&starred_first=false&limit=2`);
    expect(asc.json.items.map((i) => i.image_name)).toEqual([names[0], names[1]]);
    const list = await api<{ image_names: string[]; starred_count: number }>(sim, 'GET', `/images/names?board_id=${board.board_id}`);
    expect(list.json).toMatchObject({ image_names: [names[1], names[4], names[3], names[2], names[0]], starred_count: 1 });
  });

  test('sampleGraph runs to one board image of the requested size', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const board = sim.createBoard('demo');
    const r = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: sampleGraph({ boardId: board.board_id, width: 512, height: 640 }), runs: 1 } });
    const id = r.json.item_ids[0] ?? 0;
    await waitTerminal(c, [id]);
    expect((await item(sim, id)).status).toBe('completed');
    const [name] = sim.store.imageNames(board.board_id);
    expect(sim.store.getImage(name ?? '')).toMatchObject({ width: 512, height: 640, is_intermediate: false });
  });
});
