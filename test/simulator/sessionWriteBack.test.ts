/**
 * When the queue item's session is written (docs/protocol.md §5.2, §7, §8.5): never while the item is pending or
 * running (GET returns the enqueue-time session), once when the run ends — also when it ends by a cancel, after the
 * node that was running finished (session_processor_default.py `_on_after_run_session` at v4.2.4, v5.15.0, HEAD).
 * 3.x–4.2.3 never write it; 3.x serves the live session at `/sessions/{id}` instead, from memory.
 */
import type { Simulator } from '../../src/simulator';
import { PROFILES } from '../../src/simulator';
import { graph } from '../support/graphs';
import { api, Harness, waitFor, type Client, type EnqueueResult, type Session } from './support';

/** blank → blur → save, each node `nodeDelayMs` long and none of them stops at a cancel. */
const chain = (): unknown => ({
  batch: {
    graph: graph(
      [
        { id: 'a', type: 'blank_image', width: 32, height: 32, use_cache: false },
        { id: 'b', type: 'img_blur', use_cache: false },
        { id: 'c', type: 'save_image' },
      ],
      [
        ['a', 'image', 'b', 'image'],
        ['b', 'image', 'c', 'image'],
      ],
    ),
    runs: 1,
  },
});

/** The source node of an invocation event, in either generation's field names. */
const sourceOf = (p: Record<string, unknown>): unknown => p['invocation_source_id'] ?? p['source_node_id'];
/** Distinct executions (6.13 delivers every event twice). */
const events = (c: Client, name: string, source: string): number =>
  new Set(c.of(name).filter((p) => sourceOf(p) === source).map((p) => ((p['invocation'] ?? p['node']) as { id: string }).id)).size;

async function session(sim: Simulator, id: number): Promise<{ status: string; session: Session }> {
  const r = await api<{ status: string; session: Session }>(sim, 'GET', `/queue/default/i/${id}`);
  expect(r.status).toBe(200);
  return r.json;
}

function expectEnqueueTime(s: Session, what: string): void {
  expect([what, s.results, s.execution_graph.nodes, s.execution_graph.edges, s.executed, s.errors, s.prepared_source_mapping]).toEqual([what, {}, {}, [], [], {}, {}]);
}

describe('simulator: the session a finished or canceled run writes', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test.each(Object.keys(PROFILES))('%s: enqueue-time session while running and right after a cancel; the run’s session once the node finished', async (profile) => {
    const sim = await h.start({ profile, nodeDelayMs: 300 });
    const c = await h.connect(sim);
    const imagesBefore = sim.store.imageCount;
    expect((await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', chain())).status).toBe(200);
    const id = sim.store.listQueueItems()[0]?.['item_id'] as number;
    await waitFor(() => events(c, 'invocation_started', 'b') === 1, 'b running');
    const running = await session(sim, id);
    expect(running.status).toBe('in_progress');
    expectEnqueueTime(running.session, 'running');

    expect((await api<{ status: string }>(sim, 'PUT', `/queue/default/i/${id}/cancel`)).json.status).toBe('canceled');
    expectEnqueueTime((await session(sim, id)).session, 'right after the cancel');

    // The run is over when the processor is idle again.
    await waitFor(() => sim.store.imageCount === imagesBefore + 2, 'b saved its image');
    await waitFor(() => sim.store.getQueueItem(id)?.['status'] === 'canceled' && !sim.store.listQueueItems().some((i) => i['status'] === 'in_progress'), 'canceled');
    const idle = async (): Promise<boolean> => !(await api<{ processor: { is_processing: boolean } }>(sim, 'GET', '/queue/default/status')).json.processor.is_processing;
    for (let t = Date.now(); !(await idle()); ) if (Date.now() - t > 3000) throw new Error('processor still busy');
    const after = await session(sim, id);
    expect(after.status).toBe('canceled');
    expect(events(c, 'invocation_started', 'c')).toBe(0);
    const p = sim.profile;
    // 3.x drops a node that ends after the cancel: no result, no event, though its image was saved.
    expect(events(c, 'invocation_complete', 'b')).toBe(p.cancelDropsLateOutput ? 0 : 1);
    if (!p.sessionResults) {
      expectEnqueueTime(after.session, 'never written');
      return;
    }
    const s = after.session;
    const sources = ['a', 'b'];
    expect(Object.values(s.prepared_source_mapping).sort()).toEqual(sources);
    expect(Object.keys(s.source_prepared_mapping).sort()).toEqual(sources);
    const prepared = sources.map((src) => s.source_prepared_mapping[src]?.[0] ?? '');
    expect(Object.keys(s.results).sort()).toEqual([...prepared].sort());
    expect(Object.keys(s.execution_graph.nodes).sort()).toEqual([...prepared].sort());
    expect(s.executed).toEqual([prepared[0], 'a', prepared[1], 'b']);
    expect(s.errors).toEqual({});
    const blurred = (s.results[prepared[1] ?? '']?.['image'] as { image_name: string }).image_name;
    expect(sim.store.getImage(blurred)?.session_id).toBe(s.id);
  });

  test('3.7: GET /sessions/{id} serves the running session from memory: live results, a 500 once it is not kept', async () => {
    const sim = await h.start({ profile: '3.7', nodeDelayMs: 200 });
    const c = await h.connect(sim);
    const pending = await fetch(`${sim.url}/api/v1/sessions/nope`);
    expect([pending.status, await pending.text()]).toEqual([500, 'Internal Server Error']);
    await api(sim, 'POST', '/queue/default/enqueue_batch', chain());
    const item = sim.store.listQueueItems()[0] ?? {};
    const sessionId = item['session_id'] as string;
    await waitFor(() => events(c, 'invocation_started', 'b') === 1, 'b running');
    const live = await api<Session>(sim, 'GET', `/sessions/${sessionId}`);
    expect(Object.values(live.json.prepared_source_mapping).sort()).toEqual(['a', 'b']);
    expect(Object.keys(live.json.results)).toHaveLength(1);
    await waitFor(() => sim.store.getQueueItem(item['item_id'] as number)?.['status'] === 'completed', 'completed');
    expect(Object.keys((await api<Session>(sim, 'GET', `/sessions/${sessionId}`)).json.results)).toHaveLength(3);
    // Ten more sessions push it out of the server's memory.
    for (let i = 0; i < 10; i++) await api(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: graph([{ id: 'n', type: 'integer', value: i }]), runs: 1 } });
    await waitFor(() => sim.store.listQueueItems().every((q) => q['status'] === 'completed'), 'all completed', 10000);
    expect((await fetch(`${sim.url}/api/v1/sessions/${sessionId}`)).status).toBe(500);
  });
});
