import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueue, simulator, Teardown } from '../support/harness';
import { saveOne } from '../support/graphs';
import { cliWith, connectedTimes } from './spawn';

const td = new Teardown();
afterEach(() => td.run());
const tmp = mkdtempSync(join(tmpdir(), 'ioo-cli-'));

const cli = cliWith(td);

const items = (n: number) => (rs: Record<string, unknown>[]): boolean => rs.filter((r) => r['type'] === 'item').length >= n;

describe('the CLI', () => {
  it('watch: stdout is pure NDJSON records, logs go to stderr, SIGTERM drains and exits 0', async () => {
    const sim = await simulator(td);
    const w = cli(['watch', '--url', sim.url, '--log-level', 'debug']);
    await connectedTimes(w);
    await enqueue(sim, saveOne());
    await enqueue(sim, saveOne());
    await w.waitFor(items(2));
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const lines = w.stdout().split('\n').filter(Boolean);
    expect(lines.length).toBe(4);
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
    // Items resolve in parallel: across items records may interleave; within one, its image comes before its item.
    const recs = w.records();
    for (const item of recs.filter((r) => r['type'] === 'item')) {
      const at = recs.indexOf(item);
      expect(recs.findIndex((r) => r['type'] === 'image' && r['item_id'] === item['item_id'])).toBeLessThan(at);
    }
    expect(recs.filter((r) => r['type'] === 'image')).toHaveLength(2);
    expect(w.stderr()).toMatch(/connected to/);
    expect(w.stderr()).toMatch(/stopping/);
  });

  it('watch: a reader that goes away (EPIPE) stops the daemon quietly with exit 0', async () => {
    const sim = await simulator(td);
    const w = cli(['watch', '--url', sim.url]);
    await connectedTimes(w);
    await enqueue(sim, saveOne());
    await w.waitFor(items(1));
    w.child.stdout.destroy(); // like `watch | head -1` once head has its line
    await enqueue(sim, saveOne());
    expect(await w.exited).toBe(0);
    expect(w.stderr()).toMatch(/stopping \(stdout closed\)/);
    expect(w.stderr()).not.toMatch(/error|EPIPE/i);
  });

  it('takes its settings from INVOKEAI_URL when no flag is given', async () => {
    const sim = await simulator(td);
    const w = cli(['watch'], { INVOKEAI_URL: sim.url });
    await connectedTimes(w);
    await enqueue(sim, saveOne());
    await w.waitFor(items(1));
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it.each([
    [['watch', '--drain-timeout', 'soon'], /--drain-timeout/],
    [['watch', '--log-level', 'loud'], /--log-level/],
    [['watch', '--no-such-flag'], /no-such-flag/],
    [['watch', '--config', '/nonexistent/config.json'], /\/nonexistent\/config\.json/],
    [['resolve'], /--item/],
  ])('bad usage %j exits 2 with one line on stderr and nothing on stdout', async (args, pattern) => {
    const r = cli(args);
    expect(await r.exited).toBe(2);
    expect(r.stdout()).toBe('');
    const lines = r.stderr().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  });

  it('a config file with several bad keys names each of them on one line', async () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(file, JSON.stringify({ url: 'not a url', queue: 7, logLevel: 'loud' }));
    const r = cli(['watch', '--config', file]);
    expect(await r.exited).toBe(2);
    const lines = r.stderr().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    for (const key of ['url', 'queue', 'logLevel', file]) expect(lines[0]).toContain(key);
  });

  it('resolve: a missing item exits 1, names the id, prints nothing', async () => {
    const sim = await simulator(td);
    const r = cli(['resolve', '--url', sim.url, '--item', '4242']);
    expect(await r.exited).toBe(1);
    expect(r.stdout()).toBe('');
    expect(r.stderr().split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr()).toMatch(/4242/);
  });

  it('resolve: prints the records of a finished item', async () => {
    const sim = await simulator(td);
    const { item_ids } = await enqueue(sim, saveOne());
    await new Promise((r) => setTimeout(r, 300));
    const r = cli(['resolve', '--url', sim.url, '--item', String(item_ids[0])]);
    expect(await r.exited).toBe(0);
    expect(r.records().map((x) => x['type'])).toEqual(['image', 'item']);
    expect(r.records()[1]).toMatchObject({ item_id: item_ids[0], status: 'completed', complete: true, via: ['queue_item'] });
  });

  it('resolve: an unreachable server exits 3', async () => {
    const r = cli(['resolve', '--url', 'http://127.0.0.1:1', '--item', '1']);
    expect(await r.exited).toBe(3);
    expect(r.stdout()).toBe('');
  });

  it('simulate: announces its URL as the first stdout line and stops on SIGTERM', async () => {
    const s = cli(['simulate', '--port', '0']);
    await s.waitFor((rs) => rs.length >= 1);
    const first = s.records()[0]!;
    expect(first).toMatchObject({ type: 'simulator', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown });
    const version = await (await fetch(`${String(first['url'])}/api/v1/app/version`)).json() as { version: string };
    expect(version.version).toMatch(/^\d+\.\d+/);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('simulate: --fault and --profile script the server from the command line', async () => {
    const s = cli(['simulate', '--profile', '6.13', '--fault', 'drop:invocation_complete', '--fault', 'duplicate:queue_item_status_changed:1']);
    await s.waitFor((rs) => rs.length >= 1);
    const url = String(s.records()[0]!['url']);
    expect(((await (await fetch(`${url}/api/v1/app/version`)).json()) as { version: string }).version).toBe('6.13.8');
    const w = cli(['watch', '--url', url]);
    await connectedTimes(w);
    await fetch(`${url}/api/v1/queue/default/enqueue_batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ batch: { graph: saveOne(), runs: 1 } }) });
    await w.waitFor((rs) => rs.some((r) => r['type'] === 'item'));
    // every invocation_complete was dropped: the image comes from the finished queue item
    expect(w.records().find((r) => r['type'] === 'image')).toMatchObject({ via: 'queue_item', node_id: 'out' });
    s.child.kill('SIGTERM');
    w.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('simulate: a bad --fault is a usage error', async () => {
    const s = cli(['simulate', '--fault', 'explode:everything']);
    expect(await s.exited).toBe(2);
    expect(s.stderr()).toMatch(/--fault explode:everything/);
  });

  it('demo: prints image and item records for the sample work and exits 0', async () => {
    const d = cli(['demo']);
    expect(await d.exited).toBe(0);
    const recs = d.records();
    const itemsOut = recs.filter((r) => r['type'] === 'item');
    expect(itemsOut.length).toBeGreaterThanOrEqual(3);
    expect(recs.some((r) => r['type'] === 'image')).toBe(true);
    expect(itemsOut.some((r) => r['status'] === 'failed')).toBe(true);
  }, 30000);
});
