import { runWorkflow } from '../../src';
import { MemoryLogger } from '../../src/log';
import type { Simulator } from '../../src/simulator';
import type { ImageRecord, ItemRecord } from '../../src/records';
import { createBoard, simulator, Teardown } from '../support/harness';
import { FLUX_INPUT_IMAGE, boardCount, cli, imagesOf, itemsOf, loadWorkflow, workflowPath, type WorkflowName } from './support';

const td = new Teardown();
afterEach(() => td.run());

/** The images the server holds for a session: what a run of it made, as the store sees it. */
function madeBy(sim: Simulator, sessionId: string): string[] {
  return sim.store
    .imageNames()
    .filter((n) => {
      const dto = sim.store.getImage(n);
      return dto?.session_id === sessionId && !dto.is_intermediate;
    });
}

/** Everything that holds for any completed run of one queue item: records agree with each other and the server. */
function checkCompletedItem(sim: Simulator, images: ImageRecord[], item: ItemRecord): void {
  expect(item).toMatchObject({ type: 'item', server: sim.url, queue_id: 'default', status: 'completed', error_type: null, error_message: null, complete: true });
  const stored = sim.store.getQueueItem(item.item_id)!;
  expect(stored['status']).toBe('completed');
  expect(stored['batch_id']).toBe(item.batch_id);
  expect(stored['session_id']).toBe(item.session_id);
  // exactly the images the server made for the session, each once
  expect([...item.new_images].sort()).toEqual(madeBy(sim, item.session_id!).sort());
  expect(images.map((i) => i.image_name).sort()).toEqual([...item.new_images].sort());
  for (const img of images) {
    const dto = sim.store.getImage(img.image_name)!;
    expect(img).toMatchObject({ item_id: item.item_id, session_id: item.session_id, batch_id: item.batch_id, board_id: dto.board_id ?? 'none', is_intermediate: false, cached: false });
    expect(img.width).toBe(dto.width);
    expect(img.node_id).not.toBe(img.prepared_node_id);
    expect(item.nodes[img.node_id!]?.image_names).toContain(img.image_name);
    expect(item.nodes[img.node_id!]?.node_type).toBe(img.node_type);
  }
  // counts of every snapshotted board are the server's, and what was added fits them
  for (const [board, summary] of Object.entries(item.boards)) {
    expect(summary.count_after).toBe(boardCount(sim, board));
    expect(summary.count_before).not.toBeNull();
    expect(summary.count_after! - summary.count_before!).toBe(summary.added.length);
  }
}

async function runLib(sim: Simulator, name: WorkflowName, extra: { board?: string } = {}) {
  const log = new MemoryLogger();
  const result = await runWorkflow({ url: sim.url, workflow: loadWorkflow(name), logger: log, ...extra });
  return { ...result, log };
}

describe('run: the real editor workflows through the library', () => {
  it('sdxl-text-to-image: one l2i image, uncategorized (its auto board is left out), counts of "none"', async () => {
    const sim = await simulator(td);
    sim.seedImages('none', 2);
    const { images, items, canceled } = await runLib(sim, 'sdxl-text-to-image');
    expect(canceled).toBe(false);
    expect(items).toHaveLength(1);
    const item = items[0]!;
    checkCompletedItem(sim, images, item);
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ node_id: 'canvas_output:JbPTiAJ26r', node_type: 'l2i', board_id: 'none', requested_board_id: 'none', via: 'socket' });
    expect(item.boards).toEqual({ none: { added: [images[0]!.image_name], count_before: 2, count_after: 3 } });
    // the editor's workflow travels with the batch, like the editor sends it
    const stored = sim.store.getQueueItem(item.item_id)!;
    expect(stored['workflow']).toBeDefined();
  });

  it('flux-image-to-image: the seeded input image is not an output; flux_vae_decode makes the one image', async () => {
    const sim = await simulator(td);
    sim.seedImages('none', 1, { names: [FLUX_INPUT_IMAGE], width: 768, height: 1024 });
    const { images, items } = await runLib(sim, 'flux-image-to-image');
    expect(items).toHaveLength(1);
    checkCompletedItem(sim, images, items[0]!);
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ node_id: '7e5172eb-48c1-44db-a770-8fd83e1435d1', node_type: 'flux_vae_decode', board_id: 'none' });
    expect(items[0]!.new_images).not.toContain(FLUX_INPUT_IMAGE);
    expect(items[0]!.boards['none']).toMatchObject({ count_before: 1, count_after: 2 });
  });

  it('sdxl-flux-refine with a board: every output node of the workflow lands on it', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'refined');
    const { images, items, log } = await runLib(sim, 'sdxl-flux-refine', { board });
    expect(items).toHaveLength(1);
    const item = items[0]!;
    checkCompletedItem(sim, images, item);
    expect(images).toHaveLength(3);
    expect(new Set(images.map((i) => i.node_type))).toEqual(new Set(['save_image']));
    expect(images.every((i) => i.board_id === board && i.requested_board_id === board)).toBe(true);
    expect(Object.keys(item.nodes).sort()).toEqual(['4414d4b5-82c3-4513-8c3f-86d88c24aadc', '67e997b2-2d56-43f4-8d2e-886c04e18d9f', 'abc466fe-12eb-48a5-87d8-488c8bda180f'].sort());
    expect(item.boards[board]).toEqual({ added: item.new_images, count_before: 0, count_after: 3 });
    const onBoard = sim.store.imageNames(board).filter((n) => sim.store.getImage(n)?.is_intermediate === false);
    expect(onBoard.sort()).toEqual([...item.new_images].sort());
    // no board mismatch: the workflow's fixed board was replaced
    expect(log.lines.filter((e) => e.level === 'warn')).toEqual([]);
  });
});

describe('run: a real editor workflow through the CLI', () => {
  it('run --url <sim> --workflow sdxl-flux-refine.json --board B prints its records and exits 0', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'cli');
    const r = cli(td, ['run', '--url', sim.url, '--workflow', workflowPath('sdxl-flux-refine'), '--board', board]);
    expect(await r.exited).toBe(0);
    const recs = r.records();
    expect(recs.map((x) => x['type'])).toEqual(['image', 'image', 'image', 'item']);
    const item = itemsOf(recs)[0]!;
    checkCompletedItem(sim, imagesOf(recs), item);
    expect(item.boards[board]).toMatchObject({ count_before: 0, count_after: 3 });
  });

  it('run --workflow flux-image-to-image.json (input seeded) exits 0 with the decode image', async () => {
    const sim = await simulator(td);
    sim.seedImages('none', 1, { names: [FLUX_INPUT_IMAGE] });
    const r = cli(td, ['run', '--url', sim.url, '--workflow', workflowPath('flux-image-to-image'), '--quiet']);
    expect(await r.exited).toBe(0);
    const recs = r.records();
    expect(recs.map((x) => x['type'])).toEqual(['image', 'item']);
    checkCompletedItem(sim, imagesOf(recs), itemsOf(recs)[0]!);
    // what the CLI enqueued is the editor's graph: the server ran the workflow's own node ids
    const stored = sim.store.getQueueItem(itemsOf(recs)[0]!.item_id)!;
    const graph = (stored['session'] as { graph: { nodes: Record<string, unknown> } }).graph;
    expect(Object.keys(graph.nodes)).toContain('7e5172eb-48c1-44db-a770-8fd83e1435d1');
  });
});
