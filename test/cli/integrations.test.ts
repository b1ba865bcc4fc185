import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { enqueue, simulator, sleep, Teardown } from '../support/harness';
import { saveOne } from '../support/graphs';
import { cliWith, connectedTimes } from './spawn';

const td = new Teardown();
afterEach(() => td.run());

const cli = cliWith(td);

const connected = connectedTimes;

const items = (rs: Record<string, unknown>[]): Record<string, unknown>[] => rs.filter((r) => r['type'] === 'item');

interface Receiver {
  url: string;
  posts: { body: string; signature: string | undefined }[];
  failing: boolean;
}

async function receiver(): Promise<Receiver> {
  const r: Receiver = { url: '', posts: [], failing: true };
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (r.failing) {
        res.writeHead(503).end();
        return;
      }
      r.posts.push({ body, signature: req.headers['x-invokeai-outputs-signature'] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  td.add(server, (s) => new Promise((resolve) => { s.closeAllConnections(); s.close(() => resolve(undefined)); }));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}

describe('integrations', () => {
  it('one daemon, two servers: one going down does not stall the other', async () => {
    const a = await simulator(td);
    const b = await simulator(td);
    const w = cli(['watch', '--url', a.url, '--url', b.url, '--log-level', 'debug']);
    await connected(w, 2);
    await enqueue(a, saveOne());
    await enqueue(b, saveOne());
    await w.waitFor((rs) => items(rs).length === 2);
    await b.stopListener();
    await enqueue(a, saveOne());
    await w.waitFor((rs) => items(rs).length === 3);
    await b.startListener();
    await connected(w, 3);
    await enqueue(b, saveOne());
    await w.waitFor((rs) => items(rs).length === 4, 15000);
    const servers = items(w.records()).map((r) => r['server']);
    expect(servers.filter((s) => s === a.url)).toHaveLength(2);
    expect(servers.filter((s) => s === b.url)).toHaveLength(2);
  }, 30000);

  it('webhook: signed posts, identical to stdout, delivered after the receiver recovers across a daemon restart', async () => {
    const sim = await simulator(td);
    const hook = await receiver();
    const dir = mkdtempSync(join(tmpdir(), 'ioo-hook-'));
    const args = ['watch', '--url', sim.url, '--state', join(dir, 'state.json'), '--webhook', hook.url, '--webhook-secret', 's3cret-key', '--drain-timeout', '300'];
    const first = cli(args);
    await connected(first);
    await enqueue(sim, saveOne());
    await first.waitFor((rs) => items(rs).length === 1);
    await sleep(300);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(hook.posts).toHaveLength(0);
    expect(first.stderr()).not.toContain('s3cret-key');

    hook.failing = false;
    const second = cli(args);
    await connected(second);
    await enqueue(sim, saveOne());
    await second.waitFor((rs) => items(rs).length === 1);
    for (let i = 0; i < 200 && hook.posts.length < 2; i++) await sleep(25);
    second.child.kill('SIGTERM');
    await second.exited;

    const printed = [...first.stdout().split('\n'), ...second.stdout().split('\n')].filter((l) => l.includes('"type":"item"'));
    expect(hook.posts.map((p) => p.body)).toEqual(printed);
    for (const p of hook.posts) {
      expect(p.signature).toBe(`sha256=${createHmac('sha256', 's3cret-key').update(p.body).digest('hex')}`);
    }
  }, 30000);

  it('--download saves each output image and names the file in its record', async () => {
    const sim = await simulator(td);
    const dir = mkdtempSync(join(tmpdir(), 'ioo-dl-'));
    const w = cli(['watch', '--url', sim.url, '--download', dir]);
    await connected(w);
    await enqueue(sim, saveOne());
    await w.waitFor((rs) => items(rs).length === 1);
    w.child.kill('SIGTERM');
    await w.exited;
    const img = w.records().find((r) => r['type'] === 'image')!;
    const file = img['file'] as string;
    expect(isAbsolute(file)).toBe(true);
    expect(file).toBe(join(dir, String(img['board_id']), String(img['image_name'])));
    expect(existsSync(file)).toBe(true);
    const bytes = readFileSync(file);
    const served = Buffer.from(await (await fetch(String(img['image_url']))).arrayBuffer());
    expect(bytes.equals(served)).toBe(true);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
  });
});
