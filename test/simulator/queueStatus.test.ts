/**
 * `GET /queue/{q}/status` → `{queue: SessionQueueStatus, processor: SessionProcessorStatus}` and `BatchStatus`, per
 * generation (session_queue_common.py at 3.7.0, v5.15.0, v6.13.8, v6.14.0-rc1; session_queue_sqlite.py@HEAD).
 */
import type { Simulator } from '../../src/simulator';
import { DEFAULT_ADMIN, PROFILES } from '../../src/simulator';
import { graph } from '../support/graphs';
import { api, Harness, waitFor } from './support';

const Q_OLD = ['queue_id', 'item_id', 'batch_id', 'session_id', 'pending', 'in_progress', 'completed', 'failed', 'canceled', 'total'];
const Q_613 = [...Q_OLD, 'user_pending', 'user_in_progress'];
const Q_HEAD = ['queue_id', 'item_id', 'batch_id', 'session_id', 'pending', 'in_progress', 'waiting', 'completed', 'failed', 'canceled', 'total', 'user_pending', 'user_in_progress'];
const B_OLD = ['queue_id', 'batch_id', 'pending', 'in_progress', 'completed', 'failed', 'canceled', 'total'];
const B_5 = ['queue_id', 'batch_id', 'origin', 'destination', 'pending', 'in_progress', 'completed', 'failed', 'canceled', 'total'];
const B_HEAD = ['queue_id', 'batch_id', 'origin', 'destination', 'pending', 'in_progress', 'waiting', 'completed', 'failed', 'canceled', 'total'];

/** [queue keys, batch keys, the single-user admin's user_pending] by profile. */
const SHAPES: Record<string, [string[], string[], number | null | undefined]> = {
  '3.7': [Q_OLD, B_OLD, undefined],
  '4.2.3': [Q_OLD, B_OLD, undefined],
  '4.2.4': [Q_OLD, B_OLD, undefined],
  '5.15': [Q_OLD, B_5, undefined],
  '6.3': [Q_OLD, B_5, undefined],
  '6.8': [Q_OLD, B_5, undefined],
  // 6.13.5–6.13.8 count only a non-admin's own items; the single-user caller is an admin.
  '6.13': [Q_613, B_5, null],
  head: [Q_HEAD, B_HEAD, 1],
  'legacy-no-names': [Q_HEAD, B_HEAD, 1],
};

interface Status {
  queue: Record<string, unknown>;
  processor: { is_started: boolean; is_processing: boolean };
}

const body = (id: string, runs = 1): unknown => ({ batch: { graph: graph([{ id, type: 'integer', value: 1, use_cache: false }]), runs, origin: 'status-test' } });

async function enqueue(sim: Simulator, id: string, runs = 1, queue = 'default'): Promise<number[]> {
  const before = new Set(sim.store.listQueueItems().map((i) => i['item_id']));
  expect((await api(sim, 'POST', `/queue/${queue}/enqueue_batch`, body(id, runs))).status).toBe(200);
  return sim.store
    .listQueueItems()
    .map((i) => i['item_id'] as number)
    .filter((n) => !before.has(n));
}

const statusOf = (sim: Simulator, id: number): unknown => sim.store.getQueueItem(id)?.['status'];

describe('simulator: queue and batch status', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('every profile has a shape here', () => {
    expect(Object.keys(SHAPES).sort()).toEqual(Object.keys(PROFILES).sort());
  });

  test.each(Object.entries(SHAPES))('%s: counts per status, the current item, the generation’s fields', async (profile, [qKeys, bKeys, ownPending]) => {
    const sim = await h.start({ profile, nodeDelayMs: 500 });
    sim.faults.failNode({ sourceId: 'bad' });
    const [done] = await enqueue(sim, 'ok');
    const [failed] = await enqueue(sim, 'bad');
    await waitFor(() => statusOf(sim, done ?? 0) === 'completed' && statusOf(sim, failed ?? 0) === 'failed', 'completed and failed', 8000);
    sim.pauseProcessor();
    const [running, canceled] = await enqueue(sim, 'pair', 2);
    expect((await api(sim, 'PUT', `/queue/default/i/${canceled ?? 0}/cancel`)).status).toBe(200);
    await enqueue(sim, 'elsewhere', 1, 'other');
    sim.resumeProcessor();
    await waitFor(() => statusOf(sim, running ?? 0) === 'in_progress', 'running');
    await enqueue(sim, 'later');

    const r = await api<Status>(sim, 'GET', '/queue/default/status');
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(['queue', 'processor']);
    expect(r.json.processor).toEqual({ is_started: true, is_processing: true });
    expect(Object.keys(r.json.queue)).toEqual(qKeys);
    const cur = sim.store.getQueueItem(running ?? 0);
    expect(r.json.queue).toMatchObject({
      queue_id: 'default',
      item_id: running,
      batch_id: cur?.['batch_id'],
      session_id: cur?.['session_id'],
      pending: 1,
      in_progress: 1,
      completed: 1,
      failed: 1,
      canceled: 1,
      total: 5,
    });
    if (qKeys.includes('waiting')) expect(r.json.queue['waiting']).toBe(0);
    if (ownPending !== undefined) expect([r.json.queue['user_pending'], r.json.queue['user_in_progress']]).toEqual(ownPending === null ? [null, null] : [1, 1]);

    const b = await api<Record<string, unknown>>(sim, 'GET', `/queue/default/b/${cur?.['batch_id'] as string}/status`);
    expect(Object.keys(b.json)).toEqual(bKeys);
    expect(b.json).toMatchObject({ in_progress: 1, canceled: 1, pending: 0, completed: 0, failed: 0, total: 2 });
    if (bKeys.includes('origin')) expect(b.json['origin']).toBe('status-test');
    const other = await api<Status>(sim, 'GET', '/queue/other/status');
    expect(other.json.queue).toMatchObject({ item_id: null, pending: 1, total: 1 });
  });

  test('head, multi-user: global counts for everyone, own counts and only an own current item for non-admins', async () => {
    const alice = { email: 'alice@example.com', password: 'alice-secret-pw' };
    const bob = { email: 'bob@example.com', password: 'bob-secret-pw' };
    const sim = await h.start({ multiuser: true, users: [alice, bob], nodeDelayMs: 300 });
    const login = async (who: { email: string; password: string }): Promise<string> =>
      ((await (await fetch(`${sim.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who) })).json()) as { token: string }).token;
    const [a, b, admin] = [await login(alice), await login(bob), await login(DEFAULT_ADMIN)];
    const get = async (token: string): Promise<Record<string, unknown>> =>
      ((await (await fetch(`${sim.url}/api/v1/queue/default/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as Status).queue;
    const res = await fetch(`${sim.url}/api/v1/queue/default/enqueue_batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a}`, 'content-type': 'application/json' },
      body: JSON.stringify(body('mine', 2)),
    });
    const ids = ((await res.json()) as { item_ids: number[] }).item_ids;
    const first = Math.min(...ids);
    await waitFor(() => statusOf(sim, first) === 'in_progress', 'alice running');
    expect(await get(a)).toMatchObject({ item_id: first, pending: 1, in_progress: 1, total: 2, user_pending: 1, user_in_progress: 1 });
    expect(await get(b)).toMatchObject({ item_id: null, batch_id: null, session_id: null, pending: 1, in_progress: 1, total: 2, user_pending: 0, user_in_progress: 0 });
    expect(await get(admin)).toMatchObject({ item_id: first, total: 2, user_pending: 0, user_in_progress: 0 });
  });
});
