import { AuthSession, type AuthOptions } from '../../src/invoke/auth';
import { InvokeHttp } from '../../src/invoke/http';
import { serverEndpoints } from '../../src/invoke/url';
import { itemIdsSchema } from '../../src/invoke/wire';
import { saveOne } from '../support/graphs';
import { Teardown } from '../support/harness';
import { ALICE, enqueueAs, finished, login, multiuserSim } from './support';

const td = new Teardown();
afterEach(() => td.run());

/** The client's auth session and HTTP client, as the server context wires them. */
function client(url: string, creds: AuthOptions): { auth: AuthSession; http: InvokeHttp } {
  const auth = new AuthSession(creds);
  const http = td.add(new InvokeHttp({ endpoints: serverEndpoints(url), auth }), (h) => h.close());
  auth.attach(http);
  return { auth, http };
}

describe('AuthSession with InvokeHttp', () => {
  it('one login serves many requests refused at once; image bytes are fetched again after a 401', async () => {
    const sim = await multiuserSim(td);
    const { item_ids } = await enqueueAs(sim, await login(sim, ALICE), saveOne());
    await finished(sim, item_ids);
    const { auth, http } = client(sim.url, { username: ALICE.email, password: ALICE.password });
    await auth.ensure();
    const loginsBefore = sim.auth.logins.length;
    sim.expireTokens();
    // Ten requests with the expired token: each gets 401, yet only one login follows.
    const replies = await Promise.all(Array.from({ length: 10 }, () => http.must('GET', '/queue/default/item_ids', itemIdsSchema)));
    expect(replies.every((r) => r.item_ids.length === 1)).toBe(true);
    expect(sim.auth.logins.length).toBe(loginsBefore + 1);

    sim.expireTokens();
    const name = sim.store.imageNames().find((n) => !sim.store.getImage(n)?.is_intermediate) ?? '';
    const res = await http.raw('GET', `/images/i/${name}/full`);
    expect(res.statusCode).toBe(200);
    expect((await res.body.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(sim.auth.logins.length).toBe(loginsBefore + 2);
  });

  it('renews a token before it expires, at a fifth of its lifetime', async () => {
    const sim = await multiuserSim(td, { tokenTtlSec: 100 });
    let skew = 0;
    const { auth } = client(sim.url, { username: ALICE.email, password: ALICE.password, now: () => Date.now() + skew });
    await auth.ensure();
    const first = auth.token();
    skew = 75_000;
    await auth.ensure();
    expect(auth.token()).toBe(first); // 25 s of 100 left: not yet
    skew = 81_000;
    await auth.ensure();
    expect(auth.token()).not.toBe(first);
    expect(sim.auth.logins.filter((l) => l.status === 200)).toHaveLength(2);
  });

  it('says so when a given token has expired and cannot be renewed', async () => {
    const sim = await multiuserSim(td, { tokenTtlSec: 60 });
    const { auth } = client(sim.url, { token: await login(sim, ALICE), now: () => Date.now() + 61_000 });
    await expect(auth.ensure()).rejects.toThrow(/the token expired at .*give a new one, or a username and password/);
  });
});
