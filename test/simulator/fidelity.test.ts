/**
 * Runs real enqueued graphs (captured from a 6.3 server) and the hand-made HEAD example on the simulator and
 * validates every socket payload and HTTP response against the real server's OpenAPI schemas.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { sampleGraph, type Simulator } from '../../src/simulator';
import { check, checkEach, checkEvents } from './schemas';
import {
  api,
  Harness,
  inputImageNames,
  readFixture,
  resultImageNames,
  FIXTURES,
  waitTerminal,
  type EnqueueResult,
  type ImageDTO,
  type InvocationEvent,
  type QueueItem,
  type StatusEvent,
} from './support';

interface Graph {
  id?: string;
  nodes: Record<string, Record<string, unknown>>;
  edges: unknown[];
}

interface Case {
  name: string;
  body: { batch: { graph: Graph; runs: number; [k: string]: unknown }; prepend?: boolean };
  /** Boards requested by the graph are created in the simulator (so the request is honoured). */
  createBoards: boolean;
}

const apiCalls = readdirSync(path.join(FIXTURES, 'api-calls')).filter((f) => f.endsWith('.json'));
const cases: Case[] = [
  ...apiCalls.map((f) => ({
    name: `api-calls/${f}`,
    body: { batch: { graph: readFixture<{ session: { graph: Graph } }>(`api-calls/${f}`).session.graph, runs: 1 } },
    createBoards: true,
  })),
  // Its board does not exist on the simulator: images must land uncategorized (docs/protocol.md §4.2).
  { name: 'examples/enqueue_batch.request.json', body: readFixture<Case['body']>('examples/enqueue_batch.request.json'), createBoards: false },
  { name: 'sampleGraph()', body: { batch: { graph: sampleGraph() as unknown as Graph, runs: 1 } }, createBoards: false },
];

function boardIdsOf(graph: Graph): string[] {
  const ids = new Set<string>();
  for (const n of Object.values(graph.nodes)) {
    const b = n['board'] as { board_id?: string } | null | undefined;
    if (b?.board_id) ids.add(b.board_id);
  }
  return [...ids];
}


function pngSize(buf: Buffer): { width: number; height: number } {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(buf.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

describe('simulator fidelity against openapi-head.json', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test.each(cases)('$name runs like the real server', async ({ body: rawBody, createBoards }) => {
    const sim = await h.start({ progressSteps: 2 });
    let body = structuredClone(rawBody);
    const boardIds = boardIdsOf(body.batch.graph);
    const boardMap = new Map<string, string>();
    if (createBoards) {
      let text = JSON.stringify(body);
      for (const id of boardIds) {
        const created = sim.createBoard(`board ${id.slice(0, 8)}`);
        boardMap.set(created.board_id, id);
        text = text.split(id).join(created.board_id);
      }
      body = JSON.parse(text) as Case['body'];
    }
    const inputs = inputImageNames(body.batch.graph);
    if (inputs.length > 0) sim.seedImages('none', inputs.length, { names: inputs, width: 768, height: 1024 });

    const c = await h.connect(sim);
    const enq = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', body);
    expect(enq.status).toBe(200);
    expect(check('EnqueueBatchResult', enq.json)).toEqual([]);
    expect(enq.json.enqueued).toBe(1);
    const [itemId] = enq.json.item_ids;
    if (itemId === undefined) throw new Error('no item id');
    await waitTerminal(c, [itemId]);

    expect(checkEvents(c)).toEqual([]);
    const item = await api<QueueItem>(sim, 'GET', `/queue/default/i/${itemId}`);
    expect(item.status).toBe(200);
    expect(check('SessionQueueItem', item.json, 'openapi-stored')).toEqual([]);
    const q = item.json;
    expect(q.status).toBe('completed');
    // response_model_exclude_none: no null anywhere in the item.
    expect(JSON.stringify(q)).not.toContain(':null');
    const s = q.session;

    // Prepared ids are fresh and the two mappings agree (docs/protocol.md §3).
    const sourceIds = Object.keys(body.batch.graph.nodes);
    for (const [prepared, source] of Object.entries(s.prepared_source_mapping)) {
      expect(sourceIds).not.toContain(prepared);
      expect(s.source_prepared_mapping[source]).toContain(prepared);
      expect(s.execution_graph.nodes[prepared]?.id).toBe(prepared);
    }
    for (const [source, prepared] of Object.entries(s.source_prepared_mapping))
      for (const p of prepared) expect(s.prepared_source_mapping[p]).toBe(source);
    expect(Object.keys(s.source_prepared_mapping).sort()).toEqual([...sourceIds].sort());

    // Status: pending is never emitted; in_progress 1 → completed 2, strictly rising.
    const statuses = c.of<StatusEvent>('queue_item_status_changed').filter((e) => e.item_id === itemId);
    expect(statuses.map((e) => [e.status, e.status_sequence])).toEqual([
      ['in_progress', 1],
      ['completed', 2],
    ]);
    expect(c.of('batch_enqueued')).toHaveLength(1);

    // Event ordering: started before complete per node; every complete before the terminal status.
    const names = c.events.map((e) => e.event);
    expect(names.lastIndexOf('invocation_complete')).toBeLessThan(names.lastIndexOf('queue_item_status_changed'));
    const completes = c.of<InvocationEvent>('invocation_complete');
    const started = c.of<InvocationEvent>('invocation_started');
    expect(completes.map((e) => e.invocation.id).sort()).toEqual(started.map((e) => e.invocation.id).sort());
    expect(completes).toHaveLength(Object.keys(s.prepared_source_mapping).length);
    if (Object.values(body.batch.graph.nodes).some((n) => String(n['type']).includes('denoise')))
      expect(c.of('invocation_progress').length).toBeGreaterThan(0);

    let imagesSeen = 0;
    for (const e of completes) {
      expect(e.session_id).toBe(q.session_id);
      expect(e.invocation_source_id).toBe(s.prepared_source_mapping[e.invocation.id]);
      // session.results hold the same output (minus the null output_meta) as the event.
      const { output_meta: _meta, ...rest } = e.result ?? {};
      expect(s.results[e.invocation.id]).toEqual(JSON.parse(JSON.stringify(rest, (_k, v: unknown) => (v === null ? undefined : v))) as unknown);
      for (const name of resultImageNames(e.result)) {
        const dto = await api<ImageDTO>(sim, 'GET', `/images/i/${name}`);
        expect(dto.status).toBe(200);
        expect(check('ImageDTO', dto.json)).toEqual([]);
        if (inputs.includes(name)) {
          // A pass-through (`image` primitive) returns the existing input image, made by no session here.
          expect(dto.json.session_id).not.toBe(q.session_id);
          continue;
        }
        imagesSeen++;
        expect(dto.json.session_id).toBe(q.session_id);
        expect(dto.json.node_id).toBe(e.invocation.id);
        expect(dto.json.is_intermediate).toBe(e.invocation['is_intermediate']);
        expect(dto.json.image_url).toBe(`api/v1/images/i/${name}/full`);
        expect(dto.json.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
        const requested = (e.invocation['board'] as { board_id?: string } | null | undefined)?.board_id ?? null;
        if (requested === null) expect(dto.json.board_id).toBeNull();
        else if (createBoards) expect(boardMap.has(dto.json.board_id ?? '')).toBe(true);
        else expect(dto.json.board_id).toBeNull();
        const png = await fetch(`${sim.url}/${dto.json.image_url}`);
        expect(png.headers.get('content-type')).toBe('image/png');
        expect(pngSize(Buffer.from(await png.arrayBuffer()))).toEqual({ width: dto.json.width, height: dto.json.height });
      }
    }
    expect(imagesSeen).toBeGreaterThan(0);
    await checkListings(sim);
  });

  test('a bad enqueue body gets FastAPI 422 {detail:[{type,loc,msg,input}]}', async () => {
    const sim = await h.start();
    const example = readFixture<Case['body']>('examples/enqueue_batch.request.json');
    const graph = example.batch.graph;
    const firstId = Object.keys(graph.nodes)[0] ?? '';
    const mutate = (f: (b: Case['body']) => void): Case['body'] => {
      const b = structuredClone(example);
      f(b);
      return b;
    };
    const bad: [string, unknown, string][] = [
      ['unknown node type', mutate((b) => ((b.batch.graph.nodes[firstId] as Record<string, unknown>)['type'] = 'no_such_node')), 'union_tag_invalid'],
      ['node key differs from id', mutate((b) => ((b.batch.graph.nodes[firstId] as Record<string, unknown>)['id'] = 'other')), 'value_error'],
      ['edge to a missing node', mutate((b) => b.batch.graph.edges.push({ source: { node_id: 'ghost', field: 'value' }, destination: { node_id: firstId, field: 'model' } })), 'value_error'],
      ['runs < 1', mutate((b) => (b.batch.runs = 0)), 'greater_than_equal'],
      ['wrong field type', mutate((b) => (((b.batch.graph.nodes['noise:f4Bv4UWa22'] ?? {}))['width'] = 'wide')), 'int_parsing'],
      ['no batch', {}, 'missing'],
      [
        'cycle',
        {
          batch: {
            graph: {
              nodes: { a: { id: 'a', type: 'add' }, b: { id: 'b', type: 'add' } },
              edges: [
                { source: { node_id: 'a', field: 'value' }, destination: { node_id: 'b', field: 'a' } },
                { source: { node_id: 'b', field: 'value' }, destination: { node_id: 'a', field: 'a' } },
              ],
            },
          },
        },
        'value_error',
      ],
      [
        'zipped data of different lengths',
        mutate(
          (b) =>
            (b.batch['data'] = [
              [
                { node_path: 'noise:f4Bv4UWa22', field_name: 'seed', items: [1, 2] },
                { node_path: 'noise:f4Bv4UWa22', field_name: 'width', items: [64] },
              ],
            ]),
        ),
        'value_error',
      ],
    ];
    for (const [what, body, type] of bad) {
      const r = await api<{ detail: { type: string; loc: unknown[]; msg: string; input: unknown }[] }>(sim, 'POST', '/queue/default/enqueue_batch', body);
      expect([what, r.status]).toEqual([what, 422]);
      expect(check('HTTPValidationError', r.json)).toEqual([]);
      expect([what, r.json.detail[0]?.type]).toEqual([what, type]);
      for (const d of r.json.detail) expect(Object.keys(d)).toEqual(expect.arrayContaining(['type', 'loc', 'msg', 'input']));
    }
    const raw = await fetch(`${sim.url}/api/v1/queue/default/enqueue_batch`, { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
    expect(raw.status).toBe(422);
    expect(((await raw.json()) as { detail: { type: string }[] }).detail[0]?.type).toBe('json_invalid');
    expect(sim.store.listQueueItems()).toHaveLength(0);
  });

  test('queue, board and image endpoints answer in their schema shapes', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const board = await api<{ board_id: string }>(sim, 'POST', '/boards/?board_name=Outputs');
    expect(board.status).toBe(201);
    expect(check('BoardDTO', board.json)).toEqual([]);
    const graph = {
      nodes: {
        blank: { id: 'blank', type: 'blank_image', width: 64, height: 32, is_intermediate: true },
        save: { id: 'save', type: 'save_image', board: { board_id: board.json.board_id } },
      },
      edges: [{ source: { node_id: 'blank', field: 'image' }, destination: { node_id: 'save', field: 'image' } }],
    };
    const enq = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph, runs: 2, origin: 'test' } });
    await waitTerminal(c, enq.json.item_ids);
    expect(checkEvents(c)).toEqual([]);
    const q = '/queue/default';
    const ids = await api<{ item_ids: number[] }>(sim, 'GET', `${q}/item_ids?order_dir=ASC`);
    expect(check('ItemIdsResult', ids.json)).toEqual([]);
    expect(ids.json.item_ids).toEqual([...enq.json.item_ids].reverse());
    const byIds = await api<unknown[]>(sim, 'POST', `${q}/items_by_ids`, { item_ids: [...ids.json.item_ids, 999] });
    expect(byIds.json).toHaveLength(2);
    expect(checkEach('SessionQueueItem', byIds.json, 'openapi-stored')).toEqual([]);
    expect(checkEach('SessionQueueItem', (await api<unknown[]>(sim, 'GET', `${q}/list_all`)).json, 'openapi-stored')).toEqual([]);
    expect(check('SessionQueueAndProcessorStatus', (await api(sim, 'GET', `${q}/status`)).json)).toEqual([]);
    expect(check('BatchStatus', (await api(sim, 'GET', `${q}/b/${enq.json.batch.batch_id}/status`)).json)).toEqual([]);
    expect((await api(sim, 'GET', `${q}/current`)).json).toBeNull();
    expect((await api(sim, 'GET', `${q}/i/999`)).status).toBe(404);
    expect((await api(sim, 'GET', `/queue/other/i/${ids.json.item_ids[0] ?? 0}`)).status).toBe(500);
    // No route takes it: the web UI's mount at `/` does, with index.html for a GET at 6.12+ (ui.ts).
    const spa = await fetch(`${sim.url}/api/v1/no/such/route`);
    expect([spa.status, spa.headers.get('content-type'), (await spa.text()).startsWith('<!doctype html>')]).toEqual([200, 'text/html; charset=utf-8', true]);
    expect((await api(sim, 'POST', '/no/such/route', {})).json).toEqual({ detail: 'Method Not Allowed' });

    const names = await api<string[]>(sim, 'GET', `/boards/${board.json.board_id}/image_names`);
    expect(names.json).toHaveLength(2);
    const boardDto = await api<{ image_count: number }>(sim, 'GET', `/boards/${board.json.board_id}`);
    expect(check('BoardDTO', boardDto.json)).toEqual([]);
    expect(boardDto.json.image_count).toBe(2);
    // blank_image caches (use_cache defaults true): the second run reuses the first run's image.
    const intermediates = await api<string[]>(sim, 'GET', '/boards/none/image_names?is_intermediate=true');
    expect(intermediates.json).toHaveLength(1);
    expect(checkEach('BoardDTO', (await api<unknown[]>(sim, 'GET', '/boards/?all=true')).json)).toEqual([]);
    expect(check('OffsetPaginatedResults_BoardDTO_', (await api(sim, 'GET', '/boards/?offset=0&limit=5')).json)).toEqual([]);
    expect((await api(sim, 'GET', '/boards/')).status).toBe(400);
    const [first] = names.json;
    const moved = await api(sim, 'POST', '/board_images/', { board_id: board.json.board_id, image_name: first });
    expect(moved.status).toBe(201);
    expect(check('AddImagesToBoardResult', moved.json)).toEqual([]);
    const removed = await api(sim, 'POST', '/board_images/batch/delete', { image_names: [first] });
    expect(check('RemoveImagesFromBoardResult', removed.json)).toEqual([]);
    expect(check('AddImagesToBoardResult', (await api(sim, 'POST', '/board_images/batch', { board_id: board.json.board_id, image_names: [first] })).json)).toEqual([]);
    expect(checkEach('ImageDTO', (await api<unknown[]>(sim, 'POST', '/images/images_by_names', { image_names: [first, 'missing.png'] })).json)).toEqual([]);
    expect(check('ImageUrlsDTO', (await api(sim, 'GET', `/images/i/${first ?? ''}/urls`)).json)).toEqual([]);
    const head = await fetch(`${sim.url}/api/v1/images/i/${first ?? ''}/full`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('image/png');
    const thumb = Buffer.from(await (await fetch(`${sim.url}/api/v1/images/i/${first ?? ''}/thumbnail`)).arrayBuffer());
    expect(thumb.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(thumb.subarray(8, 16).toString('ascii')).toBe('WEBPVP8L');
    await checkListings(sim);
    const del = await api(sim, 'DELETE', `/images/i/${first ?? ''}`);
    expect(check('DeleteImagesResult', del.json)).toEqual([]);
    expect((await api(sim, 'GET', `/images/i/${first ?? ''}`)).status).toBe(404);
    const delBoard = await api(sim, 'DELETE', `/boards/${board.json.board_id}?include_images=false`);
    expect(check('DeleteBoardResult', delBoard.json)).toEqual([]);
    expect(check('PruneResult', (await api(sim, 'PUT', `${q}/prune`)).json)).toEqual([]);
    expect(sim.store.listQueueItems()).toHaveLength(0);
  });
});

async function checkListings(sim: Simulator): Promise<void> {
  for (const route of ['/images/', '/images/?board_id=none&is_intermediate=false', '/images/?categories=general&categories=mask&limit=3&offset=1&order_dir=ASC'])
    expect(check('OffsetPaginatedResults_ImageDTO_', (await api(sim, 'GET', route)).json)).toEqual([]);
  expect(check('ImageNamesResult', (await api(sim, 'GET', '/images/names?board_id=none')).json)).toEqual([]);
  expect(check('AppVersion', (await api(sim, 'GET', '/app/version')).json)).toEqual([]);
  expect(check('SetupStatusResponse', (await api(sim, 'GET', '/auth/status')).json)).toEqual([]);
}
