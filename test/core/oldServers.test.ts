import { existsSync, readFileSync } from 'node:fs';
import { api, createBoard, enqueue, sessionImages, simulator, Teardown, watch } from '../support/harness';
import { iterate, saveOne } from '../support/graphs';
import { startApiProxy, type ApiProxy } from '../support/apiProxy';
import { cliWith, connectedTimes } from '../cli/spawn';
import { isTerminal, statusOf, tempDir, until } from './support';

/*
 * Issue 12, behaviour 2: servers before 6.0 answer 500 (not 404) for an unknown, pruned or deleted queue item
 * (docs/protocol.md §5.2). Discovery and "is it gone?" use `GET /queue/{q}/list` there; no id probing; pruned items
 * are reported once with `complete: false` and every image found by `session_id`.
 */

const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);

/** Ids of every `GET …/queue/default/i/{id}` the proxy passed on. */
function itemReads(proxy: ApiProxy): number[] {
  return proxy.requests.flatMap((r) => {
    const m = /^GET \/api\/v1\/queue\/default\/i\/(\d+)(?:\?|$)/.exec(r);
    return m ? [Number(m[1])] : [];
  });
}

const listed = (proxy: ApiProxy): boolean => proxy.requests.some((r) => r.startsWith('GET /api/v1/queue/default/list'));

describe.each(['5.15', '4.2.4', '4.2.3', '3.7'])('%s: a missing item is a 500', (profile) => {
  it('a fresh cursor and a restart with --state find items by the list, never by probing ids', async () => {
    const sim = await simulator(td, { profile });
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    const { file } = tempDir(td);
    const state = file('cursor.json');
    const first = watch(td, { url: proxy.url, state, backoff: { min: 50, max: 100 } });
    await first.connected;
    await enqueue(sim, saveOne());
    await first.items$(1);
    await first.watcher.close();
    // Two items finish while no watcher runs.
    await enqueue(sim, saveOne());
    await enqueue(sim, saveOne());
    await until(() => [2, 3].every((id) => isTerminal(statusOf(sim, id))), 'items 2 and 3 to finish');
    const second = watch(td, { url: proxy.url, state, backoff: { min: 50, max: 100 } });
    const items = await second.items$(2);
    expect(items.map((i) => i.item_id).sort()).toEqual([2, 3]);
    for (const i of items) {
      expect(i).toMatchObject({ status: 'completed', new_images: sessionImages(sim, i.session_id!) });
      expect(i.new_images).toHaveLength(1);
      // 4.0–4.2.3 keep neither results nor the prepared → workflow node mapping: with no event heard, the image is
      // found by its session but its workflow node cannot be told, and the item says so.
      if (profile === '4.2.3') expect(i.complete).toBe(false);
      else expect(i.complete).toBe(true);
    }
    if (profile === '4.2.3') expect(second.log.lines.some((l) => l.level === 'warn' && /the workflow node that made .* is unknown/.test(l.msg))).toBe(true);
    expect(first.items().map((i) => i.item_id)).toEqual([1]);
    expect(listed(proxy)).toBe(true);
    // Ids 1–3 exist; any read of another id would be a probe (a 500 on these servers).
    expect(itemReads(proxy).filter((id) => id > 3)).toEqual([]);
  });
});

it('5.15: an item that finished while the daemon was down and was pruned at a server restart is reported once, incomplete, with every image', async () => {
  const sim = await simulator(td, { profile: '5.15', nodeDelayMs: 150 });
  const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
  const board = await createBoard(sim, 'b');
  const { file } = tempDir(td);
  const state = file('cursor.json');
  const first = cli(['watch', '--url', proxy.url, '--state', state]);
  await connectedTimes(first);
  await enqueue(sim, iterate(3, board));
  // The daemon heard the item start (its session id is in the state file) and is killed, long before the item ends.
  const session = sim.store.getQueueItem(1)!['session_id'] as string;
  const saved = (): string => [state, `${state}.journal`].map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : '')).join('');
  await until(() => saved().includes(session), 'the item in the state file');
  first.child.kill('SIGKILL');
  await first.exited;
  await until(() => statusOf(sim, 1) === 'completed', 'the item to complete');
  const made = sessionImages(sim, session);
  expect(made).toHaveLength(3);
  await sim.stopListener();
  await sim.startListener();
  expect(sim.store.getQueueItem(1)).toBeUndefined(); // pruned at start (3.2–5.15)

  const second = cli(['watch', '--url', proxy.url, '--state', state]);
  await second.waitFor((rs) => rs.some((r) => r['type'] === 'item'));
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);

  const all = [...first.records(), ...second.records()];
  const items = all.filter((r) => r['type'] === 'item');
  expect(items).toHaveLength(1);
  expect(items[0]).toMatchObject({ item_id: 1, session_id: session, complete: false });
  // Found by session_id on a board the daemon never heard of (the graph is gone with the item).
  expect([...(items[0]!['new_images'] as string[])].sort()).toEqual([...made].sort());
  const images = all.filter((r) => r['type'] === 'image');
  expect(images.map((r) => r['image_name'] as string).sort()).toEqual([...made].sort()); // each once
  for (const img of second.records().filter((r) => r['type'] === 'image')) expect(img).toMatchObject({ board_id: board, via: 'board_diff' });
  expect(second.stderr()).toMatch(/warn item 1 .*incomplete.*gone/);
  expect(listed(proxy)).toBe(true);
  expect(itemReads(proxy).filter((id) => id !== 1)).toEqual([]);
});

it('5.15: a server restart that prunes the newest items (an older one still pending) is not taken for a database reset', async () => {
  const sim = await simulator(td, { profile: '5.15', nodeDelayMs: 100 });
  const { file } = tempDir(td);
  sim.pauseProcessor();
  const prepend = (): Promise<unknown> => api(sim.url, 'POST', '/queue/default/enqueue_batch', { batch: { graph: saveOne(), runs: 1 }, prepend: true });
  await enqueue(sim, saveOne()); // 1: waits behind the two prepended ones
  await prepend(); // 2
  await prepend(); // 3
  const w = watch(td, { url: sim.url, state: file('cursor.json'), backoff: { min: 50, max: 100 } });
  await w.connected;
  sim.resumeProcessor();
  // 3 runs first (the highest priority), then 2: once 2 runs, the pause keeps 1 pending.
  await until(() => statusOf(sim, 2) === 'in_progress' || statusOf(sim, 2) === 'completed', 'item 2 to start');
  sim.pauseProcessor();
  await w.items$(2);
  expect(statusOf(sim, 1)).toBe('pending');
  const again = new Promise<void>((resolve) => w.watcher.once('connected', () => resolve()));
  await sim.stopListener();
  await sim.startListener(); // 2 and 3 are pruned; 1 is listed, below ids already reported
  await again;
  sim.resumeProcessor();
  const items = await w.items$(3);
  expect(items.map((i) => i.item_id)).toEqual([3, 2, 1]);
  expect(w.log.lines.filter((l) => /database was reset/.test(l.msg))).toEqual([]);
});
