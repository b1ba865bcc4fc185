import { resolveItem, runWorkflow } from '../../src';
import type { Simulator } from '../../src/simulator';
import { saveOne } from '../support/graphs';
import { simulator, sleep, Teardown, watch, type Watched } from '../support/harness';
import { ADMIN, ALICE, BOB, enqueueAs, finished, login, multiuserSim } from './support';

const td = new Teardown();
afterEach(() => td.run());

const userId = (sim: Simulator, email: string): string => sim.auth.users().find((u) => u.email === email)?.userId ?? '';
const loud = (w: Watched): string[] => w.log.lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg);
/** Resolves at the watcher's n-th `connected` (counting from when this is called). */
const reconnected = (w: Watched, n = 1): Promise<void> =>
  new Promise((resolve) => {
    let seen = 0;
    const on = (): void => {
      if (++seen < n) return;
      w.watcher.off('connected', on);
      resolve();
    };
    w.watcher.on('connected', on);
  });

describe('watch on a multi-user server', () => {
  it("logs in with username and password and reports the user's own items", async () => {
    const sim = await multiuserSim(td);
    const w = watch(td, { url: sim.url, username: ALICE.email, password: ALICE.password });
    await w.connected;
    const { item_ids: [id] } = await enqueueAs(sim, await login(sim, ALICE), saveOne());
    const [item] = await w.items$(1);
    expect(item).toMatchObject({ item_id: id, status: 'completed', complete: true });
    expect(w.images()).toHaveLength(1);
    expect(loud(w)).toEqual([]);
    const handshakes = sim.auth.seen.filter((s) => s.via === 'socket');
    expect(handshakes.length).toBeGreaterThan(0);
    expect(handshakes.every((s) => s.token !== null)).toBe(true);
  });

  it("does not report another user's items as a non-admin, and ignores their sanitized events quietly", async () => {
    const sim = await multiuserSim(td);
    const [alice, bob] = await Promise.all([login(sim, ALICE), login(sim, BOB)]);
    // Bob's work is already pending when the watch starts: the fresh cursor must not adopt it.
    sim.pauseProcessor();
    const early = await enqueueAs(sim, bob, saveOne());
    const w = watch(td, { url: sim.url, username: ALICE.email, password: ALICE.password });
    await w.connected;
    const late = await enqueueAs(sim, bob, saveOne());
    const own = await enqueueAs(sim, alice, saveOne());
    sim.resumeProcessor();
    await w.items$(1);
    await finished(sim, [...early.item_ids, ...late.item_ids]);
    // A reconnect reconciles over HTTP, where bob's items read back redacted: still not ours.
    const again = reconnected(w);
    sim.disconnectSockets();
    await again;
    await sleep(100);
    expect(w.items().map((i) => i.item_id)).toEqual(own.item_ids);
    expect(new Set(w.images().map((i) => i.item_id))).toEqual(new Set(own.item_ids));
    expect(loud(w).filter((m) => !/disconnected/.test(m))).toEqual([]);
    expect(w.watcher.serverWatches[0]?.session.invalidEvents.size).toBe(0);
  });

  it("reports everyone's items to an admin", async () => {
    const sim = await multiuserSim(td);
    const w = watch(td, { url: sim.url, username: ADMIN.email, password: ADMIN.password });
    await w.connected;
    const a = await enqueueAs(sim, await login(sim, ALICE), saveOne());
    const b = await enqueueAs(sim, await login(sim, BOB), saveOne());
    const items = await w.items$(2);
    expect(items.map((i) => i.item_id).sort()).toEqual([...a.item_ids, ...b.item_ids].sort());
    expect(items.every((i) => i.complete && i.new_images.length === 1)).toBe(true);
  });

  it('works with a token given instead of credentials', async () => {
    const sim = await multiuserSim(td);
    const token = await login(sim, ALICE);
    const w = watch(td, { url: sim.url, token });
    await w.connected;
    const { item_ids } = await enqueueAs(sim, token, saveOne());
    expect((await w.items$(1)).map((i) => i.item_id)).toEqual(item_ids);
    expect(sim.auth.logins).toHaveLength(1); // ours: the watcher never logged in
    expect(sim.auth.seen.find((s) => s.via === 'socket')?.token).toBe(token);
  });

  it('uses a token refreshed by X-Refreshed-Token from then on', async () => {
    const sim = await multiuserSim(td);
    const alice = await login(sim, ALICE);
    // An item waiting in the queue at start makes the watcher read it with POST items_by_ids: a mutating request, refreshed.
    sim.pauseProcessor();
    await enqueueAs(sim, alice, saveOne());
    const w = watch(td, { url: sim.url, username: ALICE.email, password: ALICE.password });
    await w.connected;
    expect(sim.auth.refreshed.length).toBeGreaterThan(0);
    await enqueueAs(sim, alice, saveOne());
    sim.resumeProcessor();
    await w.items$(2);
    const refreshed = new Set(sim.auth.refreshed);
    const after = sim.auth.seen.slice(sim.auth.seen.findIndex((s) => s.what.startsWith('POST /queue/default/items_by_ids')) + 1);
    // Everything the watcher sent after the refresh carried a refreshed token, the handshake and image reads included.
    const fromWatcher = after.filter((s) => s.token !== alice && !s.what.startsWith('POST /queue/default/enqueue_batch'));
    expect(fromWatcher.length).toBeGreaterThan(2);
    expect(fromWatcher.every((s) => s.token !== null && refreshed.has(s.token))).toBe(true);
    expect(fromWatcher.some((s) => s.via === 'socket')).toBe(true);
    expect(fromWatcher.some((s) => s.what.startsWith('GET /images/i/'))).toBe(true);
    expect(sim.auth.logins.filter((l) => l.email === ALICE.email)).toHaveLength(2); // ours and the watcher's
  });

  it('logs in again when its token expires (HTTP 401, refused handshake) and keeps reporting', async () => {
    const sim = await multiuserSim(td);
    const w = watch(td, { url: sim.url, username: ALICE.email, password: ALICE.password });
    await w.connected;
    const loginsBefore = sim.auth.logins.length;
    sim.expireTokens();
    // The socket stays up; the image and item reads get 401 and log in again.
    const one = await enqueueAs(sim, await login(sim, ALICE), saveOne());
    await w.items$(1);
    expect(sim.auth.logins.length).toBe(loginsBefore + 2);

    sim.expireTokens();
    const back = reconnected(w);
    sim.disconnectSockets(); // the reconnect offers the expired token, is refused, logs in, retries
    const two = await enqueueAs(sim, await login(sim, ALICE), saveOne());
    await back;
    const items = await w.items$(2);
    expect(items.map((i) => i.item_id)).toEqual([...one.item_ids, ...two.item_ids]);
    expect(items.every((i) => i.complete)).toBe(true);
    const refused = sim.auth.seen.filter((s) => s.via === 'socket');
    expect(refused.length).toBeGreaterThanOrEqual(3); // first connect, refused retry, accepted retry
    expect(loud(w).filter((m) => !/disconnected|cannot connect/.test(m))).toEqual([]);
  });

  it('re-authenticates and reconnects by itself after its tokens were revoked, reporting what finished meanwhile', async () => {
    const sim = await multiuserSim(td);
    const w = watch(td, { url: sim.url, username: ALICE.email, password: ALICE.password });
    await w.connected;
    const back = reconnected(w);
    sim.revokeTokens(userId(sim, ALICE.email)); // server-side disconnect: socket.io does not retry that itself
    const { item_ids } = await enqueueAs(sim, await login(sim, ALICE), saveOne());
    await finished(sim, item_ids);
    await back;
    expect((await w.items$(1)).map((i) => i.item_id)).toEqual(item_ids);
    expect(w.watcher.serverWatches[0]?.session.invalidEvents.size).toBe(0);
  });

  it('keeps retrying a refused login with bounded backoff, saying so once', async () => {
    const sim = await multiuserSim(td);
    const w = watch(td, { url: sim.url, username: ALICE.email, password: 'not-the-password' });
    await sleep(1200);
    const attempts = sim.auth.logins.filter((l) => l.email === ALICE.email);
    expect(attempts.every((l) => l.status === 401)).toBe(true);
    // Refused at once, then after a 1 s pause (the next one is 2 s), however often the socket retries meanwhile.
    expect(sim.auth.seen.filter((s) => s.via === 'socket').length).toBeGreaterThan(3);
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    expect(attempts.length).toBeLessThanOrEqual(2);
    const errors = w.log.lines.filter((l) => l.level === 'error').map((l) => l.msg);
    expect(errors).toEqual([`${sim.url}: login as ${ALICE.email} refused (HTTP 401: Incorrect email or password); retrying with backoff`]);
    expect(w.log.lines.filter((l) => l.level === 'warn').length).toBeLessThanOrEqual(1);
    expect(w.log.lines.some((l) => l.msg.includes('not-the-password'))).toBe(false);
  });

  it('never sends a token or credentials to a single-user server', async () => {
    const sim = await simulator(td);
    const w = watch(td, { url: sim.url, token: 'e30.e30.sig', username: ALICE.email, password: ALICE.password });
    await w.connected;
    await enqueueAs(sim, 'ignored-by-single-user-servers', saveOne());
    await w.items$(1);
    const fromWatcher = sim.auth.seen.filter((s) => !s.what.startsWith('POST /queue/default/enqueue_batch'));
    expect(fromWatcher.length).toBeGreaterThan(3);
    expect(fromWatcher.filter((s) => s.token !== null)).toEqual([]);
    expect(sim.auth.logins).toEqual([]);
  });
});

describe('resolve and run on a multi-user server', () => {
  it('log in, resolve and run as the user; a wrong password is AUTH_FAILED', async () => {
    const sim = await multiuserSim(td);
    const { item_ids: [id] } = await enqueueAs(sim, await login(sim, ALICE), saveOne());
    await finished(sim, [id!]);
    const r = await resolveItem({ url: sim.url, itemId: id!, username: ALICE.email, password: ALICE.password });
    expect(r.item).toMatchObject({ item_id: id, complete: true });
    const run = await runWorkflow({ url: sim.url, graph: saveOne(), username: BOB.email, password: BOB.password });
    expect(run.items).toHaveLength(1);
    expect(sim.store.getQueueItem(run.items[0]!.item_id)?.['user_id']).toBe(userId(sim, BOB.email));
    await expect(resolveItem({ url: sim.url, itemId: id!, username: ALICE.email, password: 'nope' })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await expect(resolveItem({ url: sim.url, itemId: id! })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });
});
