import { existsSync, readFileSync } from 'node:fs';
import { startSimulator, type Simulator } from '../../src/simulator';
import { api, enqueue, simulator, Teardown, watch } from '../support/harness';
import { saveOne } from '../support/graphs';
import { cliWith, connectedTimes, type Spawned } from '../cli/spawn';
import { isTerminal, statusOf, tempDir, until } from './support';

/*
 * Issue 12, behaviour 4: the cursor never moves over an id it has not reported — a newer item canceled while an
 * older one is pending must not hide the older one after a restart; a fresh cursor covers every unfinished item, not
 * only the newest 200; ids below the cursor after a server database reset get a warning and a cursor reset.
 */

const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);

const itemIds = (s: Spawned): number[] => s.records().filter((r) => r['type'] === 'item').map((r) => r['item_id'] as number);

type SavedCursor = { floor?: number | null; watermark?: number | null; settled?: number[]; reported?: number[]; open?: object; pending?: object };

/** The state holds that `id` was reported: a journal line, or a snapshot that settles it (either file format). */
function savedReported(state: string, id: number): boolean {
  const journal = `${state}.journal`;
  if (existsSync(journal) && readFileSync(journal, 'utf8').includes(`"op":"reported","id":${id}}`)) return true;
  try {
    const raw = JSON.parse(readFileSync(state, 'utf8')) as { servers: Record<string, Record<string, SavedCursor>> };
    return Object.values(raw.servers).some((queues) =>
      Object.values(queues).some((c) => {
        const open = c.open ?? c.pending ?? {};
        return (c.settled ?? c.reported ?? []).includes(id) || ((c.floor ?? c.watermark ?? 0) >= id && !(String(id) in open));
      }),
    );
  } catch {
    return false; // not written yet
  }
}

async function stop(s: Spawned): Promise<void> {
  s.child.kill('SIGTERM');
  expect(await s.exited).toBe(0);
}

it('watch --state: a newer item canceled while an older one is pending does not hide the older one after kill -9 and a restart', async () => {
  const sim = await simulator(td);
  const { file } = tempDir(td);
  const state = file('cursor.json');
  const first = cli(['watch', '--url', sim.url, '--state', state]);
  await connectedTimes(first);
  sim.pauseProcessor();
  const a = (await enqueue(sim, saveOne())).item_ids[0]!;
  const b = (await enqueue(sim, saveOne())).item_ids[0]!;
  await api(sim.url, 'PUT', `/queue/default/i/${b}/cancel`);
  await first.waitFor((rs) => rs.some((r) => r['type'] === 'item' && r['item_id'] === b));
  await until(() => savedReported(state, b), `item ${b} saved as reported`);
  first.child.kill('SIGKILL');
  await first.exited;
  sim.resumeProcessor();
  await until(() => statusOf(sim, a) === 'completed', `item ${a} to complete`);

  const second = cli(['watch', '--url', sim.url, '--state', state]);
  await second.waitFor((rs) => rs.some((r) => r['type'] === 'item'));
  await connectedTimes(second);
  await stop(second);
  expect(itemIds(first)).toEqual([b]);
  expect(first.records().find((r) => r['type'] === 'item')).toMatchObject({ status: 'canceled', complete: true });
  expect(itemIds(second)).toEqual([a]);
  expect(second.records().find((r) => r['type'] === 'item')).toMatchObject({ status: 'completed', complete: true });
});

it('a fresh cursor owes every unfinished item (250, not the newest 200): each is reported once after kill -9 and a restart', async () => {
  const sim = await simulator(td);
  sim.pauseProcessor();
  const { item_ids } = await enqueue(sim, saveOne(), { runs: 250 });
  expect(item_ids).toHaveLength(250);
  const { file } = tempDir(td);
  const state = file('cursor.json');
  const first = cli(['watch', '--url', sim.url, '--state', state]);
  await connectedTimes(first);
  first.child.kill('SIGKILL');
  await first.exited;
  sim.resumeProcessor();
  await until(() => item_ids.every((id) => isTerminal(statusOf(sim, id))), 'every item to finish', 30000);

  const second = cli(['watch', '--url', sim.url, '--state', state]);
  await second.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length >= 250, 30000);
  await stop(second);
  expect(first.records()).toEqual([]);
  const ids = itemIds(second);
  expect(ids).toHaveLength(250); // each once
  expect([...ids].sort((x, y) => x - y)).toEqual([...item_ids].sort((x, y) => x - y));
  const images = second.records().filter((r) => r['type'] === 'image');
  expect(images).toHaveLength(250);
  expect(new Set(images.map((r) => r['image_name'])).size).toBe(250);
}, 60000);

describe('a server database reset (ids start again at 1, below the cursor)', () => {
  async function replaced(old: Simulator): Promise<Simulator> {
    const port = old.port;
    await old.close();
    const sim = td.add(await startSimulator({ port, nodeDelayMs: 1 }), (s) => s.close());
    // This process's keep-alive connections went with the old server: one request to open a new one.
    await fetch(`${sim.url}/api/v1/app/version`).catch(() => undefined);
    return sim;
  }

  it('a restart with --state warns of the reset, starts the cursor over and reports the new server\'s items', async () => {
    const old = await simulator(td);
    const { file } = tempDir(td);
    const state = file('cursor.json');
    const first = cli(['watch', '--url', old.url, '--state', state]);
    await connectedTimes(first);
    for (let i = 0; i < 4; i++) await enqueue(old, saveOne());
    await first.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length === 4);
    await stop(first);

    const sim = await replaced(old);
    await enqueue(sim, saveOne()); // id 1 finishes before the daemon is back: older than its fresh start
    await until(() => statusOf(sim, 1) === 'completed', 'item 1 of the new server');
    sim.pauseProcessor();
    await enqueue(sim, saveOne()); // id 2 is pending when the daemon comes back: owed
    const second = cli(['watch', '--url', sim.url, '--state', state]);
    await connectedTimes(second);
    sim.resumeProcessor();
    await enqueue(sim, saveOne()); // id 3 is new
    await second.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length === 2);
    await stop(second);
    expect(second.stderr()).toMatch(/warn queue default: the server's newest item is 2, below this cursor's 4: its database was reset .*starting the cursor over/);
    expect(itemIds(second).sort()).toEqual([2, 3]);
    const sessions = second.records().filter((r) => r['type'] === 'item').map((r) => r['session_id']);
    expect(sessions).toEqual([2, 3].map((id) => sim.store.getQueueItem(id)!['session_id']));
  });

  /*
   * At the reconnect the new server lists no item, so the catch-up cannot see a newest id below the cursor; the new
   * item 1 then runs under an id the cursor holds as reported. A start of a settled id has a full catch-up look: it
   * sees the reset, starts the cursor over, and owes the item it saw running.
   */
  it('a running watch that reconnects to an emptied server reports the new items with ids it had reported before', async () => {
    const old = await simulator(td);
    const w = watch(td, { url: old.url, backoff: { min: 50, max: 100 } });
    await w.connected;
    for (let i = 0; i < 3; i++) await enqueue(old, saveOne());
    await w.items$(3);
    const reconnected = new Promise<void>((resolve) => w.watcher.on('connected', () => resolve()));
    const sim = await replaced(old);
    await reconnected;
    const { item_ids } = await enqueue(sim, saveOne());
    expect(item_ids).toEqual([1]);
    const items = await w.items$(4, 3000);
    expect(items[3]).toMatchObject({ item_id: 1, session_id: sim.store.getQueueItem(1)!['session_id'], complete: true });
  });
});
