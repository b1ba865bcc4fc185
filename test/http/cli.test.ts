import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueue, simulator, Teardown } from '../support/harness';
import { saveOne } from '../support/graphs';
import { cliWith, connectedTimes, type Spawned } from '../cli/spawn';
import { get, sample, scrape, until } from './support';

const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);
const tmp = mkdtempSync(join(tmpdir(), 'ioo-http-cli-'));

/** The URL of the daemon's `http listening on …` line, once it is there. */
async function listening(w: Spawned): Promise<string> {
  let url = '';
  await until(() => {
    url = / info http listening on (http:\/\/\S+)$/m.exec(w.stderr())?.[1] ?? '';
    return url !== '' || w.child.exitCode !== null;
  }, 10_000, 'the http listening line');
  if (!url) throw new Error(`no listening line; stderr:\n${w.stderr()}`);
  return url;
}

describe('watch --http', () => {
  it.each([
    [['--http', '0.0.0.0:0'], '--http 0.0.0.0:0: a non-loopback address needs --http-token T (or INVOKEAI_OUTPUTS_HTTP_TOKEN)'],
    [['--http', '[::]:8080'], '--http [::]:8080: a non-loopback address needs --http-token T (or INVOKEAI_OUTPUTS_HTTP_TOKEN)'],
    [['--http', '8080'], '--http: must be HOST:PORT, :PORT or [IPv6]:PORT, got "8080"'],
    [['--http', '127.0.0.1:99999'], '--http: port 99999 is out of range (0-65535), got "127.0.0.1:99999"'],
  ])('%j: exit 2 with one line, nothing started', async (args, message) => {
    const w = cli(['watch', '--url', 'http://127.0.0.1:9', ...args]);
    expect(await w.exited).toBe(2);
    expect(w.stderr()).toBe(`invokeai-outputs: ${message}\n`);
    expect(w.stdout()).toBe('');
  });

  it('a non-loopback http in the config file without a token: exit 2 naming the file', async () => {
    const file = join(tmp, 'open.json');
    writeFileSync(file, JSON.stringify({ url: 'http://127.0.0.1:9', http: '0.0.0.0:8080' }));
    const w = cli(['watch', '--config', file]);
    expect(await w.exited).toBe(2);
    expect(w.stderr()).toBe(`invokeai-outputs: config file ${file}: http 0.0.0.0:8080: a non-loopback address needs --http-token T (or INVOKEAI_OUTPUTS_HTTP_TOKEN)\n`);
  });

  it('a port already taken: exit 2 naming the flag', async () => {
    const taken = td.add(createServer(), (s: Server) => new Promise((r) => s.close(r)));
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    const sim = await simulator(td);
    const w = cli(['watch', '--url', sim.url, '--http', `127.0.0.1:${port}`]);
    expect(await w.exited).toBe(2);
    expect(w.stderr()).toMatch(new RegExp(`^invokeai-outputs: --http 127\\.0\\.0\\.1:${port}: cannot listen on http://127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)$`, 'm'));
    expect(w.stdout()).toBe('');
  });

  it(':0 listens on 127.0.0.1 and says so in one line; the webhook shows in /metrics; the token never reaches the logs', async () => {
    const posts: string[] = [];
    const hook = td.add(
      createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          posts.push(body);
          res.writeHead(204).end();
        });
      }),
      (s: Server) => new Promise((r) => s.close(r)),
    );
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const sim = await simulator(td);
    const token = 'cli-token-5e1b9a';
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const w = cli(['watch', '--url', sim.url, '--http', ':0', '--webhook', hookUrl, '--log-level', 'debug'], {
      INVOKEAI_OUTPUTS_HTTP_TOKEN: token,
    });
    const url = await listening(w);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(w.stderr().match(/http listening on/g)).toHaveLength(1);
    await connectedTimes(w);
    await enqueue(sim, saveOne());
    await w.waitFor((rs) => rs.some((r) => r['type'] === 'item'));
    await until(() => posts.length === 1, 10_000, 'the webhook post');
    const auth = { authorization: `Bearer ${token}` };
    expect((await get(`${url}/metrics`)).status).toBe(401);
    await until(async () => sample(await scrape(url, auth), 'invokeai_outputs_sink_delivered_total', { sink: hookUrl }) === 1, 5000, 'delivered 1');
    const m = await scrape(url, auth);
    expect(sample(m, 'invokeai_outputs_sink_pending', { sink: hookUrl })).toBe(0);
    expect(sample(m, 'invokeai_outputs_sink_delivered_total', { sink: 'stdout' })).toBe(2);
    expect(sample(m, 'invokeai_outputs_records_total', { type: 'item' })).toBe(1);
    expect(JSON.parse((await get(`${url}/api/records`, auth)).text)).toEqual(w.records());
    await get(`${url}/?token=${token}`);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.stderr()).not.toContain(token);
    expect((await get(`${url}/healthz`).catch((e: Error) => ({ status: e.message })) as { status: unknown }).status).toMatch(/ECONNREFUSED/);
  });
});

describe('demo --http', () => {
  it('serves the page while the sample work arrives over a few seconds, and runs until SIGINT', async () => {
    const w = cli(['demo', '--http', ':0']);
    const url = await listening(w);
    await until(() => /open http:\/\/127\.0\.0\.1:\d+\/ in a browser/.test(w.stderr()), 5000, 'the open line');
    expect((await get(`${url}/`)).status).toBe(200);
    const items = async (): Promise<Record<string, unknown>[]> => (JSON.parse((await get(`${url}/api/records`)).text) as Record<string, unknown>[]).filter((r) => r['type'] === 'item');
    const firstSeen = Date.now();
    await until(async () => (await items()).length >= 5, 30_000, 'five sample items');
    // Staggered: the work took a while to arrive (a page has something to watch).
    expect(Date.now() - firstSeen).toBeGreaterThan(2000);
    expect((await items()).map((i) => i['status']).sort()).toEqual(['completed', 'completed', 'completed', 'completed', 'failed']);
    // Still serving after the work is done, until SIGINT.
    expect(w.child.exitCode).toBeNull();
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  }, 40_000);
});
