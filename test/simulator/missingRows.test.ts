/**
 * What each server generation answers for a queue item that is not there (unknown, pruned, cleared, deleted), for an item
 * of another queue, and for a route it does not have (docs/protocol.md §5.2, §5.3, §5.5). Expectations are read from
 * `routers/session_queue.py` and `session_queue_sqlite.py` at v5.15.0, v6.0.0, v6.7.0, v6.12.0, v6.14.0-rc1, and from
 * Starlette's `ServerErrorMiddleware` and `StaticFiles` (InvokeAI mounts its web UI at `/`).
 */
import type { Simulator } from '../../src/simulator';
import { graph } from '../support/graphs';
import { api, Harness, waitFor, type Client, type EnqueueResult, type ImageDTO } from './support';

interface Raw {
  status: number;
  type: string | null;
  body: string;
}

async function raw(sim: Simulator, method: string, route: string, body?: unknown): Promise<Raw> {
  const res = await fetch(`${sim.url}/api/v1${route}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** Starlette's answer to an exception nothing caught. */
const FAULT: Raw = { status: 500, type: 'text/plain; charset=utf-8', body: 'Internal Server Error' };
const json = (status: number, value: unknown): Raw => ({ status, type: 'application/json', body: JSON.stringify(value) });
const notFound = (id: number, queue = 'default'): Raw => json(404, { detail: `Queue item with id ${id} not found in queue ${queue}` });
const METHOD_NOT_ALLOWED = json(405, { detail: 'Method Not Allowed' });

/** Status events of one item, flat (4.2.4+) or nested in `queue_item` (3.3–4.2.3). */
function statusEvents(c: Client, id: number): string[] {
  return c
    .of<Record<string, unknown>>('queue_item_status_changed')
    .map((e) => (e['queue_item'] ?? e) as { item_id: number; status: string })
    .filter((e) => e.item_id === id)
    .map((e) => e.status);
}

const one = (): unknown => ({ batch: { graph: graph([{ id: 'n', type: 'integer', value: 1, use_cache: false }]), runs: 1 } });

/** Enqueues one small item and waits until it is completed (older generations nest their status events: read the store). */
async function runOne(sim: Simulator, queue = 'default'): Promise<number> {
  const before = new Set(sim.store.listQueueItems().map((i) => i['item_id']));
  expect((await api<EnqueueResult>(sim, 'POST', `/queue/${queue}/enqueue_batch`, one())).status).toBe(200);
  const id = sim.store.listQueueItems().find((i) => !before.has(i['item_id']))?.['item_id'] as number;
  await waitFor(() => sim.store.getQueueItem(id)?.['status'] === 'completed', `item ${id} completed`);
  return id;
}

type Row = [profile: string, missing: 'fault' | '404', deleteMissing: 'no route' | 'null' | '404', otherRead: 'item' | 'quoted 404', otherWrite: 'acts' | '404'];
const ROWS: Row[] = [
  ['3.7', 'fault', 'no route', 'item', 'acts'],
  ['4.2.3', 'fault', 'no route', 'item', 'acts'],
  ['4.2.4', 'fault', 'no route', 'item', 'acts'],
  ['5.15', 'fault', 'no route', 'item', 'acts'],
  ['6.3', '404', 'null', 'item', 'acts'],
  ['6.8', '404', 'null', 'quoted 404', 'acts'],
  ['6.13', '404', '404', 'quoted 404', 'acts'],
  ['head', '404', '404', 'quoted 404', '404'],
  // HEAD but for the image names in events: HEAD's routes.
  ['legacy-no-names', '404', '404', 'quoted 404', '404'],
];

describe('simulator: missing rows and missing routes per generation', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test.each(ROWS)('%s: missing item %s, delete of a missing one %s, other queue read: %s, written: %s', async (profile, missing, deleteMissing, otherRead, otherWrite) => {
    const sim = await h.start({ profile });
    const gone = (id: number): Raw => (missing === 'fault' ? FAULT : notFound(id));
    expect(await raw(sim, 'GET', '/queue/default/i/999')).toEqual(gone(999));
    expect(await raw(sim, 'PUT', '/queue/default/i/999/cancel')).toEqual(gone(999));
    expect(await raw(sim, 'DELETE', '/queue/default/i/999')).toEqual(
      deleteMissing === 'no route' ? METHOD_NOT_ALLOWED : deleteMissing === 'null' ? json(200, null) : notFound(999),
    );

    // Pruned and cleared rows are as gone as unknown ones.
    const pruned = await runOne(sim);
    expect((await raw(sim, 'GET', `/queue/default/i/${pruned}`)).status).toBe(200);
    expect((await api(sim, 'PUT', '/queue/default/prune')).status).toBe(200);
    expect(await raw(sim, 'GET', `/queue/default/i/${pruned}`)).toEqual(gone(pruned));
    const cleared = await runOne(sim);
    expect((await api(sim, 'PUT', '/queue/default/clear')).status).toBe(200);
    expect(await raw(sim, 'GET', `/queue/default/i/${cleared}`)).toEqual(gone(cleared));
    expect(await raw(sim, 'PUT', `/queue/default/i/${cleared}/cancel`)).toEqual(gone(cleared));

    const elsewhere = await runOne(sim, 'other');
    const read = await raw(sim, 'GET', `/queue/default/i/${elsewhere}`);
    if (otherRead === 'item') expect([read.status, (JSON.parse(read.body) as { queue_id: string }).queue_id]).toEqual([200, 'other']);
    else expect(read).toEqual(json(500, { detail: `Unexpected error while fetching queue item: 404: Queue item with id ${elsewhere} not found in queue default` }));
    const cancel = await raw(sim, 'PUT', `/queue/default/i/${elsewhere}/cancel`);
    if (otherWrite === '404') expect(cancel).toEqual(notFound(elsewhere));
    else expect(cancel.status).toBe(200);
    if (deleteMissing !== 'no route') {
      const del = await raw(sim, 'DELETE', `/queue/default/i/${elsewhere}`);
      expect(del).toEqual(otherWrite === '404' ? notFound(elsewhere) : json(200, null));
      expect(sim.store.getQueueItem(elsewhere) === undefined).toBe(otherWrite === 'acts');
    }
  });

  test('4.2.4–5.15: a cancel overwrites a finished item (with an event); 3.x–4.2.3 and 6.0+ leave it as it is', async () => {
    for (const [profile, after] of [
      ['4.2.3', 'completed'],
      ['4.2.4', 'canceled'],
      ['5.15', 'canceled'],
      ['head', 'completed'],
    ] as const) {
      const sim = await h.start({ profile });
      const c = await h.connect(sim);
      const id = await runOne(sim);
      await waitFor(() => statusEvents(c, id).includes('completed'), 'the completed event');
      const r = await api<{ status: string }>(sim, 'PUT', `/queue/default/i/${id}/cancel`);
      expect([profile, r.status, r.json.status]).toEqual([profile, 200, after]);
      // Another item's events after it: nothing more can arrive for the first.
      const next = await runOne(sim);
      await waitFor(() => statusEvents(c, next).includes('completed'), 'the next item');
      expect([profile, statusEvents(c, id)]).toEqual([profile, after === 'canceled' ? ['in_progress', 'completed', 'canceled'] : ['in_progress', 'completed']]);
    }
  });

  test('5.15: an item pruned at restart answers the plain 500 too', async () => {
    const sim = await h.start({ profile: '5.15' });
    const id = await runOne(sim);
    await sim.stopListener();
    // While it is down (this also drops the client's pooled connection to the old listener).
    await expect(fetch(`${sim.url}/api/v1/app/version`)).rejects.toThrow();
    await sim.startListener();
    expect(await raw(sim, 'GET', `/queue/default/i/${id}`)).toEqual(FAULT);
  });

  test('routes a generation lacks reach the web UI: 405 for a POST, 404 for a GET, index.html for a GET at 6.12+', async () => {
    const old = await h.start({ profile: '5.15' });
    expect(await raw(old, 'POST', '/images/images_by_names', { image_names: [] })).toEqual(METHOD_NOT_ALLOWED);
    expect(await raw(old, 'GET', '/images/names')).toEqual(json(404, { detail: 'Not Found' }));
    expect(await raw(old, 'GET', '/queue/default/list_all')).toEqual(json(404, { detail: 'Not Found' }));
    expect(await raw(old, 'PUT', '/queue/default/delete_all_except_current')).toEqual(METHOD_NOT_ALLOWED);
    // A path that exists with another method is the mount's too (Starlette prefers its full match).
    expect(await raw(old, 'GET', '/queue/default/enqueue_batch')).toEqual(json(404, { detail: 'Not Found' }));
    expect(await raw(old, 'HEAD', '/queue/default/status')).toEqual({ status: 404, type: 'application/json', body: '' });
    const v424 = await h.start({ profile: '4.2.4' });
    for (const [method, route] of [
      ['PUT', '/queue/default/retry_items_by_id'],
      ['PUT', '/queue/default/cancel_all_except_current'],
      ['PUT', '/queue/default/cancel_by_destination?destination=x'],
    ] as const)
      expect(await raw(v424, method, route, [])).toEqual(METHOD_NOT_ALLOWED);
    expect(await raw(v424, 'GET', '/queue/default/counts_by_destination?destination=x')).toEqual(json(404, { detail: 'Not Found' }));
    const v6 = await h.start({ profile: '6.8' });
    expect(await raw(v6, 'GET', '/queue/default/list')).toEqual(json(404, { detail: 'Not Found' }));
    const head = await h.start();
    const spa = await raw(head, 'GET', '/queue/default/list');
    expect([spa.status, spa.type, spa.body.startsWith('<!doctype html>')]).toEqual([200, 'text/html; charset=utf-8', true]);
    expect(await raw(head, 'DELETE', '/no/such/thing')).toEqual(METHOD_NOT_ALLOWED);
  });

  test('POST /images/images_by_names (6.0+): DTOs in request order, names that do not resolve skipped', async () => {
    const sim = await h.start({ profile: '6.3' });
    const [a, b, c] = sim.seedImages('none', 3);
    const r = await api<ImageDTO[]>(sim, 'POST', '/images/images_by_names', { image_names: [c, 'missing.png', a, b, a] });
    expect(r.status).toBe(200);
    expect(r.json.map((d) => d.image_name)).toEqual([c, a, b, a]);
    expect((await api(sim, 'POST', '/images/images_by_names', { image_names: 'x' })).status).toBe(422);
  });
});
