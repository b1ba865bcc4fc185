/**
 * Video outputs (6.14+): nodes whose result is a `video_output` (primitives.py, wan_latents_to_video.py, video_concat.py,
 * video_frame_extract_range.py @v6.14.0-rc1) and the video routes (routers/videos.py@v6.14.0-rc1), validated against
 * openapi-head.json like fidelity.test.ts does.
 */
import type { Simulator } from '../../src/simulator';
import { graph, type Link } from '../support/graphs';
import { check, checkEvents } from './schemas';
import { api, Harness, waitFor, waitTerminal, type EnqueueResult, type InvocationEvent, type QueueItem } from './support';

interface VideoResult {
  video: { video_name: string };
  width: number;
  height: number;
  num_frames: number;
  fps: number;
  duration: number;
  type: string;
  start_frame?: number;
  end_frame?: number;
}

const VAE = { key: 'wan-vae', hash: 'blake3:1', name: 'Wan 2.2 VAE', base: 'wan', type: 'vae' };

/** Every video node: a primitive, a Wan decode, a join, a trim, and a frame taken out. */
function videoGraph(a: string, b: string, board: string): Record<string, unknown> {
  const links: Link[] = [
    ['noise', 'noise', 'decode', 'latents'],
    ['vae', 'vae', 'decode', 'vae'],
  ];
  return graph(
    [
      { id: 'prim', type: 'video', video: { video_name: a } },
      { id: 'noise', type: 'noise', width: 64, height: 48, use_cache: false },
      { id: 'vae', type: 'vae_loader', vae_model: VAE },
      { id: 'decode', type: 'wan_l2v', fps: 24, board: { board_id: board }, use_cache: false },
      { id: 'join', type: 'video_concat', videos: [{ video_name: a }, { video_name: b }], transition: 'crossfade', transition_frames: 8, use_cache: false },
      { id: 'trim', type: 'extract_video_range', video: { video_name: a }, start_frame: 10, end_frame: -1, use_cache: false },
      { id: 'frame', type: 'video_frame_extract', video: { video_name: b }, use_cache: false },
    ],
    links,
  );
}

/** Enqueues a graph and reads the item once its run ended. */
async function run(sim: Simulator, g: Record<string, unknown>): Promise<{ item: QueueItem }> {
  const r = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: g, runs: 1 } });
  expect(r.status).toBe(200);
  const id = r.json.item_ids[0] ?? 0;
  await waitFor(() => ['completed', 'failed'].includes(sim.store.getQueueItem(id)?.['status'] as string), 'the run to end');
  return { item: (await api<QueueItem>(sim, 'GET', `/queue/default/i/${id}`)).json };
}

describe('simulator: video outputs (6.14)', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('video nodes return video_output results; the videos have DTOs, files and thumbnails', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const board = sim.createBoard('clips');
    const [a, b] = sim.seedVideos('none', 2, { width: 832, height: 480, frames: 81, fps: 16 });
    const r = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: videoGraph(a ?? '', b ?? '', board.board_id), runs: 1 } });
    const id = r.json.item_ids[0] ?? 0;
    await waitTerminal(c, [id]);
    expect(checkEvents(c)).toEqual([]);
    const item = (await api<QueueItem>(sim, 'GET', `/queue/default/i/${id}`)).json;
    expect(item.status).toBe('completed');
    expect(check('SessionQueueItem', item, 'openapi-stored')).toEqual([]);
    const bySource = new Map(Object.entries(item.session.prepared_source_mapping).map(([p, s]) => [s, item.session.results[p] as unknown as VideoResult]));

    // The primitive passes the seeded video through, as VideoOutput.build reads its DTO.
    expect(bySource.get('prim')).toEqual({ video: { video_name: a }, width: 832, height: 480, num_frames: 81, fps: 16, duration: 81 / 16, type: 'video_output' });
    // Wan: the latents' size, (21 - 1) * 4 + 1 frames at the node's fps, on the requested board.
    const decoded = bySource.get('decode');
    expect(decoded).toMatchObject({ width: 64, height: 48, num_frames: 81, fps: 24, duration: 81 / 24, type: 'video_output' });
    // A crossfade eats transition_frames at each boundary.
    expect(bySource.get('join')).toMatchObject({ width: 832, height: 480, num_frames: 81 + 81 - 8, fps: 16, type: 'video_output' });
    expect(bySource.get('trim')).toMatchObject({ num_frames: 71, start_frame: 10, end_frame: 80, type: 'extract_video_range_output' });
    const frame = bySource.get('frame') as unknown as { image: { image_name: string }; width: number; height: number };
    expect([frame.width, frame.height]).toEqual([832, 480]);

    const completes = c.of<InvocationEvent>('invocation_complete').filter((e) => e.item_id === id);
    const decodeEvent = completes.find((e) => e.invocation_source_id === 'decode');
    expect(decodeEvent?.result).toEqual({ output_meta: null, ...decoded });

    const name = decoded?.video.video_name ?? '';
    expect(name).toMatch(/^[0-9a-f-]{36}\.mp4$/);
    const dto = await api<Record<string, unknown>>(sim, 'GET', `/videos/i/${name}`);
    expect(dto.status).toBe(200);
    expect(check('VideoDTO', dto.json)).toEqual([]);
    expect(dto.json).toMatchObject({
      video_name: name,
      video_url: `api/v1/videos/i/${name}/full`,
      thumbnail_url: `api/v1/videos/i/${name}/thumbnail`,
      width: 64,
      height: 48,
      duration: 81 / 24,
      fps: 24,
      session_id: item.session_id,
      node_id: item.session.source_prepared_mapping['decode']?.[0],
      board_id: board.board_id,
      is_intermediate: false,
    });
    const trimmed = await api<Record<string, unknown>>(sim, 'GET', `/videos/i/${bySource.get('trim')?.video.video_name ?? ''}`);
    expect(trimmed.json).toMatchObject({ board_id: null, duration: 71 / 16 });
    const file = await fetch(`${sim.url}/${String(dto.json['video_url'])}`);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect([file.status, file.headers.get('content-type'), bytes.subarray(4, 8).toString('ascii')]).toEqual([200, 'video/mp4', 'ftyp']);
    const thumb = Buffer.from(await (await fetch(`${sim.url}/${String(dto.json['thumbnail_url'])}`)).arrayBuffer());
    expect(thumb.subarray(8, 12).toString('ascii')).toBe('WEBP');
    expect(check('VideoUrlsDTO', (await api(sim, 'GET', `/videos/i/${name}/urls`)).json)).toEqual([]);
    expect((await api(sim, 'GET', '/videos/i/missing.mp4')).json).toEqual({ detail: 'Not Found' });

    const boardDto = await api<Record<string, unknown>>(sim, 'GET', `/boards/${board.board_id}`);
    expect(check('BoardDTO', boardDto.json)).toEqual([]);
    expect(boardDto.json).toMatchObject({ video_count: 1, cover_video_name: name, cover_image_name: null });
    const deleted = await api<Record<string, unknown>>(sim, 'DELETE', `/boards/${board.board_id}?include_images=true`);
    expect(check('DeleteBoardResult', deleted.json)).toEqual([]);
    expect(deleted.json).toMatchObject({ deleted_videos: [name], deleted_board_videos: [] });
    expect((await api(sim, 'GET', `/videos/i/${name}`)).status).toBe(404);
  });

  test('a video input that does not exist fails the node', async () => {
    const sim = await h.start();
    const { item } = await run(sim, graph([{ id: 'prim', type: 'video', video: { video_name: 'gone.mp4' } }]));
    expect(item).toMatchObject({ status: 'failed', error_type: 'VideoRecordNotFoundException', error_message: 'Video record not found' });
  });

  test('before 6.14 there are no video nodes (422) and no video routes', async () => {
    const sim = await h.start({ profile: '6.13' });
    const r = await api<{ detail: { type: string }[] }>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: graph([{ id: 'v', type: 'video' }]), runs: 1 } });
    expect([r.status, r.json.detail[0]?.type]).toEqual([422, 'union_tag_invalid']);
    // 6.13's web UI answers the unknown GET with its index.html.
    const res = await fetch(`${sim.url}/api/v1/videos/i/x.mp4`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect(() => sim.seedVideos('none', 1)).toThrow(/predates videos/);
  });

  test('multi-user: a video is its session owner’s (and the admins’)', async () => {
    const alice = { email: 'alice@example.com', password: 'alice-secret-pw' };
    const bob = { email: 'bob@example.com', password: 'bob-secret-pw' };
    const sim = await h.start({ multiuser: true, users: [alice, bob] });
    const login = async (who: { email: string; password: string }): Promise<string> =>
      ((await (await fetch(`${sim.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who) })).json()) as { token: string }).token;
    const [ta, tb] = [await login(alice), await login(bob)];
    const g = graph(
      [
        { id: 'noise', type: 'noise', width: 64, height: 64 },
        { id: 'vae', type: 'vae_loader', vae_model: VAE },
        { id: 'decode', type: 'wan_l2v' },
      ],
      [
        ['noise', 'noise', 'decode', 'latents'],
        ['vae', 'vae', 'decode', 'vae'],
      ],
    );
    const enq = await fetch(`${sim.url}/api/v1/queue/default/enqueue_batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ta}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: { graph: g, runs: 1 } }),
    });
    const id = ((await enq.json()) as { item_ids: number[] }).item_ids[0] ?? 0;
    await waitFor(() => sim.store.getQueueItem(id)?.['status'] === 'completed', 'completed');
    const results = Object.values((sim.store.getQueueItem(id)?.['session'] as { results: Record<string, { type: string; video?: { video_name: string } }> }).results);
    const name = results.find((o) => o.type === 'video_output')?.video?.video_name ?? '';
    const get = (token: string): Promise<number> => fetch(`${sim.url}/api/v1/videos/i/${name}`, { headers: { authorization: `Bearer ${token}` } }).then((res) => res.status);
    expect([await get(ta), await get(tb)]).toEqual([200, 403]);
    expect(sim.store.getVideo(name)?.session_id).toBe(sim.store.getQueueItem(id)?.['session_id']);
  });
});
