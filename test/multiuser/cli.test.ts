import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type Spawned } from '../cli/spawn';
import { saveOne } from '../support/graphs';
import { sleep, Teardown } from '../support/harness';
import { ADMIN, ALICE, enqueueAs, finished, login, multiuserSim, waitFor } from './support';

// Spawns the built CLI: run `npm run build` first.
const td = new Teardown();
afterEach(() => td.run());
const tmp = mkdtempSync(join(tmpdir(), 'ioo-mu-'));
const graphFile = join(tmp, 'graph.json');
writeFileSync(graphFile, JSON.stringify(saveOne()));

function cli(args: string[], env?: Record<string, string>): Spawned {
  return td.add(runCli(args, env), (s) => {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    return s.exited;
  });
}

const stderrLines = (s: Spawned): string[] => s.stderr().split('\n').filter(Boolean);

describe('the CLI on a multi-user server', () => {
  it('resolve and run: a wrong password exits 3 with one clear line; a token or credentials work', async () => {
    const sim = await multiuserSim(td);
    const token = await login(sim, ALICE);
    const { item_ids: [id] } = await enqueueAs(sim, token, saveOne());
    await finished(sim, [id!]);
    const wrong = ['--url', sim.url, '--username', ALICE.email, '--password', 'wrong-password'];
    const resolve = cli(['resolve', ...wrong, '--item', String(id)]);
    const run = cli(['run', ...wrong, '--graph', graphFile]);
    const byToken = cli(['resolve', '--url', sim.url, '--token', token, '--item', String(id)]);
    const byEnv = cli(['resolve', '--url', sim.url, '--item', String(id)], { INVOKEAI_USERNAME: ALICE.email, INVOKEAI_PASSWORD: ALICE.password });
    expect(await Promise.all([resolve.exited, run.exited, byToken.exited, byEnv.exited])).toEqual([3, 3, 0, 0]);
    for (const s of [resolve, run]) {
      expect(s.stdout()).toBe('');
      expect(stderrLines(s)).toEqual([`invokeai-outputs: ${sim.url}: login as ${ALICE.email} refused (HTTP 401: Incorrect email or password)`]);
    }
    for (const s of [byToken, byEnv]) expect(s.records().map((r) => r['type'])).toEqual(['image', 'item']);
  });

  it('simulate --multiuser: a multi-user server with the default administrator', async () => {
    const s = cli(['simulate', '--multiuser']);
    await s.waitFor((rs) => rs.length >= 1);
    const url = String(s.records()[0]?.['url']);
    const status = (await (await fetch(`${url}/api/v1/auth/status`)).json()) as { multiuser_enabled: boolean };
    expect(status.multiuser_enabled).toBe(true);
    expect((await fetch(`${url}/api/v1/queue/default/status`)).status).toBe(401);
    const ok = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
    });
    expect(ok.status).toBe(200);
    expect(s.stderr()).toContain(ADMIN.email);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('watch: a wrong password is retried with backoff, not in a tight loop, and said once', async () => {
    const sim = await multiuserSim(td);
    const w = cli(['watch', '--url', sim.url, '--username', ALICE.email, '--password', 'wrong-password', '--log-level', 'debug']);
    await waitFor(() => /refused/.test(w.stderr()), 'the error line');
    await sleep(2000);
    expect(w.child.exitCode).toBeNull();
    // It keeps trying (the socket reconnects with backoff), but a refused login is only retried after 1 s, then 2 s…
    expect(sim.auth.seen.filter((s) => s.via === 'socket').length).toBeGreaterThanOrEqual(2);
    const attempts = sim.auth.logins.filter((l) => l.email === ALICE.email);
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    expect(attempts.length).toBeLessThanOrEqual(3);
    expect(stderrLines(w).filter((l) => / error /.test(l))).toEqual([
      expect.stringContaining(`login as ${ALICE.email} refused (HTTP 401: Incorrect email or password); retrying with backoff`),
    ]);
    expect(w.stderr()).not.toContain('wrong-password');
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('watch at debug level: no password or token reaches stderr or the records, across re-logins and refreshes', async () => {
    const sim = await multiuserSim(td);
    const alice = await login(sim, ALICE);
    await finished(sim, (await enqueueAs(sim, alice, saveOne())).item_ids); // read with POST at start: a refresh
    const w = cli(['watch', '--url', sim.url, '--log-level', 'debug'], { INVOKEAI_USERNAME: ALICE.email, INVOKEAI_PASSWORD: ALICE.password });
    await waitFor(() => /connected to/.test(w.stderr()), 'connected');
    await enqueueAs(sim, alice, saveOne());
    await w.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length >= 1);
    sim.expireTokens();
    sim.disconnectSockets();
    await enqueueAs(sim, await login(sim, ALICE), saveOne());
    await w.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length >= 2);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(sim.auth.logins.filter((l) => l.status === 200).length).toBeGreaterThanOrEqual(4); // 2 ours, 2 the watcher's
    const secrets = new Set([ALICE.password, ...sim.auth.refreshed, ...sim.auth.seen.map((s) => s.token).filter((t): t is string => t !== null)]);
    expect(secrets.size).toBeGreaterThan(3);
    for (const secret of secrets) {
      expect(w.stderr()).not.toContain(secret);
      expect(w.stdout()).not.toContain(secret);
    }
    expect(w.stderr()).toMatch(/logged in again/);
  });
});
