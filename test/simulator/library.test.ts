/**
 * The simulator's workflow library listing (`GET /workflows/`, workflow_records_sqlite.py@HEAD) and image upload
 * (`POST /images/upload`, routers/images.py@HEAD), every response validated against openapi-head.json; and the
 * FLUX image-to-image editor export running once its input image has been uploaded.
 */
import { workflowToGraph } from '../../src/workflow';
import { editorNode, editorWorkflow, callableWorkflow } from '../support/graphs';
import { jpegBytes, pngBytes, uploadForm, webpBytes } from '../support/images';
import { login, ALICE, BOB } from '../multiuser/support';
import { check, checkEvents } from './schemas';
import { api, Harness, readFixture, waitTerminal, type EnqueueResult, type ImageDTO, type QueueItem } from './support';

interface Page {
  page: number;
  pages: number;
  per_page: number;
  total: number;
  items: { workflow_id: string; name: string; category: string; is_public: boolean; user_id: string; tags: string; description: string }[];
}

const named = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...editorWorkflow(name, [editorNode('n', 'integer', { value: 1 })], []),
  ...extra,
});

async function list(sim: { url: string }, query: string, token?: string): Promise<{ status: number; json: Page }> {
  const res = await fetch(`${sim.url}/api/v1/workflows/${query}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, json: (await res.json()) as Page };
}

describe('simulator: GET /workflows/', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('pages, orders and filters the library like the real route; every page is a valid PaginatedResults', async () => {
    const sim = await h.start();
    const ids = new Map<string, string>();
    for (const name of ['delta', 'alpha', 'charlie', 'bravo', 'echo']) ids.set(name, sim.saveWorkflow(named(name, { tags: name === 'bravo' ? 'faces, Upscale' : '', description: name === 'echo' ? 'Fixes hands' : '' })).workflow_id);
    ids.set('bundled', sim.saveWorkflow(named('bundled', { meta: { version: '3.0.0', category: 'default' } })).workflow_id);
    ids.set('callable', sim.saveWorkflow({ ...callableWorkflow(), name: 'zulu' }).workflow_id);

    const all = await list(sim, '');
    expect(all.status).toBe(200);
    expect(check('PaginatedResults_WorkflowRecordListItemWithThumbnailDTO_', all.json)).toEqual([]);
    // No per_page: everything on one page, per_page is the total.
    expect(all.json).toMatchObject({ page: 0, pages: 1, per_page: 7, total: 7 });
    expect(all.json.items.map((i) => i.name)).toEqual(['alpha', 'bravo', 'bundled', 'charlie', 'delta', 'echo', 'zulu']);
    expect(all.json.items.find((i) => i.name === 'bundled')).toMatchObject({ category: 'default', workflow_id: ids.get('bundled') });
    expect(all.json.items.find((i) => i.name === 'bravo')).toMatchObject({ category: 'user', tags: 'faces, Upscale', is_public: true, user_id: 'system' });

    const second = await list(sim, '?page=1&per_page=3');
    expect(check('PaginatedResults_WorkflowRecordListItemWithThumbnailDTO_', second.json)).toEqual([]);
    expect(second.json).toMatchObject({ page: 1, pages: 3, per_page: 3, total: 7 });
    expect(second.json.items.map((i) => i.name)).toEqual(['charlie', 'delta', 'echo']);
    expect((await list(sim, '?page=2&per_page=3')).json.items.map((i) => i.name)).toEqual(['zulu']);
    expect((await list(sim, '?page=3&per_page=3')).json).toMatchObject({ page: 3, pages: 3, items: [] });

    expect((await list(sim, '?direction=DESC&per_page=2')).json.items.map((i) => i.name)).toEqual(['zulu', 'echo']);
    // Rows that tie (opened_at is null in all of them) keep the insertion order, as SQLite's table scan does.
    expect((await list(sim, '?order_by=opened_at')).json.items.map((i) => i.workflow_id)).toEqual([...ids.values()]);
    expect((await list(sim, '?categories=default')).json.items.map((i) => i.name)).toEqual(['bundled']);
    expect((await list(sim, '?categories=default&categories=user')).json.total).toBe(7);
    // query: name, description or tags, ignoring case; tags: every tag a substring of the tags text.
    expect((await list(sim, '?query=%20FIX%20')).json.items.map((i) => i.name)).toEqual(['echo']);
    expect((await list(sim, '?query=upscale')).json.items.map((i) => i.name)).toEqual(['bravo']);
    expect((await list(sim, '?tags=faces&tags=upscale')).json.items.map((i) => i.name)).toEqual(['bravo']);
    expect((await list(sim, '?callable=true')).json.items.map((i) => i.name)).toEqual(['zulu']);
    expect((await list(sim, '?has_been_opened=true')).json.total).toBe(0);
    expect((await list(sim, '?is_public=false')).json.total).toBe(0);
  });

  test('bad query parameters are FastAPI 422s naming them', async () => {
    const sim = await h.start();
    for (const [query, loc, type] of [
      ['?per_page=many', ['query', 'per_page'], 'int_parsing'],
      ['?order_by=size', ['query', 'order_by'], 'enum'],
      ['?direction=up', ['query', 'direction'], 'enum'],
      ['?categories=user&categories=mine', ['query', 'categories', 1], 'enum'],
      ['?is_public=maybe', ['query', 'is_public'], 'bool_parsing'],
    ] as const) {
      const r = await api<{ detail: { loc: unknown[]; type: string }[] }>(sim, 'GET', `/workflows/${query}`);
      expect(r.status).toBe(422);
      expect(check('HTTPValidationError', r.json)).toEqual([]);
      expect(r.json.detail[0]).toMatchObject({ loc, type });
    }
  });

  test('multi-user: a user lists their own workflows and the bundled ones; is_public=true lists the shared ones', async () => {
    const sim = await h.start({ multiuser: true, users: [ALICE, BOB] });
    const alice = sim.auth.users().find((u) => u.email === ALICE.email)!;
    const bob = sim.auth.users().find((u) => u.email === BOB.email)!;
    sim.saveWorkflow(named('alice private'), { userId: alice.userId });
    sim.saveWorkflow(named('bob private'), { userId: bob.userId });
    sim.saveWorkflow(named('bob shared'), { userId: bob.userId, isPublic: true });
    sim.saveWorkflow(named('bundled', { meta: { version: '3.0.0', category: 'default' } }));
    const token = await login(sim, ALICE);
    expect((await list(sim, '')).status).toBe(401);
    const own = await list(sim, '', token);
    expect(check('PaginatedResults_WorkflowRecordListItemWithThumbnailDTO_', own.json)).toEqual([]);
    expect(own.json.items.map((i) => i.name)).toEqual(['alice private', 'bundled']);
    expect((await list(sim, '?is_public=true', token)).json.items.map((i) => i.name)).toEqual(['bob shared']);
  });
});

describe('simulator: POST /images/upload', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test.each([
    ['PNG', 'image/png', pngBytes(40, 30)],
    ['JPEG', 'image/jpeg', jpegBytes(40, 30)],
    ['WebP', 'image/webp', webpBytes(40, 30)],
  ])('a %s upload becomes an external user image: no session, no node, uncategorized, 201 with a Location', async (_name, type, bytes) => {
    const sim = await h.start();
    const r = await uploadForm(sim.url, '?image_category=user&is_intermediate=false', { bytes, type, name: 'in' });
    expect(r.status).toBe(201);
    expect(check('ImageDTO', r.json)).toEqual([]);
    const dto = r.json as ImageDTO & Record<string, unknown>;
    expect(dto).toMatchObject({ image_origin: 'external', image_category: 'user', is_intermediate: false, session_id: null, node_id: null, board_id: null, width: 40, height: 30, has_workflow: false });
    expect(dto.image_name).toMatch(/^[0-9a-f-]{36}\.png$/);
    expect(r.headers.get('location')).toBe(dto.image_url);
    expect((await api(sim, 'GET', `/images/i/${dto.image_name}`)).json).toEqual(dto);
    const full = await fetch(`${sim.url}/api/v1/images/i/${dto.image_name}/full`);
    const served = Buffer.from(await full.arrayBuffer());
    expect(full.headers.get('content-type')).toBe('image/png');
    // Stored as PNG: a PNG as it came, anything else as a PNG of its size.
    if (type === 'image/png') expect(served).toEqual(bytes);
    else expect([served.readUInt32BE(16), served.readUInt32BE(20)]).toEqual([40, 30]);
    const external = await api<{ items: ImageDTO[]; total: number }>(sim, 'GET', '/images/?image_origin=external');
    expect(external.json.items.map((i) => i.image_name)).toEqual([dto.image_name]);
    expect((await api<{ total: number }>(sim, 'GET', '/images/?image_origin=internal')).json.total).toBe(0);
  });

  test('board_id puts it on that board; an unknown board is the route’s 500', async () => {
    const sim = await h.start();
    const board = sim.createBoard('inputs').board_id;
    const on = await uploadForm(sim.url, `?image_category=user&is_intermediate=false&board_id=${board}`, { bytes: pngBytes(8, 8), type: 'image/png' });
    expect(on.status).toBe(201);
    expect((on.json as ImageDTO).board_id).toBe(board);
    expect(sim.store.imageNames(board)).toEqual([(on.json as ImageDTO).image_name]);
    const bad = await uploadForm(sim.url, '?image_category=user&is_intermediate=false&board_id=no-such-board', { bytes: pngBytes(8, 8), type: 'image/png' });
    expect(bad).toMatchObject({ status: 500, json: { detail: 'Failed to create image' } });
  });

  test('not an image: 415 for a non-image content type or unreadable bytes; missing parameters: one 422 naming all', async () => {
    const sim = await h.start();
    const q = '?image_category=user&is_intermediate=false';
    expect(await uploadForm(sim.url, q, { bytes: Buffer.from('hello'), type: 'text/plain' })).toMatchObject({ status: 415, json: { detail: 'Not an image' } });
    expect(await uploadForm(sim.url, q, { bytes: Buffer.from('not really a png'), type: 'image/png' })).toMatchObject({ status: 415, json: { detail: 'Failed to read image' } });
    const missing = await uploadForm(sim.url, '?image_category=selfie', null);
    expect(missing.status).toBe(422);
    expect(check('HTTPValidationError', missing.json)).toEqual([]);
    expect((missing.json as { detail: { loc: unknown[]; type: string }[] }).detail.map((d) => [d.loc.join('.'), d.type])).toEqual([
      ['query.image_category', 'enum'],
      ['query.is_intermediate', 'missing'],
      ['body.file', 'missing'],
    ]);
    expect(sim.store.imageCount).toBe(0);
  });

  test('multi-user: the uploader may read the upload, another user may not', async () => {
    const sim = await h.start({ multiuser: true, users: [ALICE, BOB] });
    const alice = await login(sim, ALICE);
    const bob = await login(sim, BOB);
    const r = await uploadForm(sim.url, '?image_category=user&is_intermediate=false', { bytes: pngBytes(8, 8), type: 'image/png' }, { authorization: `Bearer ${alice}` });
    expect(r.status).toBe(201);
    const name = (r.json as ImageDTO).image_name;
    const read = (token: string): Promise<number> => fetch(`${sim.url}/api/v1/images/i/${name}`, { headers: { authorization: `Bearer ${token}` } }).then((x) => x.status);
    expect(await read(alice)).toBe(200);
    expect(await read(bob)).toBe(403);
  });
});

describe('simulator: the FLUX image-to-image export with an uploaded input', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('fails with ImageFileNotFoundException as exported, and completes with the upload as its image', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const graph = workflowToGraph(readFixture('workflows/flux-image-to-image.json'));
    const imageNode = '7b056f05-a4fe-40d3-b913-1a4b3897230f';
    const asExported = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph, runs: 1 } });
    await waitTerminal(c, asExported.json.item_ids);
    expect((await api<QueueItem>(sim, 'GET', `/queue/default/i/${asExported.json.item_ids[0]!}`)).json).toMatchObject({ status: 'failed', error_type: 'ImageFileNotFoundException' });

    const up = await uploadForm(sim.url, '?image_category=user&is_intermediate=false', { bytes: pngBytes(768, 1024), type: 'image/png' });
    const upload = (up.json as ImageDTO).image_name;
    graph.nodes[imageNode] = { ...graph.nodes[imageNode]!, image: { image_name: upload } };
    const enq = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph, runs: 1 } });
    const itemId = enq.json.item_ids[0]!;
    await waitTerminal(c, [itemId]);
    const item = await api<QueueItem>(sim, 'GET', `/queue/default/i/${itemId}`);
    expect(item.json.status).toBe('completed');
    expect(check('SessionQueueItem', item.json, 'openapi-stored')).toEqual([]);
    expect(checkEvents(c)).toEqual([]);
    // The decode's image is new and sized like the input; the upload is untouched.
    const made = sim.store.imageNames().filter((n) => sim.store.getImage(n)?.session_id === item.json.session_id && !sim.store.getImage(n)?.is_intermediate);
    expect(made).toHaveLength(1);
    expect(sim.store.getImage(made[0]!)).toMatchObject({ width: 768, height: 1024, board_id: null, image_origin: 'internal' });
    expect(sim.store.getImage(upload)).toMatchObject({ session_id: null, image_origin: 'external' });
  });
});
