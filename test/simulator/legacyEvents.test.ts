/**
 * How a run ends, event by event, where the generations differ: up to 4.2.3 the queue follows session events
 * (session_queue_sqlite.py@v4.2.3 `_on_session_event`, events_base.py@v4.2.3), so `invocation_error` comes before
 * `failed` and `graph_execution_state_complete` before `completed`; up to 5.15 a failure after a cancel still fails the
 * item (`fail_queue_item` checks nothing); from 6.0 a finished item never moves (docs/protocol.md §2.1, §8.5, §8.6).
 */
import type { Simulator } from '../../src/simulator';
import { graph } from '../support/graphs';
import { api, Harness, waitFor, type Client } from './support';

const LIFECYCLE = new Set(['invocation_error', 'queue_item_status_changed', 'graph_execution_state_complete', 'session_canceled']);

/** The item's lifecycle events as `event[:status]`, whatever the generation's field names. */
function lifecycle(c: Client, id: number): string[] {
  return c.events
    .filter((e) => LIFECYCLE.has(e.event))
    .map((e) => ({ event: e.event, p: (e.payload['queue_item'] ?? e.payload) as Record<string, unknown> }))
    .filter(({ p }) => (p['item_id'] ?? p['queue_item_id']) === id)
    .map(({ event, p }) => (event === 'queue_item_status_changed' ? `status:${String(p['status'])}` : event));
}

const single = (id: string): unknown => ({ batch: { graph: graph([{ id, type: 'integer', value: 1, use_cache: false }]), runs: 1 } });

async function enqueue(sim: Simulator, body: unknown): Promise<number> {
  const before = new Set(sim.store.listQueueItems().map((i) => i['item_id']));
  expect((await api(sim, 'POST', '/queue/default/enqueue_batch', body)).status).toBe(200);
  return sim.store.listQueueItems().find((i) => !before.has(i['item_id']))?.['item_id'] as number;
}

describe('simulator: the end of a run, per generation', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test.each([
    ['4.2.3', ['status:in_progress', 'graph_execution_state_complete', 'status:completed'], ['status:in_progress', 'invocation_error', 'graph_execution_state_complete', 'status:failed']],
    ['3.7', ['status:in_progress', 'graph_execution_state_complete', 'status:completed'], ['status:in_progress', 'invocation_error', 'graph_execution_state_complete', 'status:failed']],
    ['4.2.4', ['status:in_progress', 'status:completed'], ['status:in_progress', 'status:failed', 'invocation_error']],
    ['head', ['status:in_progress', 'status:completed'], ['status:in_progress', 'status:failed', 'invocation_error']],
  ])('%s: a completed and a failed run', async (profile, done, failed) => {
    const sim = await h.start({ profile });
    const c = await h.connect(sim);
    sim.faults.failNode({ sourceId: 'bad' });
    const ok = await enqueue(sim, single('good'));
    const bad = await enqueue(sim, single('bad'));
    await waitFor(() => lifecycle(c, ok).length === done.length && lifecycle(c, bad).length === failed.length, 'both runs ended');
    expect(lifecycle(c, ok)).toEqual(done);
    expect(lifecycle(c, bad)).toEqual(failed);
  });

  test.each([
    // 4.x ends the canceled session with graph_execution_state_complete too; 3.x does not.
    ['4.2.3', ['status:in_progress', 'status:canceled', 'session_canceled', 'graph_execution_state_complete']],
    ['3.7', ['status:in_progress', 'status:canceled', 'session_canceled']],
    ['5.15', ['status:in_progress', 'status:canceled']],
  ])('%s: a cancel mid-run', async (profile, expected) => {
    const sim = await h.start({ profile, nodeDelayMs: 200 });
    const c = await h.connect(sim);
    const id = await enqueue(sim, single('slow'));
    await waitFor(() => sim.store.getQueueItem(id)?.['status'] === 'in_progress', 'running');
    expect((await api(sim, 'PUT', `/queue/default/i/${id}/cancel`)).status).toBe(200);
    const next = await enqueue(sim, single('after'));
    await waitFor(() => sim.store.getQueueItem(next)?.['status'] === 'completed', 'the next item');
    await waitFor(() => lifecycle(c, next).includes('status:completed'), 'its event');
    expect(lifecycle(c, id)).toEqual(expected);
  });

  test.each([
    ['5.15', 'failed', ['status:in_progress', 'status:canceled', 'status:failed', 'invocation_error']],
    ['head', 'canceled', ['status:in_progress', 'status:canceled', 'invocation_error']],
  ])('%s: a node that fails after the cancel leaves the item %s', async (profile, final, expected) => {
    const sim = await h.start({ profile, nodeDelayMs: 200 });
    const c = await h.connect(sim);
    sim.faults.failNode({ sourceId: 'slow' });
    const id = await enqueue(sim, single('slow'));
    await waitFor(() => sim.store.getQueueItem(id)?.['status'] === 'in_progress', 'running');
    expect((await api(sim, 'PUT', `/queue/default/i/${id}/cancel`)).status).toBe(200);
    await waitFor(() => lifecycle(c, id).includes('invocation_error'), 'the error');
    expect(sim.store.getQueueItem(id)?.['status']).toBe(final);
    expect(lifecycle(c, id)).toEqual(expected);
  });
});
