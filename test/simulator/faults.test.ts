/**
 * Fault switches, listener outages and server generations (profiles).
 */
import type { Simulator } from '../../src/simulator';
import {
  api,
  Harness,
  resultImageNames,
  sleep,
  waitFor,
  waitTerminal,
  type EnqueueResult,
  type InvocationEvent,
  type QueueItem,
  type StatusEvent,
} from './support';

const twoNodes = {
  nodes: {
    blank: { id: 'blank', type: 'blank_image', width: 64, height: 64, use_cache: false },
    save: { id: 'save', type: 'save_image' },
  },
  edges: [{ source: { node_id: 'blank', field: 'image' }, destination: { node_id: 'save', field: 'image' } }],
};

async function run(sim: Simulator, graph: unknown = twoNodes): Promise<number> {
  const r = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph, runs: 1 } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.json));
  return r.json.item_ids[0] ?? 0;
}

describe('simulator faults', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('duplicate delivers a matching emit twice, count-limited', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    sim.faults.add({ event: 'invocation_complete', action: 'duplicate', count: 1 });
    const id = await run(sim);
    await waitTerminal(c, [id]);
    const completes = c.of<InvocationEvent>('invocation_complete');
    expect(completes).toHaveLength(3);
    expect(completes[0]).toEqual(completes[1]);
    expect(completes[2]?.invocation_source_id).toBe('save');
  });

  test('drop loses the emit; the HTTP state is still right', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const remove = sim.faults.add({ event: 'queue_item_status_changed', action: 'drop', when: (p) => p['status'] === 'completed' });
    const id = await run(sim);
    await waitFor(() => c.of<InvocationEvent>('invocation_complete').length === 2, 'completes');
    await sleep(30);
    expect(c.of<StatusEvent>('queue_item_status_changed').map((e) => e.status)).toEqual(['in_progress']);
    expect((await api<QueueItem>(sim, 'GET', `/queue/default/i/${id}`)).json.status).toBe('completed');
    remove();
    const next = await run(sim);
    await waitTerminal(c, [next]);
  });

  test('delay holds an emit for delayMs (it arrives after later events)', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    sim.faults.add({ event: 'invocation_complete', action: 'delay', delayMs: 80, when: (p) => p['invocation_source_id'] === 'save' });
    const id = await run(sim);
    await waitFor(() => c.of('invocation_complete').length === 2, 'delayed complete', 3000);
    const names = c.events.map((e) => e.event);
    expect(names.lastIndexOf('invocation_complete')).toBeGreaterThan(names.lastIndexOf('queue_item_status_changed'));
    const terminal = c.events.find((e) => e.event === 'queue_item_status_changed' && e.payload['status'] === 'completed');
    const late = c.events.filter((e) => e.event === 'invocation_complete')[1];
    expect((late?.at ?? 0) - (terminal?.at ?? 0)).toBeGreaterThanOrEqual(40);
    expect((await api<QueueItem>(sim, 'GET', `/queue/default/i/${id}`)).json.status).toBe('completed');
  });

  test('reorder releases the held emit right after the next one', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    sim.faults.add({ event: 'invocation_started', action: 'reorder', count: 1 });
    const id = await run(sim);
    await waitTerminal(c, [id]);
    const seq = c.events.map((e) => `${e.event}:${(e.payload['invocation_source_id'] as string | undefined) ?? (e.payload['status'] as string | undefined) ?? ''}`);
    expect(seq).toEqual([
      'batch_enqueued:',
      'queue_item_status_changed:in_progress',
      'invocation_complete:blank',
      'invocation_started:blank',
      'invocation_started:save',
      'invocation_complete:save',
      'queue_item_status_changed:completed',
    ]);
  });

  test('failNode can target a source node id', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const remove = sim.faults.failNode({ sourceId: 'blank', errorType: 'OutOfMemoryError', errorMessage: 'CUDA out of memory' });
    const id = await run(sim);
    await waitTerminal(c, [id]);
    expect(c.of<InvocationEvent>('invocation_error')[0]).toMatchObject({ invocation_source_id: 'blank', error_type: 'OutOfMemoryError' });
    remove();
    const next = await run(sim);
    await waitTerminal(c, [next]);
    expect((await api<QueueItem>(sim, 'GET', `/queue/default/i/${next}`)).json.status).toBe('completed');
  });

  test('disconnectSockets is a server-initiated disconnect (no auto-retry)', async () => {
    const sim = await h.start();
    const c = await h.connect(sim, { reconnection: true });
    const reason = new Promise<string>((resolve) => c.socket.once('disconnect', (r) => resolve(r)));
    sim.disconnectSockets();
    expect(await reason).toBe('io server disconnect');
    expect(c.socket.active).toBe(false);
  });

  test('stopListener/startListener: same port, state kept, in_progress item canceled silently', async () => {
    const sim = await h.start({ nodeDelayMs: 50 });
    const port = sim.port;
    const c = await h.connect(sim, { reconnection: true });
    const board = sim.createBoard('survives');
    const id = await run(sim, {
      nodes: {
        blank: { id: 'blank', type: 'blank_image', width: 64, height: 64, board: { board_id: board.board_id } },
        blur: { id: 'blur', type: 'img_blur' },
        save: { id: 'save', type: 'save_image' },
      },
      edges: [
        { source: { node_id: 'blank', field: 'image' }, destination: { node_id: 'blur', field: 'image' } },
        { source: { node_id: 'blur', field: 'image' }, destination: { node_id: 'save', field: 'image' } },
      ],
    });
    await waitFor(() => c.of('invocation_complete').length === 1, 'first node done');
    const disconnected = new Promise<string>((resolve) => c.socket.once('disconnect', (r) => resolve(r)));
    await sim.stopListener();
    expect(await disconnected).toBe('transport close');
    await expect(fetch(`${sim.url}/api/v1/app/version`)).rejects.toThrow();
    expect(sim.store.getQueueItem(id)?.['status']).toBe('in_progress');
    const eventsBefore = c.events.length;

    const reconnected = new Promise<void>((resolve) => c.socket.io.once('reconnect', () => resolve()));
    await sim.startListener();
    expect(sim.port).toBe(port);
    await reconnected;
    await waitFor(() => sim.store.getQueueItem(id)?.['status'] === 'canceled', 'startup cancel');
    const q = (await api<QueueItem>(sim, 'GET', `/queue/default/i/${id}`)).json;
    expect(q.status).toBe('canceled');
    // Nothing was written back: the server died mid-run (docs/protocol.md §7).
    expect(q.session.results).toEqual({});
    // Images saved before the outage still exist, with that session id.
    expect(sim.store.imageNames(board.board_id)).toHaveLength(1);
    expect(sim.store.getImage(sim.store.imageNames(board.board_id)[0] ?? '')?.session_id).toBe(q.session_id);
    await sleep(30);
    expect(c.events.slice(eventsBefore).filter((e) => e.event === 'queue_item_status_changed')).toHaveLength(0);
    const next = await run(sim);
    await waitTerminal(c, [next]);
  });
});

describe('simulator rooms and profiles', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('head: own events flow without subscribe_queue; a malformed subscribe gets no ACK', async () => {
    const sim = await h.start();
    const c = await h.connect(sim, { subscribe: false });
    await expect(c.socket.timeout(100).emitWithAck('subscribe_queue', { queue: 'default' })).rejects.toThrow();
    const id = await run(sim);
    await waitTerminal(c, [id]);
    expect(c.of('invocation_complete')).toHaveLength(2);
    expect((await api<{ version: string }>(sim, 'GET', '/app/version')).json.version).toBe('6.14.0-alpha');
  });

  test("legacy-no-names: invocation_complete carries no image names, session.results still does", async () => {
    const sim = await h.start({ profile: 'legacy-no-names' });
    const c = await h.connect(sim);
    const id = await run(sim);
    await waitTerminal(c, [id]);
    const completes = c.of<InvocationEvent>('invocation_complete');
    for (const e of completes) {
      expect(resultImageNames(e.result)).toEqual([]);
      expect(e.result).toMatchObject({ type: 'image_output', width: 64, height: 64 });
    }
    const q = (await api<QueueItem>(sim, 'GET', `/queue/default/i/${id}`)).json;
    const names = Object.values(q.session.results).flatMap((r) => resultImageNames(r));
    expect(names).toHaveLength(2);
    expect(sim.store.imageCount).toBe(2);
  });

  test('6.13: nothing before subscribe_queue, then every started/complete/status/batch event twice', async () => {
    const sim = await h.start({ profile: '6.13', progressSteps: 2 });
    expect((await api<{ version: string }>(sim, 'GET', '/app/version')).json.version).toBe('6.13.8');
    const silent = await h.connect(sim, { subscribe: false });
    const c = await h.connect(sim);
    const id = await run(sim);
    await waitTerminal(c, [id]);
    await sleep(20);
    expect(silent.events).toHaveLength(0);
    expect(c.of('batch_enqueued')).toHaveLength(2);
    expect(c.of('invocation_started')).toHaveLength(4);
    expect(c.of('invocation_complete')).toHaveLength(4);
    const statuses = c.of<StatusEvent>('queue_item_status_changed');
    expect(statuses.map((s) => [s.status, s.status_sequence])).toEqual([
      ['in_progress', 1],
      ['in_progress', 1],
      ['completed', 2],
      ['completed', 2],
    ]);
    const q = (await api<QueueItem>(sim, 'GET', `/queue/default/i/${id}`)).json;
    expect(q.session).not.toHaveProperty('prepared_iteration_paths');
    expect(q).toHaveProperty('status_sequence', 2);
  });

  test('6.13: progress arrives twice, the admin copy without image; no device field', async () => {
    const sim = await h.start({ profile: '6.13', progressSteps: 1 });
    const c = await h.connect(sim);
    const id = await run(sim, {
      nodes: {
        noise: { id: 'noise', type: 'noise', width: 64, height: 64 },
        den: { id: 'den', type: 'flux_denoise', width: 64, height: 64, transformer: { transformer: { key: 'k', hash: 'h', name: 'n', base: 'flux', type: 'main' }, loras: [] } },
      },
      edges: [{ source: { node_id: 'noise', field: 'noise' }, destination: { node_id: 'den', field: 'latents' } }],
    });
    await waitTerminal(c, [id]);
    const progress = c.of<{ image: unknown; device?: unknown }>('invocation_progress');
    expect(progress).toHaveLength(2);
    expect(progress[0]?.image).not.toBeNull();
    expect(progress[1]?.image).toBeNull();
    expect(progress[0]).not.toHaveProperty('device');
  });
});
