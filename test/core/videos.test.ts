import { createBoard, enqueue, simulator, Teardown, watch } from '../support/harness';
import { blank, graph, type Link } from '../support/graphs';
import { startApiProxy } from '../support/apiProxy';

/*
 * Issue 12, behaviour 12: video outputs (6.14: `video_output` results, `GET /videos/i/{name}`) are recognised as
 * outputs, so the ledger does not count them as missing images. They are not reported as records (yet).
 */

const td = new Teardown();
afterEach(() => td.run());

const VAE = { key: 'wan-vae', hash: 'blake3:1', name: 'Wan 2.2 VAE', base: 'wan', type: 'vae' };
const WAN: Link[] = [
  ['noise', 'noise', 'decode', 'latents'],
  ['vae', 'vae', 'decode', 'vae'],
];

/** noise → Wan latents-to-video (saved on `board`), plus a join and a trim of two seeded clips. */
function videoOnly(board: string, a: string, b: string): Record<string, unknown> {
  return graph(
    [
      { id: 'noise', type: 'noise', width: 64, height: 48, use_cache: false },
      { id: 'vae', type: 'vae_loader', vae_model: VAE },
      { id: 'decode', type: 'wan_l2v', fps: 24, board: { board_id: board }, use_cache: false },
      { id: 'join', type: 'video_concat', videos: [{ video_name: a }, { video_name: b }], board: { board_id: board }, use_cache: false },
      { id: 'trim', type: 'extract_video_range', video: { video_name: a }, start_frame: 10, end_frame: -1, use_cache: false },
    ],
    WAN,
  );
}

const warnings = (w: ReturnType<typeof watch>): string[] => w.log.lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg);

it('an item whose output nodes only make videos is complete, with no image record and no warning', async () => {
  const sim = await simulator(td);
  const board = await createBoard(sim, 'clips');
  const [a, b] = sim.seedVideos('none', 2);
  const w = watch(td, { url: sim.url });
  await w.connected;
  await enqueue(sim, videoOnly(board, a!, b!));
  const [item] = await w.items$(1);
  const results = Object.values((sim.store.getQueueItem(item!.item_id)!['session'] as { results: Record<string, { type: string }> }).results);
  expect(results.filter((r) => r.type === 'video_output')).toHaveLength(2); // the decode and the join made videos
  expect(item).toMatchObject({ status: 'completed', complete: true, nodes: {}, new_images: [], via: [] });
  expect(w.images()).toEqual([]);
  expect(warnings(w)).toEqual([]);
});

it('no image listing is needed to account for them: complete even while the listing route fails', async () => {
  const sim = await simulator(td);
  const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
  proxy.hooks = { respond: (req) => (req.method === 'GET' && req.path === '/api/v1/images/' ? { status: 503, headers: { 'retry-after': '0' } } : null) };
  const board = await createBoard(sim, 'clips');
  const [a, b] = sim.seedVideos('none', 2);
  const w = watch(td, { url: proxy.url });
  await w.connected;
  await enqueue(sim, videoOnly(board, a!, b!));
  const [item] = await w.items$(1);
  expect(item).toMatchObject({ status: 'completed', complete: true, new_images: [] });
  expect(proxy.requests.filter((r) => r.startsWith('GET /api/v1/images/?'))).toEqual([]);
  expect(warnings(w)).toEqual([]);
});

it('the same with every invocation_complete lost: the stored results say the outputs were videos', async () => {
  const sim = await simulator(td);
  const board = await createBoard(sim, 'clips');
  const [a, b] = sim.seedVideos('none', 2);
  sim.faults.add({ event: 'invocation_complete', action: 'drop' });
  const w = watch(td, { url: sim.url });
  await w.connected;
  await enqueue(sim, videoOnly(board, a!, b!));
  const [item] = await w.items$(1);
  expect(item).toMatchObject({ status: 'completed', complete: true, new_images: [] });
  expect(w.images()).toEqual([]);
  expect(warnings(w)).toEqual([]);
});

it('a video and an image in one item: the image is reported, the video is not a missing image', async () => {
  const sim = await simulator(td);
  const board = await createBoard(sim, 'mixed');
  const g = graph(
    [
      { id: 'noise', type: 'noise', width: 64, height: 48, use_cache: false },
      { id: 'vae', type: 'vae_loader', vae_model: VAE },
      { id: 'decode', type: 'wan_l2v', board: { board_id: board }, use_cache: false },
      blank('still', { board: { board_id: board } }),
    ],
    WAN,
  );
  const w = watch(td, { url: sim.url });
  await w.connected;
  await enqueue(sim, g);
  const [item] = await w.items$(1);
  expect(item).toMatchObject({ status: 'completed', complete: true, new_images: sim.store.imageNames(board) });
  expect(Object.keys(item!.nodes)).toEqual(['still']);
  expect(w.images()).toHaveLength(1);
  expect(warnings(w)).toEqual([]);
});
