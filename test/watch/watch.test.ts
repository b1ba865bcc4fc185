import { api, capturedGraph, createBoard, enqueue, simulator, Teardown, watch } from '../support/harness';
import { cachedBlank, failing, iterate, saveOne, twoOutputs } from '../support/graphs';
import type { ImageRecord } from '../../src/records';

interface Dto {
  image_name: string;
  board_id: string | null;
  session_id: string;
  node_id: string;
  is_intermediate: boolean;
}

const td = new Teardown();
afterEach(() => td.run());

describe('watch', () => {
  it('reports the image of an output node and then its item, confirmed by the DTO', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'outputs');
    const w = watch(td, { url: sim.url });
    await w.connected;
    const { item_ids } = await enqueue(sim, saveOne(board));
    const item = (await w.items$(1))[0]!;
    const images = w.images();
    expect(images).toHaveLength(1);
    const img = images[0]!;
    const dto = await api<Dto>(sim.url, 'GET', `/images/i/${img.image_name}`);
    expect(img).toMatchObject({
      type: 'image',
      server: sim.url,
      queue_id: 'default',
      item_id: item_ids[0],
      node_id: 'out',
      prepared_node_id: dto.node_id,
      node_type: 'save_image',
      board_id: board,
      requested_board_id: board,
      session_id: dto.session_id,
      is_intermediate: false,
      cached: false,
      root_item_id: item_ids[0],
      via: 'socket',
    });
    expect(img.prepared_node_id).not.toBe('out');
    expect(img.image_url).toBe(`${sim.url}/api/v1/images/i/${img.image_name}/full`);
    expect(item).toMatchObject({
      type: 'item',
      item_id: item_ids[0],
      status: 'completed',
      error_type: null,
      nodes: { out: { node_type: 'save_image', board_id: board, image_names: [img.image_name] } },
      new_images: [img.image_name],
      boards: { [board]: { added: [img.image_name], count_before: null, count_after: null } },
      via: ['socket'],
      complete: true,
    });
    // the item record comes after every image record of the item
    expect(w.records.map((r) => r.type)).toEqual(['image', 'item']);
    // the intermediate blank image is not an output
    expect(Object.keys(item.nodes)).toEqual(['out']);
  });

  it('groups the executions of an iterated node under its workflow node id', async () => {
    const sim = await simulator(td);
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, iterate(3));
    const item = (await w.items$(1))[0]!;
    const images = w.images();
    expect(images).toHaveLength(3);
    expect(new Set(images.map((i) => i.node_id))).toEqual(new Set(['tile']));
    expect(new Set(images.map((i) => i.prepared_node_id)).size).toBe(3);
    expect(images.every((i) => i.board_id === 'none' && i.requested_board_id === 'none')).toBe(true);
    expect(item.nodes['tile']?.image_names).toHaveLength(3);
    expect(item.new_images).toEqual(item.nodes['tile']?.image_names);
  });

  it('lists two output nodes on one board separately', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'shared');
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, twoOutputs(board));
    const item = (await w.items$(1))[0]!;
    expect(Object.keys(item.nodes).sort()).toEqual(['out_a', 'out_b']);
    expect(item.boards[board]?.added).toHaveLength(2);
    expect(item.complete).toBe(true);
  });

  it('reports a cache hit as cached, outside new_images', async () => {
    const sim = await simulator(td);
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, cachedBlank());
    await w.items$(1);
    await enqueue(sim, cachedBlank());
    const [first, second] = await w.items$(2);
    const firstImage = first!.new_images[0]!;
    expect(second!.new_images).toEqual([]);
    expect(second!.nodes['cached']?.image_names).toEqual([firstImage]);
    const hit = w.images().find((i) => i.item_id === second!.item_id) as ImageRecord;
    expect(hit).toMatchObject({ cached: true, image_name: firstImage, node_id: 'cached' });
    expect(second!.boards).toEqual({});
  });

  it('leaves intermediate images out unless asked for', async () => {
    const sim = await simulator(td);
    const plain = watch(td, { url: sim.url });
    const all = watch(td, { url: sim.url, includeIntermediate: true });
    await Promise.all([plain.connected, all.connected]);
    await enqueue(sim, saveOne());
    const [[a], [b]] = await Promise.all([plain.items$(1), all.items$(1)]);
    expect(Object.keys(a!.nodes)).toEqual(['out']);
    expect(Object.keys(b!.nodes).sort()).toEqual(['make', 'out']);
    expect(all.images().find((i) => i.node_id === 'make')?.is_intermediate).toBe(true);
  });

  it('reports a failed item with its error and the images made before the failure', async () => {
    const sim = await simulator(td);
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, failing());
    const item = (await w.items$(1))[0]!;
    expect(item).toMatchObject({ status: 'failed', complete: true });
    expect(item.error_type).toEqual(expect.any(String));
    expect(item.error_message).toEqual(expect.any(String));
    for (const name of item.new_images) expect(w.images().some((i) => i.image_name === name && i.node_id === 'first')).toBe(true);
  });

  it('drops duplicated events and survives reordered ones, reporting each image once', async () => {
    const sim = await simulator(td);
    sim.faults.add({ event: 'invocation_complete', action: 'duplicate' });
    sim.faults.add({ event: 'queue_item_status_changed', action: 'duplicate' });
    sim.faults.add({ event: 'invocation_complete', action: 'reorder' });
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, iterate(2));
    await enqueue(sim, saveOne());
    const items = await w.items$(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(w.items()).toHaveLength(2);
    const names = w.images().map((i) => i.image_name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(3);
    for (const item of items) expect(item.complete).toBe(true);
  });

  it('follows a server under a path prefix', async () => {
    const sim = await simulator(td, { base: '/invoke' });
    expect(sim.url).toMatch(/\/invoke$/);
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, saveOne());
    const item = (await w.items$(1))[0]!;
    expect(item.complete).toBe(true);
    expect(w.images()[0]!.image_url).toContain('/invoke/api/v1/images/i/');
  });

  it('warns when an image lands on another board than requested', async () => {
    const sim = await simulator(td);
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, saveOne('no-such-board'));
    const item = (await w.items$(1))[0]!;
    expect(w.images()[0]).toMatchObject({ board_id: 'none', requested_board_id: 'no-such-board' });
    expect(item.boards['none']?.added).toHaveLength(1);
    expect(w.log.lines.some((l) => l.level === 'warn' && /not on the requested board no-such-board/.test(l.msg))).toBe(true);
  });
});

describe('watch: real and collection outputs', () => {
  it('reports the output of a real editor workflow (sdxl-text-to-image) as the server stored it', async () => {
    const sim = await simulator(td);
    const w = watch(td, { url: sim.url });
    await w.connected;
    const { item_ids } = await enqueue(sim, capturedGraph('sdxl-text-to-image'));
    const item = (await w.items$(1))[0]!;
    expect(item).toMatchObject({ item_id: item_ids[0], status: 'completed', complete: true, via: ['socket'] });
    // the only non-intermediate image node of that workflow is the l2i "canvas_output"
    expect(Object.keys(item.nodes)).toEqual(['canvas_output:JbPTiAJ26r']);
    const stored = sim.store.getQueueItem(item_ids[0]!) as { session: { prepared_source_mapping: Record<string, string> } };
    const img = w.images()[0]!;
    expect(stored.session.prepared_source_mapping[img.prepared_node_id!]).toBe('canvas_output:JbPTiAJ26r');
    expect(img).toMatchObject({ node_type: 'l2i', board_id: 'none', requested_board_id: 'none', width: 768, height: 1024 });
    expect(sim.store.getImage(img.image_name)).toMatchObject({ session_id: item.session_id, node_id: img.prepared_node_id });
  });

  it('reports every image of a node that returns a collection', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'gen');
    const w = watch(td, { url: sim.url });
    await w.connected;
    await enqueue(sim, {
      id: 'c',
      nodes: {
        gen: {
          id: 'gen',
          type: 'openai_image_generation',
          model: { key: 'gpt-image-1', hash: 'x', name: 'gpt-image-1', base: 'openai', type: 'main' },
          prompt: 'three lighthouses',
          num_images: 3,
          board: { board_id: board },
          is_intermediate: false,
          use_cache: false,
        },
      },
      edges: [],
    });
    const item = (await w.items$(1))[0]!;
    expect(item.nodes['gen']?.image_names).toHaveLength(3);
    expect(item.boards[board]?.added).toEqual(item.nodes['gen']?.image_names);
    expect(new Set(w.images().map((i) => i.prepared_node_id)).size).toBe(1);
  });
});
