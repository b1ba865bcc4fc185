import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueue, simulator, sleep, Teardown } from '../support/harness';
import { iterate, saveOne } from '../support/graphs';
import { cliWith, connectedTimes } from './spawn';

const td = new Teardown();
afterEach(() => td.run());

const cli = cliWith(td);

const connected = connectedTimes;

const itemIds = (rs: Record<string, unknown>[]): number[] => rs.filter((r) => r['type'] === 'item').map((r) => r['item_id'] as number);

describe('--state', () => {
  it('after kill -9 and a restart, reports what finished while down, and nothing twice', async () => {
    const sim = await simulator(td);
    const state = join(mkdtempSync(join(tmpdir(), 'ioo-state-')), 'cursor.json');
    const first = cli(['watch', '--url', sim.url, '--state', state]);
    await connected(first);
    const a = await enqueue(sim, saveOne());
    await first.waitFor((rs) => itemIds(rs).length === 1);
    // The cursor is saved right after the record is printed; see README ("--state") for that instant.
    await sleep(150);
    first.child.kill('SIGKILL');
    await first.exited;

    // finished while the daemon was down
    const b = await enqueue(sim, saveOne());
    const c = await enqueue(sim, iterate(2));
    await sleep(400);

    const second = cli(['watch', '--url', sim.url, '--state', state]);
    await second.waitFor((rs) => itemIds(rs).length === 2);
    const d = await enqueue(sim, saveOne());
    await second.waitFor((rs) => itemIds(rs).length === 3);
    await sleep(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    expect(itemIds(first.records())).toEqual([a.item_ids[0]]);
    expect(itemIds(second.records()).sort((x, y) => x - y)).toEqual([b.item_ids[0], c.item_ids[0], d.item_ids[0]]);
    const names = [...first.records(), ...second.records()].filter((r) => r['type'] === 'image').map((r) => r['image_name']);
    expect(new Set(names).size).toBe(names.length);
    for (const item of second.records().filter((r) => r['type'] === 'item')) expect(item['complete']).toBe(true);
  });

  it('without a state file, a restart reports only what finishes after it connects', async () => {
    const sim = await simulator(td);
    await enqueue(sim, saveOne());
    await sleep(300);
    const w = cli(['watch', '--url', sim.url]);
    await connected(w);
    const b = await enqueue(sim, saveOne());
    await w.waitFor((rs) => itemIds(rs).length === 1);
    await sleep(200);
    w.child.kill('SIGTERM');
    await w.exited;
    expect(itemIds(w.records())).toEqual([b.item_ids[0]]);
  });
});
