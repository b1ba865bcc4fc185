import { createBoard, enqueue, simulator, sleep, Teardown, watch } from '../support/harness';
import { iterate, saveOne } from '../support/graphs';
import { PROFILES } from '../../src/simulator';

const td = new Teardown();
afterEach(() => td.run());

/*
 * Every server generation the simulator imitates (docs/protocol.md §6.1): the same work gives the same records, whatever
 * the field names, rooms, duplicate delivery, or where (if anywhere) the finished session keeps its results.
 */
describe.each(Object.keys(PROFILES))('server generation %s', (profile) => {
  it('reports each output once, on the right board, complete', async () => {
    const sim = await simulator(td, { profile });
    const board = await createBoard(sim, 'b');
    const w = watch(td, { url: sim.url, reconcileIntervalMs: 0 });
    await w.connected;
    await enqueue(sim, saveOne(board));
    await enqueue(sim, iterate(2));
    const items = await w.items$(2);
    await sleep(100);
    expect(w.items()).toHaveLength(2);
    expect(items.map((i) => [i.status, i.complete])).toEqual([
      ['completed', true],
      ['completed', true],
    ]);
    expect(items[0]!.nodes['out']).toMatchObject({ board_id: board, image_names: [expect.any(String)] });
    expect(items[1]!.nodes['tile']?.image_names).toHaveLength(2);
    const names = w.images().map((i) => i.image_name);
    expect(new Set(names).size).toBe(3);
    expect(names).toHaveLength(3);
    expect(w.log.lines.filter((l) => /dropped invalid/.test(l.msg))).toEqual([]);
  });

  it('finds outputs whose events were lost, with what this generation keeps', async () => {
    const sim = await simulator(td, { profile });
    const board = await createBoard(sim, 'b');
    const w = watch(td, { url: sim.url, reconcileIntervalMs: 0 });
    await w.connected;
    sim.faults.add({ event: 'invocation_complete', action: 'drop' });
    await enqueue(sim, saveOne(board));
    const [item] = await w.items$(1);
    expect(w.log.lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(item).toMatchObject({ status: 'completed', complete: true });
    expect(item!.nodes['out']?.image_names).toHaveLength(1);
    const via = w.images()[0]!.via;
    // 4.2.4+ keep results in the queue item, 3.x in the sessions API; 4.0–4.2.3 only in the image listings.
    expect(via).toBe(sim.profile.sessionResults || sim.profile.sessionsRoute ? 'queue_item' : 'board_diff');
  });
});

it('5.15: an item running when the server restarts is pruned; it is reported once, incomplete, with its images', async () => {
  const sim = await simulator(td, { profile: '5.15', nodeDelayMs: 150 });
  const board = await createBoard(sim, 'b');
  const w = watch(td, { url: sim.url, backoff: { min: 100, max: 200 }, reconcileIntervalMs: 0 });
  await w.connected;
  const { item_ids } = await enqueue(sim, saveOne(board));
  expect(item_ids).toBeUndefined(); // before 6.0 the enqueue answer has no item ids
  await sleep(250); // running: the intermediate image exists, the output not yet
  await sim.stopListener();
  await sim.startListener();
  const [item] = await w.items$(1, 8000);
  expect(item).toMatchObject({ status: 'canceled', complete: false });
  expect(w.log.lines.some((l) => l.level === 'warn' && /gone/.test(l.msg))).toBe(true);
});
