import { enqueue, simulator, sleep, Teardown, watch } from '../support/harness';
import { saveOne } from '../support/graphs';

const td = new Teardown();
afterEach(() => td.run());

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

it('leaks no timers or listeners across many reconnects, and keeps reporting', async () => {
  const sim = await simulator(td);
  const w = watch(td, { url: sim.url, backoff: { min: 20, max: 40 } });
  await w.connected;
  await enqueue(sim, saveOne());
  await w.items$(1);
  await sleep(100);
  const before = { timers: timers(), listeners: w.watcher.listenerCount('image') + w.watcher.listenerCount('connected') };
  for (let i = 0; i < 15; i++) {
    const again = new Promise<void>((resolve) => w.watcher.once('connected', () => resolve()));
    sim.disconnectSockets();
    await again;
  }
  await enqueue(sim, saveOne());
  await w.items$(2);
  await sleep(100);
  expect(timers()).toBeLessThanOrEqual(before.timers + 1);
  expect(w.watcher.listenerCount('image') + w.watcher.listenerCount('connected')).toBe(before.listeners);
  expect(w.items()).toHaveLength(2);
  // each reconnect was reconciled without reporting anything twice
  expect(new Set(w.images().map((i) => i.image_name)).size).toBe(2);
});
