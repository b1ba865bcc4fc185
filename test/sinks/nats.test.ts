import { nanos, StorageType } from 'nats';
import { OutputsError } from '../../src/errors';
import { MemoryLogger } from '../../src/log';
import { DUPLICATE_WINDOW_MS, NATS_STREAM } from '../../src/sinks/nats';
import { NatsBroker, freePort, natsBroker } from '../support/brokers';
import { Teardown } from '../support/harness';
import { rec, sinkMaker, warnings } from './brokerSink';

const td = new Teardown();
afterEach(() => td.run());

const sink = sinkMaker(td);

test('creates INVOKEAI_OUTPUTS (file storage, 24 h duplicate window) and publishes each line once, with Nats-Msg-Id', async () => {
  const nats = await natsBroker(td);
  const log = new MemoryLogger();
  const s = sink(nats.url('invokeai.outputs'), log);
  await s.open();
  const recs = [rec(1), rec(2, 'item'), rec(3)];
  for (const r of recs) await s.accept(r);
  await s.accept(rec(2, 'item')); // the same record again (a restart, a peer): the stream keeps one
  expect(await s.flush(5000)).toBe(true);
  const msgs = await nats.messages(NATS_STREAM);
  expect(msgs.map((m) => m.data)).toEqual(recs.map((r) => r.line));
  expect(msgs.map((m) => m.msgId)).toEqual(recs.map((r) => r.recordId));
  const nc = td.add(await nats.client(), (c) => c.close());
  const info = await (await nc.jetstreamManager()).streams.info(NATS_STREAM);
  expect(info.config).toMatchObject({ subjects: ['invokeai.outputs'], storage: StorageType.File, duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
  expect(s.stats()).toEqual({ name: `nats://127.0.0.1:${nats.port}/invokeai.outputs`, delivered: 4, pending: 0, failed: 0 });
  expect(warnings(log)).toEqual([]);
  expect(log.lines.some((l) => /created JetStream stream INVOKEAI_OUTPUTS for invokeai\.outputs/.test(l.msg))).toBe(true);
});

test('an existing stream covering the subject is used; a short duplicate window gets one warning naming it', async () => {
  const nats = await natsBroker(td);
  const nc = td.add(await nats.client(), (c) => c.close());
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'FARM', subjects: ['farm.>'], storage: StorageType.Memory, duplicate_window: nanos(120_000) });
  const log = new MemoryLogger();
  const s = sink(nats.url('farm.outputs'), log);
  await s.open();
  await s.accept(rec(1));
  expect(await s.flush(5000)).toBe(true);
  expect((await nats.messages('FARM')).map((m) => m.data)).toEqual([rec(1).line]);
  await expect(jsm.streams.info(NATS_STREAM)).rejects.toThrow(/stream not found/);
  expect(warnings(log)).toEqual([
    `nats://127.0.0.1:${nats.port}/farm.outputs: JetStream stream FARM covers farm.outputs with a duplicate window of 2 min; ` +
      'a record published again after that (a restart, an active-active peer, a long outage) is stored twice: set it to 24 h',
  ]);
});

test('a second subject joins INVOKEAI_OUTPUTS rather than failing on the taken name', async () => {
  const nats = await natsBroker(td);
  const a = sink(nats.url('outputs.a'));
  const b = sink(nats.url('outputs.b'));
  await a.open();
  await b.open();
  await a.accept(rec(1));
  await b.accept(rec(2));
  expect(await a.flush(5000)).toBe(true);
  expect(await b.flush(5000)).toBe(true);
  // Two sinks publish independently: both records are in the one stream, in whichever order they arrived.
  expect((await nats.messages(NATS_STREAM)).map((m) => m.data).sort()).toEqual([rec(1).line, rec(2).line].sort());
});

test('wrong credentials: open throws BAD_CONFIG in one line, without the password', async () => {
  const nats = await natsBroker(td, { user: 'farm', password: 'right-horse-battery' });
  const s = sink(nats.url('invokeai.outputs', { user: 'farm', password: 'wrong-horse-staple' }));
  const err = await s.open().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutputsError);
  expect((err as OutputsError).code).toBe('BAD_CONFIG');
  expect((err as Error).message).toBe(
    `--sink nats://127.0.0.1:${nats.port}/invokeai.outputs: the NATS server refused the credentials (authorization violation)`,
  );
  // The right ones work, given in the URL.
  const ok = sink(nats.url('invokeai.outputs'));
  await ok.open();
  await ok.accept(rec(1));
  expect(await ok.flush(5000)).toBe(true);
});

test('a server without JetStream is a configuration error at open', async () => {
  const plain = td.add(new PlainNats(), (b) => b.destroy());
  await plain.start();
  await expect(sink(plain.url('x.y')).open()).rejects.toThrow(/JetStream is not enabled on the NATS server \(start it with -js\)/);
});

test('down at open: one warning, records wait in order, and are published once the server is up', async () => {
  const port = await freePort();
  const nats = td.add(new NatsBroker(), (b) => b.destroy());
  nats.port = port;
  const log = new MemoryLogger();
  const s = sink(nats.url('invokeai.outputs'), log);
  await s.open();
  for (let i = 1; i <= 5; i++) await s.accept(rec(i));
  expect(await s.flush(300)).toBe(false);
  expect(s.stats().pending).toBe(5);
  await nats.start();
  expect(await s.flush(10000)).toBe(true);
  expect((await nats.messages(NATS_STREAM)).map((m) => m.data)).toEqual([1, 2, 3, 4, 5].map((i) => rec(i).line));
  expect(warnings(log)).toHaveLength(1);
  expect(warnings(log)[0]).toMatch(/cannot reach the NATS server \(CONNECTION_REFUSED\); holding records in order in memory until it is back/);
  expect(log.lines.filter((l) => /delivering again after \d+ failed attempt/.test(l.msg))).toHaveLength(1);
});

test('memory bound without --state: one warning, accept waits in order, nothing dropped when the server returns', async () => {
  const nats = await natsBroker(td);
  const log = new MemoryLogger();
  const s = sink(nats.url('invokeai.outputs'), log, { memoryLimit: 4 });
  await s.open();
  await s.accept(rec(0));
  expect(await s.flush(5000)).toBe(true);
  await nats.stop();
  const settled: number[] = [];
  const accepts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => s.accept(rec(i)).then(() => settled.push(i)));
  await new Promise((r) => setTimeout(r, 300));
  // Four held in memory, the rest wait for room: back-pressure, not loss.
  expect(settled).toEqual([1, 2, 3, 4]);
  expect(s.stats().pending).toBe(10);
  const bound = warnings(log).filter((w) => /waiting in memory/.test(w));
  expect(bound).toEqual([
    `nats://127.0.0.1:${nats.port}/invokeai.outputs: 4 records waiting in memory (the bound without --state); holding new ones back until it catches up (nothing is dropped)`,
  ]);
  await nats.start();
  await Promise.all(accepts);
  expect(settled).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(await s.flush(10000)).toBe(true);
  expect((await nats.messages(NATS_STREAM)).map((m) => m.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => rec(i).line));
}, 30000);

/** nats-server without JetStream. */
class PlainNats extends NatsBroker {
  protected override command(): [string, string[]] {
    return ['nats-server', ['-a', '127.0.0.1', '-p', String(this.port)]];
  }
}
