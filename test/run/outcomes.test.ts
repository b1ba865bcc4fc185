import { runWorkflow } from '../../src/run/runWorkflow';
import { MemoryLogger } from '../../src/log';
import type { Simulator } from '../../src/simulator';
import type { ImageRecord, ItemRecord } from '../../src/records';
import { simulator, Teardown } from '../support/harness';
import { blank, failing, graph, saveOne } from '../support/graphs';
import { cli, imagesOf, itemsOf, loadWorkflow, tempDir, until, workflowPath, writeJson } from './support';

const td = new Teardown();
afterEach(() => td.run());

/** blank → blur → blur → …: every node saves an image, one after the other. */
function chain(n: number): Record<string, unknown> {
  const nodes = [blank('n0', { is_intermediate: false })];
  const links: [string, string, string, string][] = [];
  for (let i = 1; i < n; i++) {
    nodes.push({ id: `n${i}`, type: 'img_blur', radius: 1, blur_type: 'gaussian', is_intermediate: false, use_cache: false });
    links.push([`n${i - 1}`, 'image', `n${i}`, 'image']);
  }
  return graph(nodes, links);
}

/** Non-intermediate images the server holds for a session. */
function sessionImages(sim: Simulator, sessionId: string): string[] {
  return sim.store.imageNames().filter((n) => {
    const dto = sim.store.getImage(n);
    return dto?.session_id === sessionId && !dto.is_intermediate;
  });
}

function status(sim: Simulator, itemId: number): unknown {
  return sim.store.getQueueItem(itemId)?.['status'];
}

/** A canceled item: record and server agree, and the images saved before the cancel are there, each once. */
function checkCanceled(sim: Simulator, images: ImageRecord[], item: ItemRecord): void {
  expect(item).toMatchObject({ status: 'canceled', error_type: null, error_message: null });
  expect(status(sim, item.item_id)).toBe('canceled');
  const mine = images.filter((i) => i.item_id === item.item_id).map((i) => i.image_name);
  expect(new Set(mine).size).toBe(mine.length);
  if (item.session_id) expect([...item.new_images].sort()).toEqual(sessionImages(sim, item.session_id).sort());
  expect(mine.sort()).toEqual([...item.new_images].sort());
}

describe('run outcomes: failed', () => {
  it('library: a node that fails makes the item failed, with its error and the images saved before it', async () => {
    const sim = await simulator(td);
    sim.faults.failNode({ nodeType: 'l2i', errorType: 'OutOfMemoryError', errorMessage: 'CUDA out of memory' });
    const { items, images } = await runWorkflow({ url: sim.url, workflow: loadWorkflow('sdxl-text-to-image') });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ status: 'failed', error_type: 'OutOfMemoryError', error_message: 'CUDA out of memory', new_images: [] });
    expect(images).toEqual([]);
    expect(status(sim, items[0]!.item_id)).toBe('failed');
  });

  it('CLI: a failing graph exits 1 with an item record of status failed', async () => {
    const sim = await simulator(td);
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'f.json', failing())]);
    expect(await r.exited).toBe(1);
    const items = itemsOf(r.records());
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: 'item', status: 'failed' });
    expect(items[0]!.error_type).toEqual(expect.any(String));
    expect(status(sim, items[0]!.item_id)).toBe('failed');
    // whatever it saved before failing is reported, and nothing else
    expect(imagesOf(r.records()).map((i) => i.image_name).sort()).toEqual(sessionImages(sim, items[0]!.session_id!).sort());
  });

  it('CLI: --runs 2 where one item fails exits 1 with both item records', async () => {
    const sim = await simulator(td);
    sim.faults.failNode({ sourceId: 'out', count: 1 });
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', saveOne()), '--runs', '2', '--quiet']);
    expect(await r.exited).toBe(1);
    expect(itemsOf(r.records()).map((i) => i.status).sort()).toEqual(['completed', 'failed']);
  });
});

describe('run outcomes: timeout and interrupt cancel the run on the server', () => {
  it('library: timeoutMs with a paused processor cancels every pending item; each is reported canceled', async () => {
    const sim = await simulator(td);
    sim.pauseProcessor();
    const other = sim.store.listQueueItems().length;
    const started = Date.now();
    const result = await runWorkflow({ url: sim.url, graph: saveOne(), runs: 3, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.canceled).toBe(true);
    expect(result.items).toHaveLength(3);
    for (const item of result.items) checkCanceled(sim, result.images, item);
    expect(sim.store.listQueueItems().slice(other).map((i) => i['status'])).toEqual(['canceled', 'canceled', 'canceled']);
  });

  it('library: timeoutMs with slow nodes cancels the running item; the images it saved before are reported', async () => {
    const sim = await simulator(td, { nodeDelayMs: 200 });
    const result = await runWorkflow({ url: sim.url, graph: chain(8), timeoutMs: 700 });
    expect(result.canceled).toBe(true);
    expect(result.items).toHaveLength(1);
    const item = result.items[0]!;
    checkCanceled(sim, result.images, item);
    expect(item.new_images.length).toBeGreaterThan(0);
    expect(item.new_images.length).toBeLessThan(8);
    expect(item.complete).toBe(true);
  });

  it('library: aborting the signal cancels like a timeout', async () => {
    const sim = await simulator(td, { nodeDelayMs: 200 });
    const abort = new AbortController();
    const log = new MemoryLogger();
    const running = runWorkflow({ url: sim.url, graph: chain(8), signal: abort.signal, logger: log });
    await until(() => sim.store.listQueueItems().some((i) => i['status'] === 'in_progress'), 5000, 'the item to start');
    abort.abort();
    const result = await running;
    expect(result.canceled).toBe(true);
    checkCanceled(sim, result.images, result.items[0]!);
    expect(log.lines.some((l) => l.level === 'warn' && /interrupted/.test(l.msg))).toBe(true);
  });

  it('library: a node running when the cancel comes finishes after it; its image is still in the records', async () => {
    const sim = await simulator(td, { nodeDelayMs: 400 });
    const abort = new AbortController();
    const running = runWorkflow({ url: sim.url, graph: chain(3), signal: abort.signal });
    await until(() => sim.store.listQueueItems().some((i) => i['status'] === 'in_progress'), 5000, 'the item to start');
    abort.abort();
    const result = await running;
    const item = result.items[0]!;
    checkCanceled(sim, result.images, item);
    // the first node was running: the server let it finish and save its image after the cancel
    expect(item.new_images).toHaveLength(1);
    expect(item.complete).toBe(true);
  });

  it('CLI: --timeout with a paused processor: items canceled on the server, records canceled, exit 1', async () => {
    const sim = await simulator(td);
    sim.pauseProcessor();
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', saveOne()), '--runs', '2', '--timeout', '1']);
    expect(await r.exited).toBe(1);
    const items = itemsOf(r.records());
    expect(items).toHaveLength(2);
    for (const item of items) checkCanceled(sim, imagesOf(r.records()), item);
    expect(r.stderr()).toMatch(/timeout/);
  });

  it('CLI: --timeout with slow nodes cancels a real workflow mid-way', async () => {
    const sim = await simulator(td, { nodeDelayMs: 200 });
    const r = cli(td, ['run', '--url', sim.url, '--workflow', workflowPath('sdxl-text-to-image'), '--timeout', '1', '--quiet']);
    expect(await r.exited).toBe(1);
    const items = itemsOf(r.records());
    expect(items).toHaveLength(1);
    checkCanceled(sim, imagesOf(r.records()), items[0]!);
    // it was running, not pending, when canceled
    expect(sim.store.getQueueItem(items[0]!.item_id)?.['started_at']).toBeDefined();
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('CLI: %s cancels the run on the server, prints the canceled item and then exits %i', async (signal, code) => {
    const sim = await simulator(td, { nodeDelayMs: 200 });
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', chain(10))]);
    await until(() => sim.store.listQueueItems().some((i) => i['status'] === 'in_progress'), 5000, 'the item to start');
    r.child.kill(signal);
    expect(await r.exited).toBe(code);
    const items = itemsOf(r.records());
    expect(items).toHaveLength(1);
    checkCanceled(sim, imagesOf(r.records()), items[0]!);
    expect(items[0]!.new_images.length).toBeLessThan(10);
    expect(r.stderr()).toMatch(/ warn interrupted: canceling the run's queue items\n/);
  });

  it('CLI: SIGINT while items wait in the queue cancels them all', async () => {
    const sim = await simulator(td);
    sim.pauseProcessor();
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', saveOne()), '--runs', '3']);
    await until(() => sim.store.listQueueItems().length === 3, 5000, 'the items to be enqueued');
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(130);
    expect(itemsOf(r.records()).map((i) => i.status)).toEqual(['canceled', 'canceled', 'canceled']);
    expect(sim.store.listQueueItems().map((i) => i['status'])).toEqual(['canceled', 'canceled', 'canceled']);
  });
});

describe('run: the records hold when the socket misbehaves', () => {
  it('lost status and completion events: polling still finds the item and its images', async () => {
    const sim = await simulator(td);
    sim.faults.add({ event: 'queue_item_status_changed', action: 'drop' });
    sim.faults.add({ event: 'invocation_complete', action: 'drop' });
    const { items, images } = await runWorkflow({ url: sim.url, graph: saveOne(), runs: 2, pollMs: 50 });
    expect(items).toHaveLength(2);
    expect(images).toHaveLength(2);
    for (const item of items) {
      expect(item).toMatchObject({ status: 'completed', complete: true });
      expect(item.new_images).toEqual(sessionImages(sim, item.session_id!));
    }
  });

  it('a server that delivers every event twice (6.13): still one record per image and item', async () => {
    const sim = await simulator(td, { profile: '6.13' });
    const { items, images } = await runWorkflow({ url: sim.url, graph: saveOne(), runs: 2 });
    expect(items).toHaveLength(2);
    expect(images).toHaveLength(2);
    expect(new Set(images.map((i) => i.image_name)).size).toBe(2);
  });
});
