import { join } from 'node:path';
import { OutputsError, runWorkflow } from '../../src';
import { MemoryLogger } from '../../src/log';
import type { Simulator } from '../../src/simulator';
import { ALICE, BOB, multiuserSim } from '../multiuser/support';
import { startApiProxy } from '../support/apiProxy';
import { graph } from '../support/graphs';
import { createBoard, simulator, Teardown } from '../support/harness';
import { pngBytes, webpBytes, writeFile } from '../support/images';
import { FLUX_INPUT_IMAGE, cli, imagesOf, itemsOf, loadWorkflow, oneLine, tempDir, workflowPath, writeJson } from './support';

const td = new Teardown();
afterEach(() => td.run());

const FLUX_IMAGE_NODE = '7b056f05-a4fe-40d3-b913-1a4b3897230f';
const FLUX_DECODE = '7e5172eb-48c1-44db-a770-8fd83e1435d1';
// Nothing listens there: input errors are found before any connection.
const NOWHERE = 'http://127.0.0.1:1';

type StoredGraph = { id: string; nodes: Record<string, Record<string, unknown>>; edges: unknown[] };

/** The graph the server was given for a queue item (its `session.graph`). */
function enqueuedGraph(sim: Simulator, itemId: number): StoredGraph {
  return (sim.store.getQueueItem(itemId)!['session'] as { graph: StoredGraph }).graph;
}

/** The graph without its id and without the given `node.field`s: what must be equal between two runs. */
function without(g: StoredGraph, fields: [string, string][]): Omit<StoredGraph, 'id'> {
  const nodes = structuredClone(g.nodes);
  for (const [node, field] of fields) delete nodes[node]?.[field];
  return { nodes, edges: g.edges };
}

/** An image-to-image graph: the `img` primitive hands its image to a blur that saves a new one. */
const imageToImage = graph(
  [
    { id: 'img', type: 'image', is_intermediate: true, use_cache: false },
    { id: 'blur', type: 'img_blur', radius: 2, blur_type: 'gaussian', is_intermediate: false, use_cache: false },
  ],
  [['img', 'image', 'blur', 'image']],
);

describe('run --workflow-id: a workflow of the server’s library', () => {
  it('with a changed prompt: the enqueued graph has the new value, the rest is what --workflow builds from the export', async () => {
    const sim = await simulator(td);
    const id = sim.saveWorkflow(loadWorkflow('sdxl-text-to-image')).workflow_id;
    const byId = cli(td, ['run', '--url', sim.url, '--workflow-id', id, '--set', 'Positive Prompt.value=a cat in space', '--set', 'noise:f4Bv4UWa22.width=512', '--quiet']);
    expect(await byId.exited).toBe(0);
    const fromFile = cli(td, ['run', '--url', sim.url, '--workflow', workflowPath('sdxl-text-to-image'), '--quiet']);
    expect(await fromFile.exited).toBe(0);
    const [a, b] = [itemsOf(byId.records())[0]!, itemsOf(fromFile.records())[0]!];
    expect([a.status, b.status]).toEqual(['completed', 'completed']);
    const [ga, gb] = [enqueuedGraph(sim, a.item_id), enqueuedGraph(sim, b.item_id)];
    expect(ga.nodes['positive_prompt:kjUMdcg0zO']?.['value']).toBe('a cat in space');
    expect(gb.nodes['positive_prompt:kjUMdcg0zO']?.['value']).toBe('deep space, high quality, colorful');
    expect(ga.nodes['noise:f4Bv4UWa22']?.['width']).toBe(512);
    const changed: [string, string][] = [
      ['positive_prompt:kjUMdcg0zO', 'value'],
      ['noise:f4Bv4UWa22', 'width'],
    ];
    expect(without(ga, changed)).toEqual(without(gb, changed));
    // The workflow travels with the batch as the editor sends it: the library's copy (with its id), values set.
    const wf = sim.store.getQueueItem(a.item_id)!['workflow'] as { id: string; nodes: { id: string; data: { inputs: Record<string, { value: unknown }> } }[] };
    expect(wf.id).toBe(id);
    expect(wf.nodes.find((n) => n.id === 'positive_prompt:kjUMdcg0zO')?.data.inputs['value']?.value).toBe('a cat in space');
    expect(imagesOf(byId.records())).toHaveLength(1);
  });

  it('a form field’s label is a target; a JSON value is parsed, anything else is text', async () => {
    const sim = await simulator(td);
    const id = sim.saveWorkflow(loadWorkflow('sdxl-text-to-image')).workflow_id;
    const r = cli(td, ['run', '--url', sim.url, '--workflow-id', id, '--set', 'negative prompt=blurry, "low" quality', '--set', 'denoise_latents:TRC0Y88EWe.steps=12', '--quiet']);
    expect(await r.exited).toBe(0);
    const g = enqueuedGraph(sim, itemsOf(r.records())[0]!.item_id);
    expect(g.nodes['484ecc77-b7a0-4e19-b793-cc313f20fbe6']?.['value']).toBe('blurry, "low" quality');
    expect(g.nodes['denoise_latents:TRC0Y88EWe']?.['steps']).toBe(12);
  });

  it('an unknown workflow id: exit 2, one line, nothing enqueued', async () => {
    const sim = await simulator(td);
    const r = cli(td, ['run', '--url', sim.url, '--workflow-id', 'no-such-workflow']);
    expect(await r.exited).toBe(2);
    expect(oneLine(r)).toBe("invokeai-outputs: --workflow-id no-such-workflow: the server's workflow library has no workflow with this id");
    expect(r.stdout()).toBe('');
    expect(sim.store.listQueueItems()).toEqual([]);
  });
});

describe('run --set: bad targets and values are exit 2 with one line', () => {
  it('an ambiguous label names every field it matches; nothing is enqueued', async () => {
    const sim = await simulator(td);
    const id = sim.saveWorkflow(loadWorkflow('sdxl-flux-refine')).workflow_id;
    const r = cli(td, ['run', '--url', sim.url, '--workflow-id', id, '--set', 'Output Board=none']);
    expect(await r.exited).toBe(2);
    expect(oneLine(r)).toBe(
      'invokeai-outputs: --set "Output Board": ambiguous: 3 fields match (4414d4b5-82c3-4513-8c3f-86d88c24aadc.board, 67e997b2-2d56-43f4-8d2e-886c04e18d9f.board, abc466fe-12eb-48a5-87d8-488c8bda180f.board); name one as NODE_ID.FIELD',
    );
    expect(r.stdout()).toBe('');
    expect(sim.store.listQueueItems()).toEqual([]);
  });

  it('a bad target of a library workflow is found before its images are uploaded', async () => {
    const sim = await simulator(td);
    const id = sim.saveWorkflow(loadWorkflow('flux-image-to-image')).workflow_id;
    const input = writeFile(tempDir(td), 'in.png', pngBytes(16, 16));
    const r = cli(td, ['run', '--url', sim.url, '--workflow-id', id, '--image', `${FLUX_IMAGE_NODE}.image=${input}`, '--set', 'Positive Prompt - FLUX.promt=x']);
    expect(await r.exited).toBe(2);
    expect(oneLine(r)).toBe('invokeai-outputs: --set "Positive Prompt - FLUX.promt": node 01f674f8-b3d1-4df1-acac-6cb8e0bfb63c (flux_text_encoder, labelled "Positive Prompt - FLUX") has no field "promt"');
    expect(sim.store.imageCount).toBe(0);
    expect(sim.store.listQueueItems()).toEqual([]);
  });

  it.each([
    ['an unknown node', ['--set', 'nope.value=1'], '--set nope.value: no node id, node label or form field label matches (a target is NODE_ID.FIELD, LABEL.FIELD or a form field\'s label)'],
    ['an unknown field', ['--set', 'denoise_latents:TRC0Y88EWe.stepz=10'], '--set denoise_latents:TRC0Y88EWe.stepz: node denoise_latents:TRC0Y88EWe (denoise_latents) has no field "stepz"'],
    ['a string for an integer field', ['--set', 'denoise_latents:TRC0Y88EWe.steps=thirty'], '--set denoise_latents:TRC0Y88EWe.steps: expected an integer (denoise_latents.steps), got "thirty"'],
    ['a value the field does not allow', ['--set', 'noise:f4Bv4UWa22.height=1001'], '--set noise:f4Bv4UWa22.height: must be a multiple of 8 (noise.height), got 1001'],
    ['a connected field', ['--set', 'noise:f4Bv4UWa22.seed=7'], '--set noise:f4Bv4UWa22.seed: noise:f4Bv4UWa22.seed is fed by an edge from fe37ca02-b720-41f8-a10c-5ab7f110e336.value; only unconnected fields can be set'],
    ['no =', ['--set', 'Positive Prompt.value'], '--set: expected TARGET=VALUE, got "Positive Prompt.value"'],
  ])('%s (found before connecting)', async (_what, args, message) => {
    const r = cli(td, ['run', '--url', NOWHERE, '--workflow', workflowPath('sdxl-text-to-image'), ...args]);
    expect(await r.exited).toBe(2);
    expect(oneLine(r)).toBe(`invokeai-outputs: ${message}`);
    expect(r.stdout()).toBe('');
  });
});

describe('run --image: uploading an input image', () => {
  it('is uploaded as a user image (not on the output board), used by the image-to-image graph, and never reported', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'outputs');
    const dir = tempDir(td);
    const input = writeFile(dir, 'photo.webp', webpBytes(40, 30));
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(dir, 'i2i.json', imageToImage), '--image', `img.image=${input}`, '--board', board, '--quiet']);
    expect(await r.exited).toBe(0);
    const recs = r.records();
    expect(recs.map((x) => x['type'])).toEqual(['image', 'item']);
    const [image, item] = [imagesOf(recs)[0]!, itemsOf(recs)[0]!];
    const uploads = sim.store.imageNames().filter((n) => sim.store.getImage(n)?.image_origin === 'external');
    expect(uploads).toHaveLength(1);
    const upload = uploads[0]!;
    expect(sim.store.getImage(upload)).toMatchObject({ image_category: 'user', is_intermediate: false, session_id: null, board_id: null, width: 40, height: 30 });
    // The graph ran on the upload: the image node handed it on (its output is the upload) and the blur kept its size.
    expect(enqueuedGraph(sim, item.item_id).nodes['img']?.['image']).toEqual({ image_name: upload });
    expect(image).toMatchObject({ node_id: 'blur', node_type: 'img_blur', board_id: board, width: 40, height: 30 });
    expect(item.new_images).toEqual([image.image_name]);
    expect(Object.keys(item.nodes)).toEqual(['blur']);
    expect(JSON.stringify(recs)).not.toContain(upload);
    expect(item.boards[board]).toEqual({ added: [image.image_name], count_before: 0, count_after: 1 });
    expect(item.complete).toBe(true);
  });

  it.each([
    ['a text file', 'notes.png', 'just some notes', (p: string) => `--image img.image: ${p} is not a PNG, JPEG or WebP image`],
    ['a missing file', 'missing.png', null, (p: string) => `--image img.image: cannot read ${p} (no such file)`],
  ])('%s is exit 2 naming it, before connecting', async (_what, name, content, message) => {
    const dir = tempDir(td);
    const file = content === null ? join(dir, name) : writeFile(dir, name, content);
    const r = cli(td, ['run', '--url', NOWHERE, '--graph', writeJson(dir, 'i2i.json', imageToImage), '--image', `img.image=${file}`]);
    expect(await r.exited).toBe(2);
    expect(oneLine(r)).toBe(`invokeai-outputs: ${message(file)}`);
  });

  it('a field that takes no image is exit 2', async () => {
    const dir = tempDir(td);
    const r = cli(td, ['run', '--url', NOWHERE, '--graph', writeJson(dir, 'i2i.json', imageToImage), '--image', `blur.radius=${writeFile(dir, 'in.png', pngBytes(4, 4))}`]);
    expect(await r.exited).toBe(2);
    expect(oneLine(r)).toBe('invokeai-outputs: --image blur.radius: img_blur.radius does not take an image (it expects a number)');
  });
});

describe('the FLUX image-to-image export', () => {
  it('fails as exported (its input image is not on the server) and runs with --image on its image node', async () => {
    const sim = await simulator(td);
    const plain = cli(td, ['run', '--url', sim.url, '--workflow', workflowPath('flux-image-to-image'), '--quiet']);
    expect(await plain.exited).toBe(1);
    expect(itemsOf(plain.records())[0]).toMatchObject({ status: 'failed', error_type: 'ImageFileNotFoundException', error_message: `Image file not found: ${FLUX_INPUT_IMAGE}` });

    const input = writeFile(tempDir(td), 'portrait.png', pngBytes(768, 1024));
    const r = cli(td, ['run', '--url', sim.url, '--workflow', workflowPath('flux-image-to-image'), '--image', `${FLUX_IMAGE_NODE}.image=${input}`, '--set', 'Positive Prompt=a lighthouse at dusk', '--quiet']);
    expect(await r.exited).toBe(0);
    const recs = r.records();
    expect(recs.map((x) => x['type'])).toEqual(['image', 'item']);
    const [image, item] = [imagesOf(recs)[0]!, itemsOf(recs)[0]!];
    expect(image).toMatchObject({ node_id: FLUX_DECODE, node_type: 'flux_vae_decode', board_id: 'none', width: 768, height: 1024, cached: false });
    expect(item).toMatchObject({ status: 'completed', complete: true, new_images: [image.image_name] });
    expect(sim.store.getImage(image.image_name)).toMatchObject({ session_id: item.session_id, node_id: image.prepared_node_id, is_intermediate: false });
    const g = enqueuedGraph(sim, item.item_id);
    expect(g.nodes['01f674f8-b3d1-4df1-acac-6cb8e0bfb63c']?.['prompt']).toBe('a lighthouse at dusk');
    const upload = (g.nodes[FLUX_IMAGE_NODE]?.['image'] as { image_name: string }).image_name;
    expect(sim.store.getImage(upload)).toMatchObject({ image_origin: 'external', session_id: null });
    // The upload went to "none" before the board was counted: the counts hold only the run's image.
    expect(item.boards['none']).toEqual({ added: [image.image_name], count_before: 1, count_after: 2 });
  });
});

describe('runWorkflow({ workflowId, set, images })', () => {
  it('runs a library workflow with typed values and an uploaded image', async () => {
    const sim = await simulator(td);
    const workflowId = sim.saveWorkflow(loadWorkflow('flux-image-to-image')).workflow_id;
    const input = writeFile(tempDir(td), 'in.png', pngBytes(320, 240));
    const log = new MemoryLogger();
    const { items, images } = await runWorkflow({
      url: sim.url,
      workflowId,
      set: { 'Positive Prompt': 'a cat', '9c773392-5647-4f2b-958e-9da1707b6e6a.num_steps': 6 },
      images: { [`${FLUX_IMAGE_NODE}.image`]: input },
      logger: log,
    });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ status: 'completed', complete: true });
    expect(images.map((i) => [i.node_id, i.width, i.height])).toEqual([[FLUX_DECODE, 320, 240]]);
    const g = enqueuedGraph(sim, items[0]!.item_id);
    expect(g.nodes['01f674f8-b3d1-4df1-acac-6cb8e0bfb63c']?.['prompt']).toBe('a cat');
    expect(g.nodes['9c773392-5647-4f2b-958e-9da1707b6e6a']?.['num_steps']).toBe(6);
    const upload = (g.nodes[FLUX_IMAGE_NODE]?.['image'] as { image_name: string }).image_name;
    expect(log.lines.some((l) => l.level === 'info' && l.msg === `uploaded ${input} as ${upload}`)).toBe(true);
  });

  it('refuses a value of the wrong type (values are taken as given, not parsed) with BAD_INPUT, before enqueueing', async () => {
    const sim = await simulator(td);
    const workflowId = sim.saveWorkflow(loadWorkflow('sdxl-text-to-image')).workflow_id;
    const run = runWorkflow({ url: sim.url, workflowId, set: { 'denoise_latents:TRC0Y88EWe.steps': '30' } });
    await expect(run).rejects.toThrow(OutputsError);
    await expect(run).rejects.toMatchObject({ code: 'BAD_INPUT', message: 'set denoise_latents:TRC0Y88EWe.steps: expected an integer (denoise_latents.steps), got "30"' });
    expect(sim.store.listQueueItems()).toEqual([]);
  });

  it('with a graph: NODE_ID.FIELD targets and an image', async () => {
    const sim = await simulator(td);
    const input = writeFile(tempDir(td), 'in.png', pngBytes(24, 12));
    const { items, images } = await runWorkflow({ url: sim.url, graph: imageToImage, set: { 'blur.radius': 5 }, images: { 'img.image': input } });
    expect(items[0]).toMatchObject({ status: 'completed', new_images: [images[0]!.image_name] });
    expect(images.map((i) => [i.node_id, i.width, i.height])).toEqual([['blur', 24, 12]]);
    expect(enqueuedGraph(sim, items[0]!.item_id).nodes['blur']?.['radius']).toBe(5);
  });
});

describe('on a multi-user server', () => {
  it('a user runs their own library workflow with an upload; another user may not read it (exit-2 input error)', async () => {
    const sim = await multiuserSim(td);
    const alice = sim.auth.users().find((u) => u.email === ALICE.email)!;
    const workflowId = sim.saveWorkflow(loadWorkflow('flux-image-to-image'), { userId: alice.userId }).workflow_id;
    const input = writeFile(tempDir(td), 'in.png', pngBytes(64, 64));
    const asAlice = { url: sim.url, username: ALICE.email, password: ALICE.password };
    const { items, images } = await runWorkflow({ ...asAlice, workflowId, images: { [`${FLUX_IMAGE_NODE}.image`]: input } });
    expect(items[0]).toMatchObject({ status: 'completed', complete: true, new_images: [images[0]!.image_name] });
    expect(images.map((i) => i.node_id)).toEqual([FLUX_DECODE]);
    const list = cli(td, ['workflows', '--url', sim.url, '--username', ALICE.email, '--password', ALICE.password]);
    expect(await list.exited).toBe(0);
    expect(list.records().map((r) => r['workflow_id'])).toEqual([workflowId]);
    const bob = runWorkflow({ url: sim.url, username: BOB.email, password: BOB.password, workflowId });
    await expect(bob).rejects.toMatchObject({ code: 'BAD_INPUT', message: `workflow ${workflowId}: not allowed to read this workflow (HTTP 403)` });
  });
});

describe('invokeai-outputs workflows', () => {
  it('prints one line per library workflow, reading every page', async () => {
    const sim = await simulator(td);
    const saved = new Map<string, string>();
    const base = loadWorkflow('sdxl-text-to-image');
    // Saved in reverse: the listing's order (by name) is the server's, not the order of saving.
    for (let i = 204; i >= 0; i--) {
      const name = `wf ${String(i).padStart(3, '0')}`;
      saved.set(sim.saveWorkflow({ ...base, name }).workflow_id, name);
    }
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    const r = cli(td, ['workflows', '--url', proxy.url]);
    expect(await r.exited).toBe(0);
    const recs = r.records();
    expect(recs).toHaveLength(205);
    for (const rec of recs) {
      expect(Object.keys(rec)).toEqual(['type', 'workflow_id', 'name', 'category', 'updated_at']);
      expect(rec).toMatchObject({ type: 'workflow', category: 'user', name: saved.get(rec['workflow_id'] as string) });
      expect(rec['updated_at']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    }
    expect(recs.map((x) => x['name'])).toEqual([...saved.values()].sort());
    expect(proxy.requests.filter((q) => q.startsWith('GET /api/v1/workflows/'))).toEqual([0, 1, 2].map((p) => `GET /api/v1/workflows/?page=${p}&per_page=100`));
  });

  it('an unreachable server is exit 3, nothing on stdout', async () => {
    const r = cli(td, ['workflows', '--url', NOWHERE]);
    expect(await r.exited).toBe(3);
    expect(r.stdout()).toBe('');
    expect(r.stderr()).toMatch(/127\.0\.0\.1:1/);
  });
});

