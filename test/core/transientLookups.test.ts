import { createBoard, enqueue, simulator, Teardown, watch } from '../support/harness';
import { iterate, twoOutputs } from '../support/graphs';
import { startApiProxy, type ApiProxy, type ProxiedRequest } from '../support/apiProxy';

/*
 * Issue 12, behaviour 7: a transient lookup failure that later succeeds leaves `complete: true`; failures are tracked
 * per image, not per item. (The HTTP client retries a GET 4 times on a 5xx, never a POST.)
 */

const td = new Teardown();
afterEach(() => td.run());

const unavailable = { status: 503, headers: { 'retry-after': '0' } };
const dtoName = (req: ProxiedRequest): string | null => (req.method === 'GET' ? (/^\/api\/v1\/images\/i\/([^/]+)$/.exec(req.path)?.[1] ?? null) : null);
const count = (proxy: ApiProxy, prefix: string): number => proxy.requests.filter((r) => r.startsWith(prefix)).length;

it('images_by_names fails twice, then answers: the item is complete with every image', async () => {
  const sim = await simulator(td);
  const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
  let failures = 2;
  proxy.hooks = { respond: (req) => (req.method === 'POST' && req.path === '/api/v1/images/images_by_names' && failures-- > 0 ? { status: 500 } : null) };
  // No names on the socket: the queue item names all three at once, looked up in one images_by_names.
  sim.faults.add({ event: 'invocation_complete', action: 'drop' });
  const w = watch(td, { url: proxy.url });
  await w.connected;
  await enqueue(sim, iterate(3));
  const [item] = await w.items$(1);
  expect(item).toMatchObject({ status: 'completed', complete: true, via: ['queue_item'] });
  expect(count(proxy, 'POST /api/v1/images/images_by_names')).toBe(3);
  expect(item!.new_images).toHaveLength(3);
  expect(w.images().map((i) => i.image_name)).toEqual(item!.new_images);
  expect(w.log.lines.filter((l) => l.level === 'warn')).toEqual([]);
});

it("one image's DTO fails past the client's retries, then answers: complete, and the other image was never held back", async () => {
  const sim = await simulator(td);
  const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
  const board = await createBoard(sim, 'b');
  let victim: string | null = null;
  let failures = 5; // one lookup: the request and the client's 4 retries
  proxy.hooks = {
    respond: (req) => {
      const name = dtoName(req);
      if (name === null) return null;
      victim ??= name;
      return name === victim && failures-- > 0 ? unavailable : null;
    },
  };
  const w = watch(td, { url: proxy.url });
  await w.connected;
  await enqueue(sim, twoOutputs(board));
  const [item] = await w.items$(1);
  expect(victim).not.toBeNull();
  expect(proxy.requests.filter((r) => r === `GET /api/v1/images/i/${victim!}`).length).toBeGreaterThanOrEqual(6);
  expect(item).toMatchObject({ status: 'completed', complete: true });
  expect([...item!.new_images].sort()).toEqual([...sim.store.imageNames(board)].sort());
  expect(w.images().map((i) => i.image_name).sort()).toEqual([...item!.new_images].sort());
  expect(w.images().at(-1)?.image_name).toBe(victim); // the other went out first
});

it("one image's DTO never answers: that image is named in the warning, the other image is reported", async () => {
  const sim = await simulator(td);
  const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
  const board = await createBoard(sim, 'b');
  let victim: string | null = null;
  proxy.hooks = {
    respond: (req) => {
      const name = dtoName(req);
      if (name === null) return null;
      victim ??= name;
      return name === victim ? unavailable : null;
    },
  };
  const w = watch(td, { url: proxy.url });
  await w.connected;
  await enqueue(sim, twoOutputs(board));
  const [item] = await w.items$(1);
  const other = sim.store.imageNames(board).filter((n) => n !== victim);
  expect(other).toHaveLength(1);
  expect(item).toMatchObject({ status: 'completed', complete: false, new_images: other });
  expect(w.images().map((i) => i.image_name)).toEqual(other);
  expect(w.log.lines.some((l) => l.level === 'warn' && l.msg.includes(`image ${victim!} could not be read`))).toBe(true);
});
