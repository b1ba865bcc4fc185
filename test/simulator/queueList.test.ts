/**
 * `GET /queue/{q}/list` as 3.2–6.6 served it (docs/protocol.md §5.3): `limit` (50), `status`, `cursor`, `priority` (0),
 * ORDER BY priority DESC, item_id ASC, `limit + 1` rows for `has_more`, and the SQL whose `... AND (priority < ?) OR
 * (priority = ? AND item_id > ?)` lets a cursor page bring back rows of other queues and statuses
 * (`list_queue_items`, session_queue_sqlite.py@v5.15.0, @v6.6.0; models in session_queue_common.py at the same tags).
 */
import type { Simulator } from '../../src/simulator';
import { graph } from '../support/graphs';
import { api, Harness, waitFor } from './support';

interface Page {
  limit: number;
  has_more: boolean;
  items: Record<string, unknown>[];
}

/** `SessionQueueItemDTO` fields, in model order. */
const DTO_515 = [
  'item_id', 'status', 'priority', 'batch_id', 'origin', 'destination', 'session_id', 'error_type', 'error_message', 'error_traceback',
  'created_at', 'updated_at', 'started_at', 'completed_at', 'queue_id', 'field_values', 'retried_from_item_id',
  'is_api_validation_run', 'published_workflow_id', 'api_input_fields', 'api_output_fields', 'credits',
];
const DTO_424 = ['item_id', 'status', 'priority', 'batch_id', 'session_id', 'error_type', 'error_message', 'error_traceback', 'created_at', 'updated_at', 'started_at', 'completed_at', 'queue_id', 'field_values'];
const DTO_37 = ['item_id', 'status', 'priority', 'batch_id', 'session_id', 'error', 'created_at', 'updated_at', 'started_at', 'completed_at', 'queue_id', 'field_values'];
/** `SessionQueueItem` of 6.0–6.6. */
const ITEM_63 = [
  'item_id', 'status', 'priority', 'batch_id', 'origin', 'destination', 'session_id', 'error_type', 'error_message', 'error_traceback',
  'created_at', 'updated_at', 'started_at', 'completed_at', 'queue_id', 'field_values', 'retried_from_item_id',
  'is_api_validation_run', 'published_workflow_id', 'credits', 'session', 'workflow',
];

const batch = (runs: number, extra: Record<string, unknown> = {}): unknown => ({ batch: { graph: graph([{ id: 'n', type: 'integer', value: 1 }]), runs, ...extra } });

async function enqueue(sim: Simulator, queue: string, body: unknown): Promise<number[]> {
  const before = new Set(sim.store.listQueueItems().map((i) => i['item_id']));
  expect((await api(sim, 'POST', `/queue/${queue}/enqueue_batch`, body)).status).toBe(200);
  return sim.store
    .listQueueItems()
    .map((i) => i['item_id'] as number)
    .filter((id) => !before.has(id));
}

async function list(sim: Simulator, query: string, queue = 'default'): Promise<{ ids: number[]; page: Page }> {
  const r = await api<Page>(sim, 'GET', `/queue/${queue}/list${query}`);
  expect([query, r.status]).toEqual([query, 200]);
  return { ids: r.json.items.map((i) => i['item_id'] as number), page: r.json };
}

/**
 * Paused processor; default: a (p0), b (p0, canceled), c (p0); other: d (p0); default again: e (p1, prepended).
 * Returns [a, b, c, d, e].
 */
async function fixture(sim: Simulator, destination?: string): Promise<number[]> {
  sim.pauseProcessor();
  const [a, b, c] = await enqueue(sim, 'default', batch(3));
  const [d] = await enqueue(sim, 'other', batch(1));
  const [e] = await enqueue(sim, 'default', { ...(batch(1, destination ? { destination } : {}) as object), prepend: true });
  expect((await api(sim, 'PUT', `/queue/default/i/${b ?? 0}/cancel`)).status).toBe(200);
  return [a, b, c, d, e] as number[];
}

describe('simulator: GET /queue/{q}/list (3.2–6.6)', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('5.15: pages by priority then id; a cursor page also returns other queues and statuses; DTOs without session', async () => {
    const sim = await h.start({ profile: '5.15' });
    const [a, b, c, d, e] = await fixture(sim);
    const all = await list(sim, '');
    expect(all.page.limit).toBe(50);
    expect(all.ids).toEqual([e, a, b, c]);
    expect(all.page.has_more).toBe(false);
    for (const item of all.page.items) expect(Object.keys(item)).toEqual(DTO_515);
    expect(all.page.items[0]).toMatchObject({ priority: 1, queue_id: 'default', started_at: null, field_values: [], is_api_validation_run: false, credits: null });

    const first = await list(sim, '?limit=2');
    expect([first.ids, first.page.has_more]).toEqual([[e, a], true]);
    // The cursor is the last item's id and priority: rows of queue `other` come back through the OR's second branch.
    const second = await list(sim, `?limit=2&cursor=${a}&priority=0`);
    expect([second.ids, second.page.has_more]).toEqual([[b, c], true]);
    const third = await list(sim, `?limit=2&cursor=${c}&priority=0`);
    expect([third.ids, third.page.has_more, third.page.items[0]?.['queue_id']]).toEqual([[d], false, 'other']);
    expect((await list(sim, '?limit=2&cursor=0&priority=0', 'other')).ids).toEqual([a, b]);

    expect((await list(sim, '?status=pending')).ids).toEqual([e, a, c]);
    // The status filter is in the first branch only: the canceled b and the other queue's d pass.
    expect((await list(sim, `?status=pending&cursor=${a}&priority=0`)).ids).toEqual([b, c, d]);
    expect((await list(sim, `?cursor=${e}&priority=1`)).ids).toEqual([a, b, c]);
    expect((await list(sim, '?status=canceled')).ids).toEqual([b]);
    expect((await list(sim, '?limit=0')).page).toEqual({ limit: 0, has_more: true, items: [] });
    // A negative SQLite LIMIT is no limit; the extra row is still popped.
    expect((await list(sim, '?limit=-5')).ids).toEqual([e, a, b]);

    const bad = await api<{ detail: { type: string; loc: string[] }[] }>(sim, 'GET', '/queue/default/list?status=waiting');
    expect([bad.status, bad.json.detail[0]?.type, bad.json.detail[0]?.loc]).toEqual([422, 'literal_error', ['query', 'status']]);
    expect((await api(sim, 'GET', '/queue/default/list?cursor=x')).status).toBe(422);
    // limit -1: LIMIT 0 fetches nothing, and popping "the extra row" of an empty list raises: the plain 500.
    const broken = await fetch(`${sim.url}/api/v1/queue/default/list?limit=-1`);
    expect([broken.status, await broken.text()]).toEqual([500, 'Internal Server Error']);
  });

  test('5.15: a retried item lists retried_from_item_id as null (the query does not select it)', async () => {
    const sim = await h.start({ profile: '5.15' });
    const [, b] = await fixture(sim);
    const r = await api<{ retried_item_ids: number[] }>(sim, 'PUT', '/queue/default/retry_items_by_id', [b]);
    expect(r.json.retried_item_ids).toEqual([b]);
    const retry = Math.max(...sim.store.listQueueItems().map((i) => i['item_id'] as number));
    expect((await api<Record<string, unknown>>(sim, 'GET', `/queue/default/i/${retry}`)).json['retried_from_item_id']).toBe(b);
    const listed = (await list(sim, '')).page.items.find((i) => i['item_id'] === retry);
    expect(listed).toMatchObject({ retried_from_item_id: null });
  });

  test('6.3: whole items with their session, a destination filter, the same cursor quirk; errors wrapped in a JSON 500', async () => {
    const sim = await h.start({ profile: '6.3' });
    const [a, b, c, d, e] = await fixture(sim, 'canvas');
    const all = await list(sim, '');
    expect(all.ids).toEqual([e, a, b, c]);
    for (const item of all.page.items) expect(Object.keys(item)).toEqual(ITEM_63);
    const session = all.page.items[0]?.['session'] as Record<string, unknown>;
    expect(Object.keys(session)).toEqual(['id', 'graph', 'execution_graph', 'executed', 'executed_history', 'results', 'errors', 'prepared_source_mapping', 'source_prepared_mapping']);
    expect(all.page.items[1]).toMatchObject({ workflow: null, origin: null, destination: null, error_type: null });
    expect((await list(sim, '?destination=canvas')).ids).toEqual([e]);
    expect((await list(sim, `?destination=canvas&cursor=${a}&priority=0`)).ids).toEqual([b, c, d]);
    const broken = await api(sim, 'GET', '/queue/default/list?limit=-1');
    expect(broken).toMatchObject({ status: 500, json: { detail: 'Unexpected error while listing all items: pop from empty list' } });
  });

  test.each([
    ['4.2.4', DTO_424],
    ['4.2.3', DTO_37],
    ['3.7', DTO_37],
  ])('%s: the DTO of that generation', async (profile, keys) => {
    const sim = await h.start({ profile });
    const [a, b, c, , e] = await fixture(sim);
    const all = await list(sim, '');
    expect(all.ids).toEqual([e, a, b, c]);
    for (const item of all.page.items) expect(Object.keys(item)).toEqual(keys);
    expect(all.page.items[2]?.[keys.includes('error') ? 'error' : 'error_type']).toBeNull();
  });

  test('a failed item lists its error fields (5.15) or its one error text (3.7)', async () => {
    for (const [profile, field] of [
      ['5.15', 'error_type'],
      ['3.7', 'error'],
    ] as const) {
      const sim = await h.start({ profile });
      sim.faults.failNode({ nodeType: 'integer', errorType: 'ValueError', errorMessage: 'no' });
      const [id] = await enqueue(sim, 'default', batch(1));
      await waitFor(() => sim.store.getQueueItem(id ?? 0)?.['status'] === 'failed', 'failed');
      const [item] = (await list(sim, '')).page.items;
      expect([profile, typeof item?.[field]]).toEqual([profile, 'string']);
      expect(String(item?.[field])).toContain(field === 'error' ? 'Traceback' : 'ValueError');
    }
  });
});
