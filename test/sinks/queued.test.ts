import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputsError } from '../../src/errors';
import { MemoryLogger } from '../../src/log';
import type { OutboxEntry } from '../../src/sinks/outbox';
import { QueuedSink, type Outcome, type Publisher, type QueuedSinkOptions } from '../../src/sinks/queued';
import type { SinkRecord } from '../../src/sinks/sink';
import { Teardown, tempDir, until } from '../output/helpers';

const td = new Teardown();
afterEach(() => td.run());

/** An in-memory target: `answer` decides each attempt; `published` is what it acknowledged, in order. */
class FakePublisher implements Publisher {
  readonly name = 'fake://target/stream';
  readonly secrets = ['sekrit-pw'];
  readonly attempts: string[] = [];
  readonly published: string[] = [];
  opened = 0;
  closed = 0;
  constructor(
    private readonly answer: (recordId: string, attempt: number) => Outcome | 'hang' = () => ({ kind: 'delivered' }),
    private readonly openWith: () => Promise<string | null> = () => Promise.resolve(null),
  ) {}
  open(): Promise<string | null> {
    this.opened += 1;
    return this.openWith();
  }
  publish(entry: OutboxEntry, signal: AbortSignal): Promise<Outcome> {
    const id = entry.recordId ?? entry.id;
    const n = this.attempts.filter((a) => a === id).length;
    this.attempts.push(id);
    const a = this.answer(id, n);
    if (a === 'hang') {
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ kind: 'retry', reason: 'closing' }), { once: true }));
    }
    if (a.kind === 'delivered') this.published.push(id);
    return Promise.resolve(a);
  }
  wants(rec: SinkRecord): boolean {
    return !rec.line.includes('"skip":true');
  }
  close(): Promise<void> {
    this.closed += 1;
    return Promise.resolve();
  }
}

function queued(publisher: Publisher, opts: Partial<QueuedSinkOptions> = {}): QueuedSink {
  return td.add(new QueuedSink({ publisher, backoff: { min: 5, max: 20 }, ...opts }), (s) => s.close());
}

const rec = (id: string, extra = ''): SinkRecord => ({ recordId: id, type: 'item', line: `{"type":"item","item_id":1,"id":"${id}"${extra}}` });
const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `r${i + 1}`);
const loud = (log: MemoryLogger): { level: string; msg: string }[] => log.lines.filter((l) => l.level === 'warn' || l.level === 'error');

test('delivers in order, one at a time, retrying a failing head before anything behind it', async () => {
  const fails = new Map([['r2', 3], ['r5', 1]]);
  const pub = new FakePublisher((id, n) => (n < (fails.get(id) ?? 0) ? { kind: 'retry', reason: 'broker busy' } : { kind: 'delivered' }));
  const log = new MemoryLogger();
  const s = queued(pub, { log });
  await s.open();
  for (const id of ids(6)) await s.accept(rec(id));
  expect(await s.flush(5000)).toBe(true);
  expect(pub.published).toEqual(ids(6));
  expect(pub.attempts).toEqual(['r1', 'r2', 'r2', 'r2', 'r2', 'r3', 'r4', 'r5', 'r5', 'r6']);
  // Two outages, each warned once and its end said once.
  expect(loud(log).map((l) => l.msg)).toEqual([
    expect.stringMatching(/^fake:\/\/target\/stream: broker busy; retrying in \d+ ms \(\d pending\); holding records in order in memory until it is back$/),
    expect.stringMatching(/^fake:\/\/target\/stream: broker busy; retrying in/),
  ]);
  expect(log.lines.filter((l) => /delivering again after/.test(l.msg)).map((l) => l.msg)).toEqual([
    expect.stringMatching(/after 3 failed attempt\(s\) over \d+\.\d s/),
    expect.stringMatching(/after 1 failed attempt\(s\)/),
  ]);
  expect(s.stats()).toEqual({ name: 'fake://target/stream', delivered: 6, pending: 0, failed: 4 });
});

test('a long outage is one warning, at the level the publisher asks, with credentials redacted', async () => {
  let down = true;
  const pub = new FakePublisher(() => (down ? { kind: 'retry', reason: 'WRONGPASS for sekrit-pw', level: 'error' } : { kind: 'delivered' }));
  const log = new MemoryLogger();
  const s = queued(pub, { log });
  await s.accept(rec('r1'));
  await until(() => pub.attempts.length >= 20, 5000, 'twenty attempts');
  down = false;
  expect(await s.flush(5000)).toBe(true);
  expect(loud(log)).toEqual([{ level: 'error', msg: expect.stringMatching(/^fake:\/\/target\/stream: WRONGPASS for \*\*\*; retrying in/) as unknown }]);
  expect(log.lines.map((l) => l.msg).join('\n')).not.toContain('sekrit-pw');
});

test('down at open: one warning there, none for the failed attempts that follow, one line when it is back', async () => {
  let up = false;
  const pub = new FakePublisher(
    () => (up ? { kind: 'delivered' } : { kind: 'retry', reason: 'connection refused' }),
    () => Promise.resolve('cannot connect (refused)'),
  );
  const log = new MemoryLogger();
  const s = queued(pub, { log });
  await s.open();
  await s.accept(rec('r1'));
  await until(() => pub.attempts.length >= 3, 5000, 'three attempts');
  up = true;
  expect(await s.flush(5000)).toBe(true);
  expect(loud(log).map((l) => l.msg)).toEqual(['fake://target/stream: cannot connect (refused); holding records in order in memory until it is back']);
  expect(log.lines.filter((l) => /delivering again/.test(l.msg))).toHaveLength(1);
});

test('open passes a refusal through and never starts delivering', async () => {
  const pub = new FakePublisher(undefined, () => Promise.reject(new OutputsError('BAD_CONFIG', '--sink fake: refused')));
  const s = queued(pub);
  await expect(s.open()).rejects.toThrow('--sink fake: refused');
  expect(pub.attempts).toEqual([]);
});

test('a dropped record is logged at error and skipped; Retry-After is a floor on the delay', async () => {
  const pub = new FakePublisher((id, n) =>
    id === 'r1' ? { kind: 'dropped', reason: 'HTTP 400' } : id === 'r2' && n === 0 ? { kind: 'retry', reason: 'HTTP 429', retryAfterMs: 300 } : { kind: 'delivered' },
  );
  const log = new MemoryLogger();
  const s = queued(pub, { log });
  const t0 = Date.now();
  for (const id of ids(3)) await s.accept(rec(id));
  expect(await s.flush(5000)).toBe(true);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  expect(pub.published).toEqual(['r2', 'r3']);
  expect(loud(log)[0]).toEqual({ level: 'error', msg: expect.stringMatching(/HTTP 400; dropping item record of item 1 \(delivery [0-9a-f-]{36}\)/) as unknown });
  expect(s.stats()).toMatchObject({ delivered: 2, failed: 2 });
});

test('records the publisher does not want are accepted and never queued', async () => {
  const pub = new FakePublisher();
  const s = queued(pub);
  await s.accept(rec('r1', ',"skip":true'));
  await s.accept(rec('r2'));
  expect(await s.flush(5000)).toBe(true);
  expect(pub.attempts).toEqual(['r2']);
});

test('the memory bound: accepts beyond it wait, in order, and none is lost', async () => {
  let down = true;
  const pub = new FakePublisher(() => (down ? { kind: 'retry', reason: 'down' } : { kind: 'delivered' }));
  const log = new MemoryLogger();
  const s = queued(pub, { log, memoryLimit: 3 });
  const settled: string[] = [];
  // The caller does not wait between accepts: the sink still keeps their order.
  const all = ids(8).map((id) => s.accept(rec(id)).then(() => settled.push(id)));
  await until(() => pub.attempts.length >= 3, 5000, 'attempts');
  expect(settled).toEqual(['r1', 'r2', 'r3']);
  expect(s.stats().pending).toBe(8);
  expect(loud(log).filter((l) => /waiting in memory/.test(l.msg))).toHaveLength(1);
  down = false;
  await Promise.all(all);
  expect(await s.flush(5000)).toBe(true);
  expect(pub.published).toEqual(ids(8));
  expect(log.lines.filter((l) => /room again in memory/.test(l.msg))).toHaveLength(1);
});

test('with an outbox file, accept is on disk when it returns; what close leaves is delivered first by the next sink', async () => {
  const file = join(await tempDir(td), 'state.json.sink-abc');
  let down = true;
  const pub = new FakePublisher(() => (down ? { kind: 'retry', reason: 'down' } : { kind: 'delivered' }));
  const first = new QueuedSink({ publisher: pub, outboxFile: file, backoff: { min: 5, max: 20 } });
  void first.accept(rec('r1'));
  // No await: the promise's resolution adds nothing to durability, the append+fsync happened inside accept.
  expect(readFileSync(file, 'utf8')).toContain('"recordId":"r1"');
  void first.accept(rec('r2'));
  await first.close();
  expect(pub.closed).toBe(1);
  void first.accept(rec('r3')); // after close: kept for the next start
  down = false;
  const log = new MemoryLogger();
  const second = queued(pub, { outboxFile: file, log });
  expect(second.stats().pending).toBe(3);
  expect(log.lines[0]?.msg).toMatch(/3 undelivered record\(s\) to fake:\/\/target\/stream from .*; sending them first/);
  await second.accept(rec('r4'));
  expect(await second.flush(5000)).toBe(true);
  expect(pub.published).toEqual(['r1', 'r2', 'r3', 'r4']);
});

test('close abandons an attempt in flight at once; flush after close is false', async () => {
  const pub = new FakePublisher(() => 'hang');
  const log = new MemoryLogger();
  const s = new QueuedSink({ publisher: pub, log });
  await s.accept(rec('r1'));
  await until(() => pub.attempts.length === 1, 2000, 'the attempt');
  const t0 = Date.now();
  await s.close();
  expect(Date.now() - t0).toBeLessThan(500);
  expect(await s.flush(10)).toBe(false);
  expect(loud(log).map((l) => l.msg)).toEqual(['1 undelivered record(s) to fake://target/stream lost (no outbox file)']);
});
