import { runWorkflow } from '../../src/run/runWorkflow';
import type { Simulator } from '../../src/simulator';
import type { ImageRecord, ItemRecord } from '../../src/records';
import { createBoard, enqueue, sessionImages, simulator, Teardown } from '../support/harness';
import { failing, saveOne, twoOutputs } from '../support/graphs';
import { boardCount, boardIds, cli, imagesOf, itemsOf, tempDir, until, writeJson } from './support';

const td = new Teardown();
afterEach(() => td.run());


/** Records of a `--temp-board --board final` run: only final is named, and only this run's images are listed. */
function checkOnFinal(sim: Simulator, images: ImageRecord[], items: ItemRecord[], final: string): void {
  for (const item of items) {
    expect(Object.keys(item.boards)).toEqual([final]);
    const mine = sessionImages(sim, item.session_id!);
    expect([...item.new_images].sort()).toEqual(mine.sort());
    expect(item.boards[final]!.added).toEqual(item.new_images);
    const { count_before, count_after } = item.boards[final]!;
    expect(count_after! - count_before!).toBe(item.new_images.length);
    for (const n of Object.values(item.nodes)) expect(n.board_id).toBe(final);
  }
  for (const img of images) {
    expect(img).toMatchObject({ board_id: final, requested_board_id: final });
    expect(sim.store.getImage(img.image_name)?.board_id).toBe(final);
  }
}

describe('run --temp-board', () => {
  it('isolates the run: foreign work writing to the same final board meanwhile is never in its records', async () => {
    const sim = await simulator(td, { nodeDelayMs: 5 });
    const final = await createBoard(sim, 'final');
    sim.seedImages(final, 3);
    sim.pauseProcessor();
    // foreign work queued before ours, after ours, and a second run of ours with its own temporary board
    const before = await enqueue(sim, saveOne(final), { runs: 2 });
    const ours = runWorkflow({ url: sim.url, graph: twoOutputs('ignored'), board: final, tempBoard: true, runs: 2 });
    await until(() => sim.store.listQueueItems().length === 4, 5000, 'our items to be queued');
    const after = await enqueue(sim, twoOutputs(final));
    const theirs = runWorkflow({ url: sim.url, graph: saveOne(), board: final, tempBoard: true });
    await until(() => sim.store.listQueueItems().length === 6, 5000, 'the other run to be queued');
    // both temporary boards exist while the runs go on
    expect(await boardIds(sim)).toHaveLength(3);
    sim.resumeProcessor();
    const [a, b] = await Promise.all([ours, theirs]);

    expect(a.items).toHaveLength(2);
    expect(a.images).toHaveLength(4);
    checkOnFinal(sim, a.images, a.items, final);
    checkOnFinal(sim, b.images, b.items, final);
    const foreign = new Set(
      [...before.item_ids, ...after.item_ids].flatMap((id) => sessionImages(sim, sim.store.getQueueItem(id)!['session_id'] as string)),
    );
    expect(foreign.size).toBe(4);
    for (const img of [...a.images, ...b.images]) expect(foreign.has(img.image_name)).toBe(false);
    expect(new Set(a.images.map((i) => i.image_name)).size).toBe(4);
    // the final board holds everything: 3 seeded, 4 foreign, 4 + 1 from the two runs
    expect(boardCount(sim, final)).toBe(12);
    // the counts of our last item are the board's right after its images arrived
    expect(a.items[1]!.boards[final]!.count_after).toBeLessThanOrEqual(12);
    expect(a.items[0]!.boards[final]!.count_before).toBeGreaterThanOrEqual(3);
    // both temporary boards are gone; only the final board is left
    expect(await boardIds(sim)).toEqual([final]);
  });

  it('without --board keeps the temporary board: records name it, counts start at 0', async () => {
    const sim = await simulator(td);
    const { items, images } = await runWorkflow({ url: sim.url, graph: saveOne(), tempBoard: true, runs: 2 });
    const temp = images[0]!.board_id;
    expect(temp).not.toBe('none');
    expect(await boardIds(sim)).toEqual([temp]);
    expect(sim.store.getBoard(temp)?.board_name).toMatch(/^invokeai-outputs run /);
    expect(images.every((i) => i.board_id === temp && i.requested_board_id === temp)).toBe(true);
    expect(items.map((i) => i.boards[temp])).toEqual([
      { added: items[0]!.new_images, count_before: 0, count_after: 1 },
      { added: items[1]!.new_images, count_before: 1, count_after: 2 },
    ]);
    expect(boardCount(sim, temp)).toBe(2);
  });

  it('with --board none the outputs end uncategorized and the temporary board is deleted', async () => {
    const sim = await simulator(td);
    sim.seedImages('none', 2);
    const { items, images } = await runWorkflow({ url: sim.url, graph: saveOne(), tempBoard: true, board: 'none' });
    expect(images[0]).toMatchObject({ board_id: 'none', requested_board_id: 'none' });
    expect(sim.store.getImage(images[0]!.image_name)?.board_id ?? 'none').toBe('none');
    expect(items[0]!.boards).toEqual({ none: { added: items[0]!.new_images, count_before: 2, count_after: 3 } });
    expect(await boardIds(sim)).toEqual([]);
  });

  it('a failed or timed-out run still moves what it made and deletes the temporary board', async () => {
    const sim = await simulator(td);
    const final = await createBoard(sim, 'final');
    const failed = await runWorkflow({ url: sim.url, graph: failing(), board: final, tempBoard: true });
    expect(failed.items[0]!.status).toBe('failed');
    checkOnFinal(sim, failed.images, failed.items, final);
    expect(await boardIds(sim)).toEqual([final]);

    sim.pauseProcessor();
    const timedOut = await runWorkflow({ url: sim.url, graph: saveOne(), board: final, tempBoard: true, timeoutMs: 200 });
    expect(timedOut.items[0]).toMatchObject({ status: 'canceled', boards: { [final]: { added: [] } } });
    expect(await boardIds(sim)).toEqual([final]);
  });

  it('CLI: --temp-board --board F exits 0, records name F, the temporary board is gone', async () => {
    const sim = await simulator(td);
    const final = await createBoard(sim, 'final');
    sim.seedImages(final, 4);
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', twoOutputs('x')), '--temp-board', '--board', final]);
    expect(await r.exited).toBe(0);
    checkOnFinal(sim, imagesOf(r.records()), itemsOf(r.records()), final);
    expect(itemsOf(r.records())[0]!.boards[final]).toMatchObject({ count_before: 4, count_after: 6 });
    expect(await boardIds(sim)).toEqual([final]);
  });

  it('CLI: --temp-board alone keeps the board the records name', async () => {
    const sim = await simulator(td);
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', saveOne()), '--temp-board', '--quiet']);
    expect(await r.exited).toBe(0);
    const item = itemsOf(r.records())[0]!;
    const [temp] = Object.keys(item.boards);
    expect(await boardIds(sim)).toEqual([temp]);
    expect(imagesOf(r.records())[0]!.board_id).toBe(temp);
  });
});
