import { existsSync, readFileSync, watch as watchFs } from 'node:fs';
import { OutputsError } from '../../src/errors';
import { watchOutputs } from '../../src/watch/watcher';
import { enqueue, simulator, Teardown, watch } from '../support/harness';
import { iterate, saveOne } from '../support/graphs';
import { startApiProxy } from '../support/apiProxy';
import { cliWith, connectedTimes } from '../cli/spawn';
import { ALICE, BOB, enqueueAs, login, multiuserSim } from '../multiuser/support';
import { isTerminal, statusOf, tempDir, until } from './support';

/*
 * Issue 12, behaviours 8 and 11: the same server given twice to the library; per-item memory for foreign items; the
 * first cursor position; tokens the server issued kept out of the logs; the state file's journal; one daemon per
 * state file.
 */

const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);

type Cursor = { floor: number | null; settled: number[]; open: Record<string, unknown> };
function savedCursor(state: string): Cursor {
  const raw = JSON.parse(readFileSync(state, 'utf8')) as { servers: Record<string, Record<string, Cursor>> };
  return Object.values(raw.servers)[0]!['default']!;
}

describe('the same server twice (behaviour 8)', () => {
  it('watchOutputs refuses the same URL after normalising, naming it, before connecting', async () => {
    const sim = await simulator(td);
    const again = sim.url.replace('http://127.0.0.1', 'HTTP://127.0.0.1') + '/';
    let err: unknown;
    try {
      td.add(watchOutputs({ url: [sim.url, again] }), (w) => w.close());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutputsError);
    expect((err as OutputsError).code).toBe('BAD_CONFIG');
    expect((err as Error).message).toBe(`url: ${sim.url} (queue default) is given twice`);
    expect(sim.auth.seen).toEqual([]);
  });

  it('one server on two queues is not the same twice', async () => {
    const sim = await simulator(td);
    const w = watch(td, { url: sim.url, servers: [{ url: `${sim.url}/`, queueId: 'other' }] });
    await w.connected;
    await enqueue(sim, saveOne());
    expect(await w.items$(1)).toHaveLength(1);
  });
});

describe('behaviour 11', () => {
  it("a non-admin watching another user's items keeps no memory of them: no open item, nothing owed, the floor past them", async () => {
    const sim = await multiuserSim(td);
    const bob = await login(sim, BOB);
    const alice = await login(sim, ALICE);
    const { file } = tempDir(td);
    const state = file('cursor.json');
    sim.pauseProcessor();
    const early = await enqueueAs(sim, bob, saveOne()); // pending at the start: not ours either
    const w = watch(td, { url: sim.url, username: ALICE.email, password: ALICE.password, state });
    await w.connected;
    const foreign = [...early.item_ids];
    for (let i = 0; i < 40; i++) foreign.push(...(await enqueueAs(sim, bob, saveOne())).item_ids);
    const own = await enqueueAs(sim, alice, saveOne());
    sim.resumeProcessor();
    await w.items$(1);
    await until(() => foreign.every((id) => isTerminal(statusOf(sim, id))), "bob's items to finish");
    // A reconnect reads the queue again over HTTP, where bob's items read back redacted.
    const again = new Promise<void>((resolve) => w.watcher.once('connected', () => resolve()));
    sim.disconnectSockets();
    await again;
    expect(w.items().map((i) => i.item_id)).toEqual(own.item_ids);
    expect(w.watcher.health()[0]?.openItems).toBe(0);
    await w.watcher.close();
    const c = savedCursor(state);
    expect(c.open).toEqual({});
    expect(c.floor).toBe(Math.max(...foreign, ...own.item_ids));
    expect(c.settled).toEqual([]);
  });

  it('the first cursor position is the newest id, whatever order the server lists ids in', async () => {
    const sim = await simulator(td);
    for (let i = 0; i < 5; i++) await enqueue(sim, saveOne());
    await until(() => [1, 2, 3, 4, 5].every((id) => isTerminal(statusOf(sim, id))), 'the earlier items to finish');
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    // Items made in the same second have no order by created_at: the newest id need not come first.
    proxy.hooks = {
      rewrite: (req, body) => {
        if (req.path !== '/api/v1/queue/default/item_ids') return body;
        const b = body as { item_ids: number[] };
        return { ...b, item_ids: [...b.item_ids].sort((x, y) => x - y) };
      },
    };
    const { file } = tempDir(td);
    const state = file('cursor.json');
    const w = watch(td, { url: proxy.url, state });
    await w.connected;
    const { item_ids } = await enqueue(sim, saveOne());
    await w.items$(1);
    const again = new Promise<void>((resolve) => w.watcher.once('connected', () => resolve()));
    sim.disconnectSockets(); // a full catch-up over the listing
    await again;
    await w.watcher.close();
    expect(w.items().map((i) => i.item_id)).toEqual(item_ids);
    expect(savedCursor(state)).toEqual({ floor: item_ids[0], settled: [], open: {} });
  });

  it('a large item: one journal line per image, no rewrite of the state file per image', async () => {
    const sim = await simulator(td);
    const { dir, file } = tempDir(td);
    const state = file('cursor.json');
    const w = watch(td, { url: sim.url, state });
    await w.connected;
    // The snapshot is replaced by a rename (temporary file, fsync, rename): every rewrite is an event on its name.
    let rewrites = 0;
    td.add(
      watchFs(dir, (_event, name) => {
        if (name === 'cursor.json') rewrites += 1;
      }),
      (x) => x.close(),
    );
    await enqueue(sim, iterate(50));
    const [item] = await w.items$(1);
    expect(item!.new_images).toHaveLength(50);
    const journal = `${state}.journal`;
    expect(existsSync(journal)).toBe(true);
    const lines = readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { change: { op: string } });
    expect(lines.filter((l) => l.change.op === 'image')).toHaveLength(50);
    expect(lines.filter((l) => l.change.op === 'reported')).toHaveLength(1);
    expect(rewrites).toBe(0);
  });

  /*
   * Tokens the server issued (the login's, `X-Refreshed-Token`'s) are redacted like configured secrets, also in an
   * error detail that quotes one back: it is redacted before it is cut short, or a prefix would slip through.
   */
  it('refreshed and login tokens never reach the logs, even when the server quotes them back', async () => {
    const sim = await multiuserSim(td);
    const proxy = td.add(await startApiProxy(sim.url), (p) => p.close());
    // A server that quotes the bearer token in its error details (each token, five times: the GET and its retries).
    const echoed = new Map<string, number>();
    proxy.hooks = {
      respond: (req) => {
        const token = /^Bearer (\S+)$/.exec(String(req.headers['authorization'] ?? ''))?.[1];
        if (req.method !== 'GET' || token === undefined || (echoed.get(token) ?? 0) >= 5) return null;
        echoed.set(token, (echoed.get(token) ?? 0) + 1);
        return { status: 500, headers: { 'retry-after': '0' }, body: JSON.stringify({ detail: `session store rejected token ${token}` }) };
      },
    };
    // An item waiting at start is read with POST items_by_ids (a mutating request, so refreshed) before any later GET.
    const alice = await login(sim, ALICE);
    sim.pauseProcessor();
    await enqueueAs(sim, alice, iterate(3));
    const w = cli(['watch', '--url', proxy.url, '--username', ALICE.email, '--password', ALICE.password, '--log-level', 'debug']);
    await connectedTimes(w);
    expect(sim.auth.refreshed.length).toBeGreaterThan(0);
    await enqueueAs(sim, alice, iterate(3));
    sim.resumeProcessor();
    await w.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length === 2);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const issued = new Set([...sim.auth.refreshed, ...sim.auth.seen.map((s) => s.token).filter((t): t is string => t !== null)]);
    issued.delete(alice); // the test's own login, never given to the daemon
    expect(sim.auth.refreshed.length).toBeGreaterThan(0);
    expect([...echoed.keys()].some((t) => sim.auth.refreshed.includes(t))).toBe(true); // a refreshed token was quoted back
    const stderr = w.stderr();
    expect(stderr).not.toContain(ALICE.password);
    // Nor any piece of one: every JWT starts with the same header, what follows is the user's own.
    for (const token of issued) {
      const own = token.slice(token.indexOf('.') + 1);
      for (let i = 0; i + 40 <= own.length; i += 20) expect(stderr).not.toContain(own.slice(i, i + 40));
    }
    expect(stderr).toMatch(/session store rejected token \*\*\*/); // the quotes did reach the log lines
  });

  it('a second daemon on the same --state file exits 2 with one line naming the file and the pid of the first', async () => {
    const sim = await simulator(td);
    const { file } = tempDir(td);
    const state = file('cursor.json');
    const first = cli(['watch', '--url', sim.url, '--state', state]);
    await connectedTimes(first);
    const second = cli(['watch', '--url', sim.url, '--state', state]);
    expect(await second.exited).toBe(2);
    expect(second.stdout()).toBe('');
    expect(second.stderr()).toBe(`invokeai-outputs: state file ${state} is in use by another invokeai-outputs (pid ${first.child.pid})\n`);
    expect(first.child.exitCode).toBeNull();
  });
});
