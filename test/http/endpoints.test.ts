import { randomBytes } from 'node:crypto';
import type { OutputRecord } from '../../src/records';
import { startLiveServer } from '../../src/sinks/http/server';
import { liveSourceOf } from '../../src/sinks/http/watcherSource';
import { api, createBoard, enqueue, Teardown } from '../support/harness';
import { iterate, saveOne } from '../support/graphs';
import { get, live, sample, scrape, sse, until } from './support';

const td = new Teardown();
afterEach(() => td.run());

const line = (r: OutputRecord): string => JSON.stringify(r);

describe('the live server', () => {
  it('/api/records: the most recent records as printed, oldest first; limit=N keeps the newest N', async () => {
    const { sim, w, server } = await live(td);
    await enqueue(sim, saveOne());
    await enqueue(sim, iterate(2));
    await w.items$(2);
    const all = await get(`${server.url}/api/records`);
    expect(all.status).toBe(200);
    expect(all.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(all.text)).toEqual(w.records);
    expect(w.records).toHaveLength(5);
    expect(JSON.parse((await get(`${server.url}/api/records?limit=2`)).text)).toEqual(w.records.slice(-2));
    expect((await get(`${server.url}/api/records?limit=0`)).status).toBe(400);
    expect((await get(`${server.url}/api/records?limit=ten`)).status).toBe(400);
  });

  it('keeps only ringSize records for /api/records', async () => {
    const { sim, w, server } = await live(td, { ringSize: 3 });
    await enqueue(sim, iterate(3));
    await w.items$(1);
    expect(JSON.parse((await get(`${server.url}/api/records?limit=100`)).text)).toEqual(w.records.slice(-3));
  });

  it('/events: one frame per record (event = type, id = record_id, data = the stdout line); Last-Event-ID replays what followed', async () => {
    const { sim, w, server } = await live(td);
    const liveStream = sse(td, `${server.url}/events`);
    expect(await liveStream.status).toBe(200);
    await enqueue(sim, saveOne());
    await enqueue(sim, saveOne());
    await w.items$(2);
    const frames = await liveStream.until(4);
    expect(frames).toEqual(w.records.map((r) => ({ event: r.type, id: r.record_id, data: line(r) })));

    const resumed = sse(td, `${server.url}/events`, { 'last-event-id': w.records[1]!.record_id });
    expect(await resumed.until(2)).toEqual(w.records.slice(2).map((r) => ({ event: r.type, id: r.record_id, data: line(r) })));
    // Live records follow the replay on the same stream, once each.
    await enqueue(sim, saveOne());
    await w.items$(3);
    const after = await resumed.until(4);
    expect(after.map((f) => f.id)).toEqual(w.records.slice(2).map((r) => r.record_id));

    // An id the daemon does not hold: everything held may follow it, so all of it comes; `since=` (the page) likewise.
    const unknown = sse(td, `${server.url}/events`, { 'last-event-id': randomBytes(16).toString('hex') });
    expect((await unknown.until(6)).map((f) => f.id)).toEqual(w.records.map((r) => r.record_id));
    const page = sse(td, `${server.url}/events?since=${w.records[3]!.record_id}`);
    expect((await page.until(2)).map((f) => f.id)).toEqual(w.records.slice(4).map((r) => r.record_id));
    // No id at all: live records only.
    const fresh = sse(td, `${server.url}/events`);
    expect(await fresh.status).toBe(200);
    await enqueue(sim, saveOne());
    await w.items$(4);
    expect((await fresh.until(2)).map((f) => f.id)).toEqual(w.records.slice(6).map((r) => r.record_id));
  });

  it('/metrics: prom-client exposition whose counters move with the records, per-server gauges and the process defaults', async () => {
    const { sim, w, server } = await live(td);
    let m = await scrape(server.url);
    expect(sample(m, 'invokeai_outputs_records_total', { type: 'item' })).toBe(0);
    expect(sample(m, 'invokeai_outputs_items_total', { status: 'failed', complete: 'true' })).toBe(0);
    expect(sample(m, 'invokeai_outputs_connected', { server: sim.url })).toBe(1);
    expect(sample(m, 'invokeai_outputs_reconnects_total', { server: sim.url })).toBe(0);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(m.some((f) => f.name === name)).toBe(true);
    }
    expect(m.find((f) => f.name === 'invokeai_outputs_records_total')?.type).toBe('COUNTER');
    expect(m.find((f) => f.name === 'invokeai_outputs_open_items')?.type).toBe('GAUGE');

    await enqueue(sim, iterate(3));
    sim.faults.failNode({ nodeType: 'save_image', errorType: 'OSError', errorMessage: 'disk full', count: 1 });
    await enqueue(sim, saveOne());
    const items = await w.items$(2);
    expect(items.map((i) => i.status).sort()).toEqual(['completed', 'failed']);
    m = await scrape(server.url);
    expect(sample(m, 'invokeai_outputs_records_total', { type: 'item' })).toBe(2);
    expect(sample(m, 'invokeai_outputs_records_total', { type: 'image' })).toBe(3);
    expect(sample(m, 'invokeai_outputs_items_total', { status: 'completed', complete: 'true' })).toBe(1);
    expect(sample(m, 'invokeai_outputs_items_total', { status: 'failed', complete: 'true' })).toBe(1);
    const byVia = ['socket', 'queue_item', 'board_diff'].map((via) => sample(m, 'invokeai_outputs_images_total', { via }) ?? 0);
    expect(byVia.reduce((a, b) => a + b, 0)).toBe(3);
    expect(sample(m, 'invokeai_outputs_images_total', { via: 'socket' })).toBe(w.images().filter((r) => r.via === 'socket').length);
    expect(sample(m, 'invokeai_outputs_open_items', { server: sim.url })).toBe(0);
    const age = sample(m, 'invokeai_outputs_last_event_age_seconds', { server: sim.url });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(10);
  });

  it('/metrics: per-sink counters when the source has sinks', async () => {
    const { w, server: plain } = await live(td);
    const counts = { name: 'webhook', delivered: 7, pending: 2, failed: 1 };
    const withSinks = td.add(await startLiveServer({ source: liveSourceOf(w.watcher, { sinks: () => [counts] }) }), (s) => s.close());
    let m = await scrape(withSinks.url);
    expect(sample(m, 'invokeai_outputs_sink_delivered_total', { sink: 'webhook' })).toBe(7);
    expect(sample(m, 'invokeai_outputs_sink_pending', { sink: 'webhook' })).toBe(2);
    expect(sample(m, 'invokeai_outputs_sink_failed_total', { sink: 'webhook' })).toBe(1);
    counts.delivered = 9;
    m = await scrape(withSinks.url);
    expect(sample(m, 'invokeai_outputs_sink_delivered_total', { sink: 'webhook' })).toBe(9);
    // Without sinks, no sink series at all.
    expect((await scrape(plain.url)).some((f) => f.name.startsWith('invokeai_outputs_sink_'))).toBe(false);
  });

  it('/healthz turns 503 when the server goes down and 200 when it is back; the metrics follow', async () => {
    const { sim, w, server } = await live(td);
    const health = async (): Promise<{ status: number; body: { status: string; servers: Record<string, unknown>[] } }> => {
      const r = await get(`${server.url}/healthz`);
      return { status: r.status, body: JSON.parse(r.text) as { status: string; servers: Record<string, unknown>[] } };
    };
    // Before the server sent any event, its age is unknown.
    expect(await health()).toEqual({ status: 200, body: { status: 'ok', servers: [{ url: sim.url, connected: true, last_event_age_s: null, open_items: 0 }] } });
    await enqueue(sim, saveOne());
    await w.items$(1);
    const up = await health();
    expect(up.status).toBe(200);
    expect(up.body.servers[0]?.['last_event_age_s']).toEqual(expect.any(Number));

    await sim.stopListener();
    await until(async () => (await health()).status === 503, 10_000, '/healthz 503');
    const down = await health();
    expect(down.body.status).toBe('degraded');
    expect(down.body.servers[0]).toMatchObject({ url: sim.url, connected: false });
    expect(sample(await scrape(server.url), 'invokeai_outputs_connected', { server: sim.url })).toBe(0);

    await sim.startListener();
    await until(async () => (await health()).status === 200, 15_000, '/healthz 200 again');
    expect(sample(await scrape(server.url), 'invokeai_outputs_reconnects_total', { server: sim.url })).toBe(1);
  });

  it('the image proxy streams a known image record\'s thumbnail and full image, and answers 404 for anything else', async () => {
    const { sim, w, server } = await live(td);
    await enqueue(sim, saveOne());
    await w.items$(1);
    const img = w.images()[0]!;
    const item = w.items()[0]!;
    for (const size of ['thumbnail', 'full'] as const) {
      const ours = await get(`${server.url}/images/${img.record_id}/${size}`);
      const theirs = await fetch(`${sim.url}/api/v1/images/i/${img.image_name}/${size}`);
      expect(ours.status).toBe(200);
      expect(ours.headers['content-type']).toBe(theirs.headers.get('content-type'));
      expect(ours.body.equals(Buffer.from(await theirs.arrayBuffer()))).toBe(true);
    }
    const notFound = [
      `/images/${randomBytes(16).toString('hex')}/thumbnail`, // no such record
      `/images/${item.record_id}/full`, // an item record, not an image record
      `/images/${img.image_name}/full`, // an image name is no record id
      `/images/${img.record_id}/metadata`,
      `/images/${img.record_id}/../../api/v1/images/i/${img.image_name}/full`,
    ];
    for (const path of notFound) expect([path, (await get(`${server.url}${path}`)).status]).toEqual([path, 404]);
    // Gone from the server since: 404 too, not an error page of the server's.
    await api(sim.url, 'DELETE', `/images/i/${img.image_name}`);
    expect((await get(`${server.url}/images/${img.record_id}/full`)).status).toBe(404);
  });

  it('/api/boards: the names of boards that records named, looked up once; 404 for any other board', async () => {
    const { sim, w, server } = await live(td);
    const board = await createBoard(sim, 'renders');
    await enqueue(sim, saveOne(board));
    await enqueue(sim, saveOne());
    await w.items$(2);
    const ask = async (boardId: string, srv = sim.url): Promise<{ status: number; body: unknown }> => {
      const r = await get(`${server.url}/api/boards?server=${encodeURIComponent(srv)}&board_id=${encodeURIComponent(boardId)}`);
      return { status: r.status, body: JSON.parse(r.text) as unknown };
    };
    expect(await ask(board)).toEqual({ status: 200, body: { server: sim.url, board_id: board, name: 'renders' } });
    expect(await ask('none')).toEqual({ status: 200, body: { server: sim.url, board_id: 'none', name: 'Uncategorized' } });
    // Renamed on the server: the name was looked up once and is kept.
    await api(sim.url, 'PATCH', `/boards/${board}`, { board_name: 'renamed' });
    expect((await ask(board)).body).toMatchObject({ name: 'renders' });
    expect((await ask('some-other-board')).status).toBe(404);
    expect((await ask(board, 'http://127.0.0.1:1')).status).toBe(404);
  });

  it('serves the page with its script and style pinned by hash, and nothing else on unknown paths or methods', async () => {
    const { server } = await live(td);
    const page = await get(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(page.text).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);
    const gz = await get(`${server.url}/`, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.body.length).toBeLessThan(page.body.length);
    expect((await get(`${server.url}/`, { 'if-none-match': String(page.headers.etag) })).status).toBe(304);
    expect((await get(`${server.url}/nothing-here`)).status).toBe(404);
    const post = await fetch(`${server.url}/api/records`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
