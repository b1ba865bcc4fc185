import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { MemoryLogger } from '../../src/log';
import type { OutputRecord } from '../../src/records';
import { DELIVERY_HEADER, SIGNATURE_HEADER, WebhookSink, parseRetryAfter, type WebhookOptions } from '../../src/sinks/webhook';
import { Teardown, freePort, imageRecord, itemRecord, listen, sleep, tempDir, until, type TestServer } from '../output/helpers';

const SECRET = 'whsec-0123456789abcdef';
const FAST = { min: 20, max: 100 };

interface Received {
  at: number;
  body: string;
  headers: IncomingHttpHeaders;
  url: string;
}

type Reply = number | 'hang' | { status: number; headers?: Record<string, string>; body?: string };

/** A webhook receiver: records every request; `reply` decides the answer to the n-th (0-based) one. */
async function receiver(reply: (n: number, body: string) => Reply = () => 200, port = 0) {
  const got: Received[] = [];
  const srv: TestServer = await listen((req, res, raw) => {
    const n = got.length;
    got.push({ at: Date.now(), body: raw.toString('utf8'), headers: req.headers, url: req.url ?? '' });
    const r = reply(n, raw.toString('utf8'));
    if (r === 'hang') return;
    const { status, headers = {}, body = '' } = typeof r === 'number' ? { status: r } : r;
    res.writeHead(status, headers).end(body);
  }, port);
  return { srv, got, ok: () => got.filter((_, i) => statusOf(reply(i, '')) < 300) };
}

function statusOf(r: Reply): number {
  return r === 'hang' ? 0 : typeof r === 'number' ? r : r.status;
}

function verify(secret: string, r: Received): boolean {
  const sig = r.headers[SIGNATURE_HEADER];
  if (typeof sig !== 'string' || !sig.startsWith('sha256=')) return false;
  const want = createHmac('sha256', secret).update(Buffer.from(r.body, 'utf8')).digest();
  const have = Buffer.from(sig.slice('sha256='.length), 'hex');
  return have.length === want.length && timingSafeEqual(have, want);
}

/** The distinct bodies in order of first arrival: what an idempotent receiver ends up with. */
function firstCopies(got: readonly Received[]): string[] {
  return [...new Set(got.map((g) => g.body))];
}

const td = new Teardown();
afterEach(() => td.run());

function sink(opts: WebhookOptions): WebhookSink {
  return td.add(new WebhookSink({ backoff: FAST, ...opts }), (s) => s.close());
}

function serve(r: Awaited<ReturnType<typeof receiver>>) {
  td.add(r.srv, (s) => s.close());
  return r;
}

test('posts item records in order, signed, each body exactly JSON.stringify(record)', async () => {
  const rx = serve(await receiver());
  const wh = sink({ url: `${rx.srv.url}/hook`, secret: SECRET });
  const records: OutputRecord[] = [1, 2, 3, 4, 5].map((i) => itemRecord(i, { error_message: i === 3 ? 'é "quoted" ✓' : null }));
  wh.send(imageRecord());
  for (const r of records) wh.send(r);
  expect(await wh.flush(5000)).toBe(true);
  expect(wh.pending).toBe(0);
  expect(rx.got.map((g) => g.body)).toEqual(records.map((r) => JSON.stringify(r)));
  for (const g of rx.got) {
    expect(g.url).toBe('/hook');
    expect(g.headers['content-type']).toBe('application/json');
    expect(verify(SECRET, g)).toBe(true);
    expect(verify('wrong secret', g)).toBe(false);
  }
  expect(new Set(rx.got.map((g) => g.headers[DELIVERY_HEADER])).size).toBe(5);
});

test('without a secret there is no signature header; --webhook-images posts image records too', async () => {
  const rx = serve(await receiver());
  const wh = sink({ url: rx.srv.url, images: true });
  const recs: OutputRecord[] = [imageRecord({ image_name: 'a.png' }), imageRecord({ image_name: 'b.png' }), itemRecord(1)];
  for (const r of recs) wh.send(r);
  expect(await wh.flush(5000)).toBe(true);
  expect(rx.got.map((g) => g.body)).toEqual(recs.map((r) => JSON.stringify(r)));
  expect(rx.got.every((g) => g.headers[SIGNATURE_HEADER] === undefined)).toBe(true);
});

test('the printed line is the body, without its newline', async () => {
  const rx = serve(await receiver());
  const wh = sink({ url: rx.srv.url, secret: SECRET });
  const rec = imageRecord();
  // The CLI passes the line it printed (here with `file`, added by --download), not a re-serialisation.
  const line = JSON.stringify({ ...rec, file: '/data/a17c2b12/e007a5d1.png' });
  const sinkWithImages = sink({ url: rx.srv.url, secret: SECRET, images: true });
  sinkWithImages.send(rec, `${line}\n`);
  expect(await sinkWithImages.flush(5000)).toBe(true);
  wh.send(itemRecord(7));
  expect(await wh.flush(5000)).toBe(true);
  expect(rx.got.map((g) => g.body)).toEqual([line, JSON.stringify(itemRecord(7))]);
  expect(rx.got.every((g) => verify(SECRET, g))).toBe(true);
});

test('a receiver that fails (500s, then refuses connections) and recovers gets everything, in order, identical copies', async () => {
  const log = new MemoryLogger();
  const down = serve(await receiver(() => 500));
  const wh = sink({ url: down.srv.url, secret: SECRET, log });
  const records = [1, 2, 3, 4, 5].map((i) => itemRecord(i));
  wh.send(records[0] as OutputRecord);
  await until(() => down.got.length >= 3, 5000, 'three 500s');
  for (const r of records.slice(1)) wh.send(r);
  // The failing head blocks the rest: the receiver has only ever seen the first record.
  expect(new Set(down.got.map((g) => g.body))).toEqual(new Set([JSON.stringify(records[0])]));
  await down.srv.close();
  await sleep(150); // several attempts meet a refused connection
  expect(await wh.flush(50)).toBe(false);
  expect(wh.pending).toBe(5);

  const up = serve(await receiver(() => 200, down.srv.port));
  expect(await wh.flush(5000)).toBe(true);
  const all = [...down.got, ...up.got];
  expect(firstCopies(up.got)).toEqual(records.map((r) => JSON.stringify(r)));
  expect(up.got).toHaveLength(5);
  // Every copy of one delivery is byte-identical and carries the same valid signature.
  const byId = new Map<string, Received[]>();
  for (const g of all) byId.set(String(g.headers[DELIVERY_HEADER]), [...(byId.get(String(g.headers[DELIVERY_HEADER])) ?? []), g]);
  for (const copies of byId.values()) {
    expect(new Set(copies.map((c) => c.body)).size).toBe(1);
    expect(new Set(copies.map((c) => c.headers[SIGNATURE_HEADER])).size).toBe(1);
    expect(copies.every((c) => verify(SECRET, c))).toBe(true);
  }
  const warns = log.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
  expect(warns[0]).toMatch(/HTTP 500; retrying in/);
  expect(log.lines.some((l) => l.level === 'info' && /delivering again after \d+ failed attempt/.test(l.msg))).toBe(true);
});

test('429 with Retry-After is honoured', async () => {
  const rx = serve(await receiver((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : 200)));
  const wh = sink({ url: rx.srv.url, backoff: { min: 10, max: 20 } });
  wh.send(itemRecord(1));
  expect(await wh.flush(5000)).toBe(true);
  expect(rx.got).toHaveLength(2);
  const [a, b] = rx.got as [Received, Received];
  expect(b.at - a.at).toBeGreaterThanOrEqual(950);
  expect(b.body).toBe(a.body);
});

test('a post with no answer times out and is sent again', async () => {
  const rx = serve(await receiver((n) => (n === 0 ? 'hang' : 200)));
  const log = new MemoryLogger();
  const wh = sink({ url: rx.srv.url, timeoutMs: 200, log });
  wh.send(itemRecord(1));
  wh.send(itemRecord(2));
  expect(await wh.flush(5000)).toBe(true);
  expect(rx.got.map((g) => JSON.parse(g.body) as { item_id: number }).map((r) => r.item_id)).toEqual([1, 1, 2]);
  expect(log.lines.some((l) => l.level === 'warn' && /no answer within 200 ms/.test(l.msg))).toBe(true);
});

test('a 400 is logged at error and dropped; the next record goes through', async () => {
  const log = new MemoryLogger();
  const rx = serve(await receiver((n) => (n === 0 ? { status: 400, body: '{"detail":"bad record"}' } : 204)));
  const wh = sink({ url: rx.srv.url, log });
  wh.send(itemRecord(1));
  wh.send(itemRecord(2));
  expect(await wh.flush(5000)).toBe(true);
  expect(rx.got.map((g) => (JSON.parse(g.body) as { item_id: number }).item_id)).toEqual([1, 2]);
  const errors = log.lines.filter((l) => l.level === 'error');
  expect(errors).toHaveLength(1);
  expect(errors[0]?.msg).toMatch(/HTTP 400 \(\{"detail":"bad record"\}\); dropping item record of item 1/);
  expect(errors[0]?.ns).toBe('sink:webhook');
});

test('a 3xx is a configuration error: logged once with its Location, retried, never dropped', async () => {
  const log = new MemoryLogger();
  const moved = { status: 301, headers: { location: 'https://hooks.example.com/new-path' } };
  const rx = serve(await receiver((n) => (n < 3 ? moved : 200)));
  const wh = sink({ url: rx.srv.url, log });
  wh.send(itemRecord(1));
  wh.send(itemRecord(2));
  expect(await wh.flush(5000)).toBe(true);
  // The first record was posted until the receiver took it, then the second: nothing skipped, nothing reordered.
  expect(rx.got.map((g) => (JSON.parse(g.body) as { item_id: number }).item_id)).toEqual([1, 1, 1, 1, 2]);
  const loud = log.lines.filter((l) => l.level === 'error' || l.level === 'warn');
  expect(loud).toHaveLength(1);
  expect(loud[0]?.level).toBe('error');
  expect(loud[0]?.msg).toMatch(/HTTP 301: the webhook redirects to https:\/\/hooks\.example\.com\/new-path; a configuration error/);
  expect(log.lines.filter((l) => /delivering again after 3 failed attempt/.test(l.msg))).toHaveLength(1);
  expect(wh.stats()).toEqual({ name: rx.srv.url + '/', delivered: 2, pending: 0, failed: 3 });
});

test('the secret, credentials and query never reach the logs', async () => {
  const log = new MemoryLogger();
  // The receiver echoes everything secret back in its error bodies, which the sink quotes in its log lines.
  const echo = (status: number, body: string): Reply => ({ status, body: `token=qtok9876 ${SECRET} hunter2pass ${body.slice(0, 10)}` });
  const rx = serve(await receiver((n, body) => (n < 2 ? echo(500, body) : n === 2 ? echo(403, body) : 200)));
  const url = `http://admin:hunter2pass@127.0.0.1:${rx.srv.port}/hook?token=qtok9876`;
  const wh = sink({ url, secret: SECRET, log, timeoutMs: 1000 });
  wh.send(itemRecord(1));
  wh.send(itemRecord(2));
  expect(await wh.flush(5000)).toBe(true);
  await wh.close();
  // The receiver got the credentials as Basic auth and the query intact.
  expect(rx.got[0]?.headers.authorization).toBe(`Basic ${Buffer.from('admin:hunter2pass').toString('base64')}`);
  expect(rx.got[0]?.url).toBe('/hook?token=qtok9876');
  expect(log.lines.length).toBeGreaterThan(1);
  const text = log.lines.map((l) => l.msg).join('\n');
  for (const s of [SECRET, 'hunter2pass', 'qtok9876']) expect(text).not.toContain(s);
  expect(text).toContain(`http://127.0.0.1:${rx.srv.port}/hook`);
});

test('flush gives up after its timeout and what is left stays pending', async () => {
  const port = await freePort();
  const wh = sink({ url: `http://127.0.0.1:${port}/` });
  wh.send(itemRecord(1));
  const t0 = Date.now();
  expect(await wh.flush(100)).toBe(false);
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(wh.pending).toBe(1);
});

test('close abandons a post in flight promptly', async () => {
  const rx = serve(await receiver(() => 'hang'));
  const log = new MemoryLogger();
  const wh = new WebhookSink({ url: rx.srv.url, log });
  wh.send(itemRecord(1));
  await until(() => rx.got.length === 1, 2000, 'the post');
  const t0 = Date.now();
  await wh.close();
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(wh.pending).toBe(1);
  expect(log.lines.some((l) => l.level === 'warn' && /1 undelivered post\(s\) .* lost/.test(l.msg))).toBe(true);
  expect(await wh.flush(10)).toBe(false);
});

test('bad URLs are refused at construction', () => {
  expect(() => new WebhookSink({ url: 'ftp://example.com/x' })).toThrow(/http or https/);
  expect(() => new WebhookSink({ url: 'not a url' })).toThrow(/not a valid URL/);
});

test.each([
  ['2', 2000],
  [' 0 ', 0],
  ['soon', undefined],
  [undefined, undefined],
  ['99999999', 3_600_000],
] as const)('Retry-After %p is %p ms', (v, ms) => {
  expect(parseRetryAfter(v)).toBe(ms);
});

test('Retry-After as an HTTP date', () => {
  const now = Date.parse('2026-11-27T10:00:00Z');
  expect(parseRetryAfter('Fri, 27 Nov 2026 10:00:05 GMT', now)).toBe(5000);
  expect(parseRetryAfter('Fri, 27 Nov 2026 09:00:00 GMT', now)).toBe(0);
});

describe('outbox', () => {
  test('a restart delivers what a closed sink left, first and in order, exactly as stored', async () => {
    const dir = await tempDir(td);
    const outboxFile = join(dir, 'state', 'webhook.outbox');
    const port = await freePort();
    const log = new MemoryLogger();
    const first = new WebhookSink({ url: `http://127.0.0.1:${port}/h`, outboxFile, backoff: FAST, log, secret: SECRET });
    const records = [1, 2, 3].map((i) => itemRecord(i));
    for (const r of records) first.send(r);
    // On disk (fsynced) as soon as send returns: a crash from here on loses nothing.
    const onDisk = readFileSync(outboxFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; body: string });
    expect(onDisk.map((e) => e.body)).toEqual(records.map((r) => JSON.stringify(r)));
    await sleep(60);
    await first.close();
    expect(first.pending).toBe(3);
    expect(log.lines.some((l) => /3 undelivered post\(s\) .* kept in/.test(l.msg))).toBe(true);
    first.send(itemRecord(4)); // after close: kept for the next start

    const rx = serve(await receiver(() => 200, port));
    const second = sink({ url: `http://127.0.0.1:${port}/h`, outboxFile, secret: SECRET, log });
    expect(second.pending).toBe(4);
    second.send(itemRecord(5));
    expect(await second.flush(5000)).toBe(true);
    expect(rx.got.map((g) => g.body)).toEqual([1, 2, 3, 4, 5].map((i) => JSON.stringify(itemRecord(i))));
    expect(rx.got.slice(0, 3).map((g) => g.headers[DELIVERY_HEADER])).toEqual(onDisk.map((e) => e.id));
    expect(rx.got.every((g) => verify(SECRET, g))).toBe(true);
    await second.close();

    const third = sink({ url: `http://127.0.0.1:${port}/h`, outboxFile });
    expect(third.pending).toBe(0);
    expect(readFileSync(outboxFile, 'utf8')).toBe('');
    await third.flush(100);
    expect(rx.got).toHaveLength(5);
  });
});
