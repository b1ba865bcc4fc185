import { io } from 'socket.io-client';
import { PROFILES, startSimulator } from '../../src/simulator';
import { check } from '../simulator/schemas';
import { saveOne } from '../support/graphs';
import { simulator, sleep, Teardown } from '../support/harness';
import { ADMIN, ALICE, BOB, call, connect, enqueueAs, finished, login, multiuserSim, waitFor } from './support';

const td = new Teardown();
afterEach(() => td.run());

interface Item {
  item_id: number;
  user_id: string;
  batch_id: string;
  session_id: string;
  user_email?: string;
  origin?: string;
  priority: number;
  session: { id: string; results: Record<string, unknown> };
}

describe('multi-user simulator: HTTP', () => {
  it('logs in with a JWT, refuses bad credentials, and guards every route but the public ones', async () => {
    const sim = await multiuserSim(td);
    const status = await call(sim, 'GET', '/auth/status');
    expect(status.json).toEqual({ setup_required: false, multiuser_enabled: true, strict_password_checking: false, admin_email: null });
    expect((await call(sim, 'GET', '/app/version')).status).toBe(200);

    const bad = await call(sim, 'POST', '/auth/login', { body: { email: ALICE.email, password: 'wrong' } });
    expect(bad.status).toBe(401);
    expect(bad.json).toEqual({ detail: 'Incorrect email or password' });

    const ok = await call<{ token: string; expires_in: number; user: { user_id: string; is_admin: boolean } }>(sim, 'POST', '/auth/login', {
      body: { email: ALICE.email, password: ALICE.password, remember_me: false },
    });
    expect(ok.status).toBe(200);
    expect(check('LoginResponse', ok.json)).toEqual([]);
    expect(ok.json.expires_in).toBe(86400);
    expect(ok.json.user.is_admin).toBe(false);
    const [header, payload] = ok.json.token.split('.') as [string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ user_id: ok.json.user.user_id, email: ALICE.email, is_admin: false, token_epoch: 0 });
    expect(claims['exp']).toBeGreaterThan(Date.now() / 1000 + 86000);
    expect(sim.auth.logins.map((l) => l.status)).toEqual([401, 200]);

    const q = '/queue/default/status';
    expect((await call(sim, 'GET', q)).status).toBe(401);
    expect((await call(sim, 'GET', q, { token: 'not-a-jwt' })).status).toBe(401);
    expect((await call(sim, 'GET', q, { token: `${ok.json.token.slice(0, -2)}xx` })).status).toBe(401);
    expect((await call(sim, 'GET', q, { token: ok.json.token })).status).toBe(200);
    expect((await call(sim, 'GET', '/auth/me', { token: ok.json.token })).json).toMatchObject({ email: ALICE.email });
    // Every credential sent is on record, public routes included.
    expect(sim.auth.seen.filter((s) => s.what === `GET ${q}`).map((s) => s.token)).toEqual([null, 'not-a-jwt', expect.any(String), ok.json.token]);
  });

  it('refuses logins in single-user mode and ignores tokens there', async () => {
    const sim = await simulator(td);
    expect((await call(sim, 'POST', '/auth/login', { body: { email: ADMIN.email, password: ADMIN.password } })).status).toBe(403);
    expect((await call(sim, 'GET', '/queue/default/status', { token: 'garbage' })).status).toBe(200);
    expect(() => sim.addUser({ email: 'x@example.com', password: 'pw' })).toThrow(/single-user/);
  });

  it('answers X-Refreshed-Token on successful mutating requests only; expired and revoked tokens get 401', async () => {
    const sim = await multiuserSim(td);
    const token = await login(sim, ALICE);
    expect((await call(sim, 'GET', '/queue/default/status', { token })).headers.get('x-refreshed-token')).toBeNull();
    const post = await call(sim, 'POST', '/queue/default/items_by_ids', { token, body: { item_ids: [] } });
    const fresh = post.headers.get('x-refreshed-token');
    expect(fresh).toEqual(expect.any(String));
    expect(fresh).not.toBe(token);
    expect(sim.auth.refreshed).toEqual([fresh]);
    // A refused request refreshes nothing.
    expect((await call(sim, 'POST', '/queue/default/items_by_ids', { token, body: {} })).headers.get('x-refreshed-token')).toBeNull();
    expect((await call(sim, 'GET', '/queue/default/status', { token: fresh ?? '' })).status).toBe(200);

    sim.expireTokens();
    for (const t of [token, fresh ?? '']) expect((await call(sim, 'GET', '/queue/default/status', { token: t })).status).toBe(401);
    const again = await login(sim, ALICE);
    expect((await call(sim, 'GET', '/queue/default/status', { token: again })).status).toBe(200);

    const alice = sim.auth.users().find((u) => u.email === ALICE.email);
    sim.revokeTokens(alice?.userId ?? '');
    const revoked = await call(sim, 'GET', '/queue/default/status', { token: again });
    expect(revoked).toMatchObject({ status: 401, json: { detail: 'User not found or inactive' } });
    // The password still works.
    expect((await call(sim, 'GET', '/queue/default/status', { token: await login(sim, ALICE) })).status).toBe(200);
  });

  it('lets tokens expire after tokenTtlSec', async () => {
    const sim = await multiuserSim(td, { tokenTtlSec: 1 });
    const token = await login(sim, ALICE);
    expect((await call(sim, 'GET', '/queue/default/status', { token })).status).toBe(200);
    await sleep(1100);
    expect((await call(sim, 'GET', '/queue/default/status', { token })).status).toBe(401);
  });

  it("stamps items with their owner; non-admins get other users' items redacted and 403 on their images", async () => {
    const sim = await multiuserSim(td);
    const [alice, bob, admin] = await Promise.all([login(sim, ALICE), login(sim, BOB), login(sim, ADMIN)]);
    const aliceId = sim.auth.users().find((u) => u.email === ALICE.email)?.userId;
    const { item_ids: [id] } = await enqueueAs(sim, alice, saveOne());
    await finished(sim, [id!]);
    const own = await call<Item>(sim, 'GET', `/queue/default/i/${id}`, { token: alice });
    expect(own.json).toMatchObject({ user_id: aliceId, user_email: ALICE.email });
    expect(own.json.session.results).not.toEqual({});
    expect((await call<Item>(sim, 'GET', `/queue/default/i/${id}`, { token: admin })).json.session_id).toBe(own.json.session_id);

    const foreign = await call<Item>(sim, 'GET', `/queue/default/i/${id}`, { token: bob });
    expect(foreign.status).toBe(200);
    expect(foreign.json).toMatchObject({ item_id: id, user_id: 'redacted', batch_id: 'redacted', session_id: 'redacted', priority: 0, session: { id: 'redacted', results: {} } });
    expect(foreign.json.user_email).toBeUndefined();
    const listed = await call<Item[]>(sim, 'POST', '/queue/default/items_by_ids', { token: bob, body: { item_ids: [id] } });
    expect(listed.json.map((i) => i.user_id)).toEqual(['redacted']);
    expect((await call(sim, 'PUT', `/queue/default/i/${id}/cancel`, { token: bob })).status).toBe(403);

    const image = sim.store.imageNames().find((n) => sim.store.getImage(n)?.session_id === own.json.session_id && !sim.store.getImage(n)?.is_intermediate);
    expect((await call(sim, 'GET', `/images/i/${image}`, { token: alice })).status).toBe(200);
    expect((await call(sim, 'GET', `/images/i/${image}`, { token: admin })).status).toBe(200);
    expect((await call(sim, 'GET', `/images/i/${image}`, { token: bob })).status).toBe(403);
    expect((await call(sim, 'GET', `/images/i/${image}/full`, { token: bob })).status).toBe(403);
    // Missing images are 403 too for non-admins: the access check runs before the lookup.
    expect((await call(sim, 'GET', '/images/i/missing.png', { token: bob })).status).toBe(403);
    expect((await call(sim, 'GET', '/images/i/missing.png', { token: admin })).status).toBe(404);
    const byNames = await call<unknown[]>(sim, 'POST', '/images/images_by_names', { token: bob, body: { image_names: [image] } });
    expect(byNames.json).toEqual([]);
  });

  it('refuses multi-user mode on a generation without it', async () => {
    const old = Object.values(PROFILES).find((p) => !p.authStatusEndpoint);
    if (!old) return;
    await expect(startSimulator({ multiuser: true, profile: old.name })).rejects.toThrow(/predates multi-user mode/);
  });
});

describe('multi-user simulator: sockets', () => {
  it('refuses a handshake without a valid token; accepts auth.token and the Authorization header', async () => {
    const sim = await multiuserSim(td);
    const token = await login(sim, ALICE);
    for (const auth of [{}, { token: 'nonsense' }]) {
      const s = td.add(io(`http://127.0.0.1:${sim.port}`, { path: '/ws/socket.io', transports: ['websocket'], reconnection: false, auth }), (x) => x.close());
      const err = await new Promise<Error>((resolve) => s.once('connect_error', resolve));
      expect(err.message).toBe('Connection rejected by server');
      expect(s.active).toBe(false);
    }
    await connect(td, sim, { token });
    await connect(td, sim, { header: token });
    expect(sim.auth.seen.filter((s) => s.via === 'socket').map((s) => s.token)).toEqual([null, 'nonsense', token, token]);
  });

  it("routes events per user: own invocation events; other users' statuses only sanitized; admins see everything", async () => {
    const sim = await multiuserSim(td);
    const [alice, bob, admin] = await Promise.all([login(sim, ALICE), login(sim, BOB), login(sim, ADMIN)]);
    const aliceId = sim.auth.users().find((u) => u.email === ALICE.email)?.userId;
    const [a, b, adm] = await Promise.all([connect(td, sim, { token: alice }), connect(td, sim, { token: bob }), connect(td, sim, { token: admin })]);
    const { item_ids: [id] } = await enqueueAs(sim, alice, saveOne());
    await finished(sim, [id!]);
    const terminal = (t: typeof a): boolean => t.of('queue_item_status_changed').some((e) => e['status'] === 'completed');
    await waitFor(() => terminal(a) && terminal(b) && terminal(adm), 'terminal status everywhere');
    await sleep(50);

    expect(a.of('invocation_complete').length).toBeGreaterThan(0);
    expect(a.of('invocation_complete').every((e) => e['user_id'] === aliceId)).toBe(true);
    expect(adm.of('invocation_complete')).toHaveLength(a.of('invocation_complete').length);
    expect(b.events.filter((e) => e.event.startsWith('invocation_'))).toEqual([]);

    const full = a.of('queue_item_status_changed');
    expect(full.every((e) => e['user_id'] === aliceId && e['batch_id'] !== 'redacted')).toBe(true);
    expect(adm.of('queue_item_status_changed')).toHaveLength(full.length);
    const sanitized = b.of('queue_item_status_changed');
    expect(sanitized).toHaveLength(full.length);
    for (const e of sanitized) {
      expect(e).toMatchObject({ item_id: id, user_id: 'redacted', batch_id: 'redacted', session_id: 'redacted', origin: null });
      expect(check('QueueItemStatusChangedEvent', e)).toEqual([]);
    }
    expect(b.of('batch_enqueued')).toEqual([expect.objectContaining({ user_id: 'redacted', batch_id: 'redacted' })]);
    expect(a.of('batch_enqueued')).toEqual([expect.objectContaining({ user_id: aliceId })]);
  });

  it('sends progress to the owner only, not to admins', async () => {
    const sim = await multiuserSim(td, { progressSteps: 2 });
    const [alice, admin] = await Promise.all([login(sim, ALICE), login(sim, ADMIN)]);
    const [a, adm] = await Promise.all([connect(td, sim, { token: alice }), connect(td, sim, { token: admin })]);
    const transformer = { transformer: { key: 'k', hash: 'h', name: 'n', base: 'flux', type: 'main' }, loras: [] };
    const denoise = {
      id: 'g',
      nodes: {
        noise: { id: 'noise', type: 'noise', width: 64, height: 64 },
        den: { id: 'den', type: 'flux_denoise', width: 64, height: 64, transformer },
      },
      edges: [{ source: { node_id: 'noise', field: 'noise' }, destination: { node_id: 'den', field: 'latents' } }],
    };
    const { item_ids: [id] } = await enqueueAs(sim, alice, denoise);
    await finished(sim, [id!]);
    await waitFor(() => adm.of('queue_item_status_changed').some((e) => ['completed', 'failed'].includes(String(e['status']))), 'admin status');
    await sleep(50);
    expect(a.of('invocation_progress')).toHaveLength(2);
    expect(adm.of('invocation_progress')).toEqual([]);
    expect(adm.of('invocation_complete').length).toBeGreaterThan(0);
  });

  it('scopes bulk cancel events to each owner', async () => {
    const sim = await multiuserSim(td);
    const [alice, bob, admin] = await Promise.all([login(sim, ALICE), login(sim, BOB), login(sim, ADMIN)]);
    const [a, b, adm] = await Promise.all([connect(td, sim, { token: alice }), connect(td, sim, { token: bob }), connect(td, sim, { token: admin })]);
    sim.pauseProcessor();
    const { item_ids: [ia] } = await enqueueAs(sim, alice, saveOne());
    const { item_ids: [ib] } = await enqueueAs(sim, bob, saveOne());
    expect((await call(sim, 'PUT', '/queue/default/cancel_all_except_current', { token: admin })).status).toBe(200);
    const got = (t: typeof a): number[] => t.of('queue_items_canceled').flatMap((e) => e['canceled_item_ids'] as number[]);
    await waitFor(() => got(a).length > 0 && got(b).length > 0 && got(adm).length > 0, 'queue_items_canceled');
    expect(got(a)).toEqual([ia]);
    expect(got(b)).toEqual([ib]);
    expect(got(adm).sort()).toEqual([ia, ib].sort());
  });

  it('revokeTokens disconnects that user server-side and refuses the old token', async () => {
    const sim = await multiuserSim(td);
    const [alice, bob] = await Promise.all([login(sim, ALICE), login(sim, BOB)]);
    const [a, b] = await Promise.all([connect(td, sim, { token: alice }), connect(td, sim, { token: bob })]);
    const reason = new Promise<string>((resolve) => a.socket.once('disconnect', resolve));
    sim.revokeTokens(sim.auth.users().find((u) => u.email === ALICE.email)?.userId ?? '');
    expect(await reason).toBe('io server disconnect');
    expect(b.socket.connected).toBe(true);
    await expect(connect(td, sim, { token: alice })).rejects.toThrow('Connection rejected by server');
    await connect(td, sim, { token: await login(sim, ALICE) });
  });
});
