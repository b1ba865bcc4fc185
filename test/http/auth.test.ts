import { MemoryLogger } from '../../src/log';
import { OutputsError } from '../../src/errors';
import { COOKIE_NAME } from '../../src/sinks/http/auth';
import { startLiveServer } from '../../src/sinks/http/server';
import { liveSourceOf } from '../../src/sinks/http/watcherSource';
import { enqueue, Teardown } from '../support/harness';
import { saveOne } from '../support/graphs';
import { get, live, scrape, sse } from './support';

const td = new Teardown();
afterEach(() => td.run());

const TOKEN = 'tok-3f9a1c7e5b2d4a6f';

/*
 * Whether a token is required depends on the address (off loopback it is, checked before anything binds: see
 * http/cli.test.ts); how a token is enforced does not: the gate never looks at the address. So enforcement is tested
 * here on 127.0.0.1, the only address a test may use, with a token given as it must be off loopback.
 */
describe('the live server with --http-token', () => {
  it('answers 401 to a missing or wrong token on every route but /healthz, and 200 to the Bearer token', async () => {
    const log = new MemoryLogger();
    const { sim, w, server } = await live(td, { token: TOKEN, log });
    await enqueue(sim, saveOne());
    await w.items$(1);
    const img = w.images()[0]!;
    const routes = ['/', '/api/records', `/api/boards?server=${encodeURIComponent(sim.url)}&board_id=none`, '/events', '/metrics', `/images/${img.record_id}/thumbnail`, '/nothing'];
    for (const path of routes) {
      for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Basic ${TOKEN}` }, { cookie: `${COOKIE_NAME}=${TOKEN}` }]) {
        const r = await get(`${server.url}${path}`, headers);
        expect([path, headers, r.status]).toEqual([path, headers, 401]);
        expect(r.headers['www-authenticate']).toBe('Bearer realm="invokeai-outputs"');
        expect(r.text).not.toContain(TOKEN);
      }
    }
    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
    expect(JSON.parse((await get(`${server.url}/api/records`, bearer)).text)).toEqual(w.records);
    expect((await get(`${server.url}/images/${img.record_id}/thumbnail`, bearer)).status).toBe(200);
    expect((await scrape(server.url, bearer)).length).toBeGreaterThan(0);
    const stream = sse(td, `${server.url}/events?since=`, bearer);
    expect(await stream.status).toBe(200);
    expect((await stream.until(2)).map((f) => f.id)).toEqual(w.records.map((r) => r.record_id));
    expect(log.lines.length).toBeGreaterThan(0);
    expect(log.lines.filter((l) => l.msg.includes(TOKEN))).toEqual([]);
  });

  it('?token= on the page sets an HttpOnly SameSite=Strict cookie (not the token) and sends the browser to / without it', async () => {
    const log = new MemoryLogger();
    const { server } = await live(td, { token: TOKEN, log });
    const wrong = await get(`${server.url}/?token=nope`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const right = await get(`${server.url}/?token=${TOKEN}`);
    expect(right.status).toBe(303);
    expect(right.headers.location).toBe('/');
    const setCookie = right.headers['set-cookie'] ?? [];
    expect(setCookie).toHaveLength(1);
    const attrs = setCookie[0]!.split(';').map((s) => s.trim());
    expect(attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/']));
    const cookie = attrs[0]!;
    expect(cookie.startsWith(`${COOKIE_NAME}=`)).toBe(true);
    expect(cookie).not.toContain(TOKEN);

    const page = await get(`${server.url}/`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<title>InvokeAI outputs/);
    expect((await get(`${server.url}/api/records`, { cookie: `other=1; ${cookie}` })).status).toBe(200);
    expect((await get(`${server.url}/api/records`, { cookie: `${cookie.slice(0, -2)}xx` })).status).toBe(401);
    // The query is for the page alone: elsewhere it is no credential.
    expect((await get(`${server.url}/api/records?token=${TOKEN}`)).status).toBe(401);
    expect(log.lines.filter((l) => l.msg.includes(TOKEN))).toEqual([]);
  });

  it('a token of another daemon\'s cookie is refused (the cookie is derived from the token)', async () => {
    const { server } = await live(td, { token: TOKEN });
    const other = td.add(await startLiveServer({ source: liveSourceOf((await live(td)).w.watcher), token: 'another-token-123' }), (s) => s.close());
    const cookie = (await get(`${other.url}/?token=another-token-123`)).headers['set-cookie']![0]!.split(';')[0]!;
    expect((await get(`${other.url}/api/records`, { cookie })).status).toBe(200);
    expect((await get(`${server.url}/api/records`, { cookie })).status).toBe(401);
  });
});

describe('the live server without a token', () => {
  it('is open on loopback, to requests that name a loopback host only (no DNS rebinding)', async () => {
    const { server } = await live(td);
    const port = new URL(server.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, '127.0.0.1']) {
      expect([host, (await get(`${server.url}/api/records`, { host })).status]).toEqual([host, 200]);
    }
    for (const host of [`evil.example:${port}`, 'evil.example', `192.168.1.10:${port}`]) {
      expect([host, (await get(`${server.url}/api/records`, { host })).status]).toEqual([host, 403]);
    }
  });

  it('refuses to start on a non-loopback address (before binding anything)', async () => {
    const { w } = await live(td);
    await expect(startLiveServer({ source: liveSourceOf(w.watcher), host: '0.0.0.0' })).rejects.toThrow(OutputsError);
    await expect(startLiveServer({ source: liveSourceOf(w.watcher), host: '::' })).rejects.toThrow(/non-loopback address needs a token/);
  });
});
