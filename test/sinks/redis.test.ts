import { OutputsError } from '../../src/errors';
import { MemoryLogger } from '../../src/log';
import type { QueuedSink } from '../../src/sinks/queued';
import { SEEN_TTL_S } from '../../src/sinks/redis';
import { RedisBroker, freePort, redisBroker } from '../support/brokers';
import { Teardown } from '../support/harness';
import { rec, sinkMaker, warnings } from './brokerSink';

const td = new Teardown();
afterEach(() => td.run());

const sink = sinkMaker(td);

async function openError(s: QueuedSink): Promise<unknown> {
  return s.open().then(
    () => undefined,
    (e: unknown) => e,
  );
}

test('XADD record_id, type and the exact line, once per record_id (24 h), through one registered script', async () => {
  const redis = await redisBroker(td);
  const log = new MemoryLogger();
  const s = sink(redis.url('outputs'), log);
  await s.open();
  const recs = [rec(1), rec(2, 'item'), rec(3)];
  for (const r of recs) await s.accept(r);
  await s.accept(rec(2, 'item')); // delivered again (a restart, an active-active peer): not added again
  expect(await s.flush(5000)).toBe(true);
  const entries = await redis.entries('outputs');
  expect(entries.map(({ record_id, type, record }) => ({ record_id, type, record }))).toEqual(
    recs.map((r) => ({ record_id: r.recordId, type: r.type, record: r.line })),
  );
  const r = td.add(redis.client(), (c) => c.disconnect());
  const ttl = await r.ttl('outputs:seen:rid-2');
  expect(ttl).toBeGreaterThan(SEEN_TTL_S - 60);
  expect(ttl).toBeLessThanOrEqual(SEEN_TTL_S);
  // Registered once, then EVALSHA only: the script is in the server's cache under its SHA.
  const info = await r.info('commandstats');
  expect(info).toMatch(/cmdstat_evalsha:calls=4\b/);
  expect(info).not.toMatch(/cmdstat_eval:/);
  expect(s.stats()).toMatchObject({ delivered: 4, pending: 0, failed: 0 });
  expect(warnings(log)).toEqual([]);
});

test('a server restarted without the script (NOSCRIPT) gets it registered again; the stream survives', async () => {
  const redis = await redisBroker(td);
  const s = sink(redis.url('outputs'));
  await s.open();
  await s.accept(rec(1));
  expect(await s.flush(5000)).toBe(true);
  const r = td.add(redis.client(), (c) => c.disconnect());
  await r.script('FLUSH');
  await s.accept(rec(2));
  expect(await s.flush(5000)).toBe(true);
  expect((await redis.entries('outputs')).map((e) => e.record)).toEqual([rec(1).line, rec(2).line]);
});

test.each([
  ['a wrong password', { password: 'wrong-horse-staple' }, 'WRONGPASS: wrong user name or password'],
  ['no password', null, 'NOAUTH: a password is required'],
  ['an unknown user', { user: 'mallory', password: 'right-horse-battery' }, 'WRONGPASS: wrong user name or password'],
] as const)('%s: open throws BAD_CONFIG in one line without the password', async (_what, creds, reason) => {
  const redis = await redisBroker(td, { password: 'right-horse-battery' });
  const err = await openError(sink(redis.url('outputs', creds)));
  expect(err).toBeInstanceOf(OutputsError);
  expect((err as OutputsError).code).toBe('BAD_CONFIG');
  expect((err as Error).message).toBe(`--sink redis://127.0.0.1:${redis.port}/outputs: the Redis server refused (${reason})`);
  const ok = sink(redis.url('outputs'));
  await ok.open();
  await ok.accept(rec(1));
  expect(await ok.flush(5000)).toBe(true);
});

test('a key that is not a stream is a configuration error at open', async () => {
  const redis = await redisBroker(td);
  const r = td.add(redis.client(), (c) => c.disconnect());
  await r.set('outputs', 'a string');
  await expect(sink(redis.url('outputs')).open()).rejects.toThrow(`--sink redis://127.0.0.1:${redis.port}/outputs: key outputs holds a string, not a stream`);
});

test('down at open: one warning, records wait in order, and are added once the server is up', async () => {
  const redis = td.add(new RedisBroker(), (b) => b.destroy());
  redis.port = await freePort();
  const log = new MemoryLogger();
  const s = sink(redis.url('outputs'), log);
  await s.open();
  for (let i = 1; i <= 5; i++) await s.accept(rec(i));
  expect(await s.flush(300)).toBe(false);
  await redis.start();
  expect(await s.flush(10000)).toBe(true);
  expect((await redis.entries('outputs')).map((e) => e.record)).toEqual([1, 2, 3, 4, 5].map((i) => rec(i).line));
  expect(warnings(log)).toHaveLength(1);
  expect(warnings(log)[0]).toMatch(/cannot reach the Redis server \(connect ECONNREFUSED 127\.0\.0\.1:\d+\); holding records in order in memory/);
  expect(log.lines.filter((l) => /delivering again after \d+ failed attempt/.test(l.msg))).toHaveLength(1);
});

test('memory bound without --state: one warning, accept waits in order, nothing dropped when the server returns', async () => {
  const redis = await redisBroker(td);
  const log = new MemoryLogger();
  const s = sink(redis.url('outputs'), log, { memoryLimit: 3 });
  await s.open();
  await redis.stop();
  const settled: number[] = [];
  const accepts = [1, 2, 3, 4, 5, 6, 7].map((i) => s.accept(rec(i)).then(() => settled.push(i)));
  await new Promise((r) => setTimeout(r, 300));
  expect(settled).toEqual([1, 2, 3]);
  expect(warnings(log).filter((w) => /3 records waiting in memory \(the bound without --state\)/.test(w))).toHaveLength(1);
  await redis.start();
  await Promise.all(accepts);
  expect(settled).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(await s.flush(10000)).toBe(true);
  expect((await redis.entries('outputs')).map((e) => e.record)).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => rec(i).line));
}, 30000);
