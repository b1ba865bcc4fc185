/*
 * `watch --sink …` end to end: the built CLI against the simulator, with real nats-server and redis-server
 * instances. Each test compares what reached the streams with what the daemon printed on stdout.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NATS_STREAM } from '../../src/sinks/nats';
import { cliWith, connectedTimes, type Spawned } from '../cli/spawn';
import { natsBroker, redisBroker, type NatsBroker, type RedisBroker } from '../support/brokers';
import { iterate, saveOne } from '../support/graphs';
import { enqueue, simulator, sleep, Teardown } from '../support/harness';

const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);

const SUBJECT = 'invokeai.outputs';
const STREAM = 'outputs';

interface Line {
  text: string;
  recordId: string;
  type: string;
  itemId: number;
}

function lines(...daemons: Spawned[]): Line[] {
  return daemons.flatMap((d) =>
    d
      .stdout()
      .split('\n')
      .filter((t) => t !== '')
      .map((text) => {
        const r = JSON.parse(text) as { record_id: string; type: string; item_id: number };
        return { text, recordId: r.record_id, type: r.type, itemId: r.item_id };
      }),
  );
}

const itemCount = (d: Spawned): number => lines(d).filter((l) => l.type === 'item').length;

/** Both streams as the tests compare them: record id and exact line per entry, oldest first. */
async function streams(nats: NatsBroker, redis: RedisBroker): Promise<{ nats: { id: string; line: string }[]; redis: { id: string; line: string; type: string }[] }> {
  const [n, r] = await Promise.all([nats.messages(NATS_STREAM).catch(() => []), redis.entries(STREAM)]);
  return { nats: n.map((m) => ({ id: m.msgId ?? '', line: m.data })), redis: r.map((e) => ({ id: e.record_id, line: e.record, type: e.type })) };
}

/** Polls both streams until each holds `n` entries. */
async function streamsHold(nats: NatsBroker, redis: RedisBroker, n: number, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await streams(nats, redis);
    if (s.nats.length >= n && s.redis.length >= n) return;
    if (Date.now() > end) throw new Error(`streams hold ${s.nats.length} (nats) and ${s.redis.length} (redis) entries, not ${n}`);
    await sleep(100);
  }
}

/** `sinks` lines of stderr at warn or error level: the outage warnings. */
function loud(d: Spawned, ns: 'sink:nats' | 'sink:redis'): string[] {
  return d
    .stderr()
    .split('\n')
    .filter((l) => new RegExp(` (warn|error) \\[${ns}\\] `).test(l));
}

const distinct = <T>(xs: T[]): T[] => [...new Set(xs)];

async function stop(d: Spawned): Promise<void> {
  d.child.kill('SIGTERM');
  expect(await d.exited).toBe(0);
}

test('every record in each stream once, byte-identical to stdout; credentials in the URLs work and are never logged', async () => {
  const sim = await simulator(td);
  const nats = await natsBroker(td, { user: 'farm', password: 'nats-pw-4711' });
  const redis = await redisBroker(td, { password: 'redis-pw-4711' });
  const w = cli(['watch', '--url', sim.url, '--sink', nats.url(SUBJECT), '--sink', redis.url(STREAM), '--log-level', 'debug']);
  await connectedTimes(w);
  await enqueue(sim, saveOne());
  await enqueue(sim, iterate(3));
  await enqueue(sim, saveOne());
  await w.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length === 3);
  const printed = lines(w);
  expect(printed).toHaveLength(8); // 1 + 3 + 1 images, 3 items
  await streamsHold(nats, redis, printed.length);
  await stop(w);
  const s = await streams(nats, redis);
  expect(s.nats).toEqual(printed.map((l) => ({ id: l.recordId, line: l.text })));
  expect(s.redis).toEqual(printed.map((l) => ({ id: l.recordId, line: l.text, type: l.type })));
  const err = w.stderr();
  expect(err).toContain(`created JetStream stream INVOKEAI_OUTPUTS for ${SUBJECT}`);
  for (const secret of ['nats-pw-4711', 'redis-pw-4711']) expect(err).not.toContain(secret);
  expect(loud(w, 'sink:nats')).toEqual([]);
  expect(loud(w, 'sink:redis')).toEqual([]);
});

test('both brokers down for 10 s mid-run, then back: nothing lost, order kept, one warning per sink', async () => {
  const sim = await simulator(td);
  const nats = await natsBroker(td);
  const redis = await redisBroker(td);
  const w = cli(['watch', '--url', sim.url, '--sink', nats.url(SUBJECT), '--sink', redis.url(STREAM)]);
  await connectedTimes(w);
  await enqueue(sim, saveOne());
  await w.waitFor((rs) => rs.length === 2);
  await streamsHold(nats, redis, 2);

  const down = Date.now();
  await Promise.all([nats.stop(), redis.stop()]);
  // Work goes on while both brokers are away: stdout keeps printing, the sinks hold the records in order.
  let items = 1;
  while (Date.now() - down < 10_000) {
    await enqueue(sim, items % 3 === 0 ? iterate(2) : saveOne());
    items += 1;
    await w.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length === items);
    await sleep(700);
  }
  await Promise.all([nats.start(), redis.start()]);
  const outageMs = Date.now() - down;
  const printed = lines(w);
  await streamsHold(nats, redis, printed.length, 30000);
  const caughtUpMs = Date.now() - down - outageMs;
  await stop(w);

  const s = await streams(nats, redis);
  expect(s.nats).toEqual(printed.map((l) => ({ id: l.recordId, line: l.text })));
  expect(s.redis.map((e) => e.line)).toEqual(printed.map((l) => l.text));
  for (const ns of ['sink:nats', 'sink:redis'] as const) {
    expect(loud(w, ns)).toHaveLength(1);
    expect(w.stderr().split('\n').filter((l) => l.includes(`[${ns}]`) && /delivering again after \d+ failed attempt/.test(l))).toHaveLength(1);
  }
  process.stderr.write(
    `[sinks] outage: ${printed.length} records (${items} items), brokers down ${(outageMs / 1000).toFixed(1)} s, caught up ${caughtUpMs} ms after restart; ` +
      `warnings: nats ${loud(w, 'sink:nats').length}, redis ${loud(w, 'sink:redis').length}; duplicates in streams: ` +
      `${s.nats.length - distinct(s.nats.map((e) => e.id)).length} / ${s.redis.length - distinct(s.redis.map((e) => e.id)).length}\n`,
  );
}, 90_000);

test('SIGKILL with records still in the outbox, then a restart with --state: nothing lost, nothing twice', async () => {
  const sim = await simulator(td);
  const nats = await natsBroker(td);
  const redis = await redisBroker(td);
  const state = join(mkdtempSync(join(tmpdir(), 'ioo-sinks-')), 'state.json');
  const args = ['watch', '--url', sim.url, '--state', state, '--sink', nats.url(SUBJECT), '--sink', redis.url(STREAM)];
  const first = cli(args);
  await connectedTimes(first);
  const enqueued: number[] = [];
  const submit = async (graph: Record<string, unknown>): Promise<void> => void enqueued.push(...(await enqueue(sim, graph)).item_ids);
  await submit(saveOne());
  await submit(saveOne());
  await first.waitFor((rs) => rs.length === 4);
  await streamsHold(nats, redis, 4);
  // The brokers go away; what the daemon prints now waits in its outbox files beside the cursor.
  await Promise.all([nats.stop(), redis.stop()]);
  await submit(iterate(2));
  await submit(saveOne());
  await first.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length === 4);
  first.child.kill('SIGKILL');
  await first.exited;
  // Finished while the daemon is dead: the cursor catches these up after the restart.
  await submit(saveOne());
  await submit(saveOne());
  await Promise.all([nats.start(), redis.start()]);

  const second = cli(args);
  const reported = (): Set<number> => new Set(lines(first, second).filter((l) => l.type === 'item').map((l) => l.itemId));
  await second.waitFor(() => enqueued.every((id) => reported().has(id)));
  const printed = lines(first, second);
  const ids = distinct(printed.map((l) => l.recordId));
  expect(ids).toHaveLength(6 + 7); // six items, seven images
  await streamsHold(nats, redis, ids.length, 30000);
  await stop(second);

  const s = await streams(nats, redis);
  const firstLines = lines(first).map((l) => l.text);
  for (const stream of [s.nats, s.redis]) {
    // Each record printed is in the stream once, as one of the copies printed for it (a record the killed daemon
    // printed but had not yet queued is reported again by the restarted one, with a later `ts`).
    expect(stream.map((e) => e.id).sort()).toEqual([...ids].sort());
    for (const e of stream) expect(printed.filter((l) => l.recordId === e.id).map((l) => l.text)).toContain(e.line);
    // What the dead daemon left in its outbox went out first, in the order it printed it.
    const replayed = stream.filter((e) => firstLines.includes(e.line)).map((e) => e.line);
    expect(replayed).toEqual(firstLines.filter((l) => replayed.includes(l)));
    expect(stream.slice(0, replayed.length).map((e) => e.line)).toEqual(replayed);
  }
  // The records printed during the outage came from the dead daemon's outbox files.
  const kept = (ns: string): number => Number(new RegExp(`\\[${ns}\\] (\\d+) undelivered record\\(s\\) to .* from .*state\\.json\\.sink-[0-9a-f]{12}; sending them first`).exec(second.stderr())?.[1] ?? 0);
  expect(kept('sink:nats')).toBeGreaterThanOrEqual(4);
  expect(kept('sink:redis')).toBeGreaterThanOrEqual(4);
  process.stderr.write(
    `[sinks] SIGKILL + --state: ${printed.length} lines printed by both runs, ${ids.length} distinct records, ${kept('sink:nats')} replayed from the outbox; ` +
      `in streams ${s.nats.length} (nats) / ${s.redis.length} (redis), ` +
      `duplicates ${s.nats.length - distinct(s.nats.map((e) => e.id)).length} / ${s.redis.length - distinct(s.redis.map((e) => e.id)).length}\n`,
  );
}, 60_000);

test('two daemons active-active, one SIGKILLed mid-run: each record exactly once in each stream', async () => {
  const sim = await simulator(td);
  const nats = await natsBroker(td);
  const redis = await redisBroker(td);
  const args = ['watch', '--url', sim.url, '--sink', nats.url(SUBJECT), '--sink', redis.url(STREAM), '--log-level', 'debug'];
  const a = cli(args);
  const b = cli(args);
  await Promise.all([connectedTimes(a), connectedTimes(b)]);
  const total = 12;
  for (let i = 1; i <= total; i++) {
    await enqueue(sim, i % 4 === 0 ? iterate(2) : saveOne());
    if (i === 6) {
      await a.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length >= 5);
      a.child.kill('SIGKILL');
      await a.exited;
    }
  }
  await b.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length === total);
  const ids = distinct(lines(a, b).map((l) => l.recordId));
  expect(distinct(lines(b).map((l) => l.recordId))).toEqual(lines(b).map((l) => l.recordId));
  await streamsHold(nats, redis, ids.length);
  await stop(b);

  const s = await streams(nats, redis);
  for (const stream of [s.nats, s.redis]) {
    expect(stream).toHaveLength(ids.length);
    expect(new Set(stream.map((e) => e.id))).toEqual(new Set(ids));
  }
  // Each entry is a line one of the daemons printed for that record.
  const printed = new Set(lines(a, b).map((l) => l.text));
  expect([...s.nats, ...s.redis].every((e) => printed.has(e.line))).toBe(true);
  const deduped = (d: Spawned, ns: string): number => d.stderr().split('\n').filter((l) => l.includes(`[${ns}]`) && l.includes('already there: not stored again')).length;
  const dupes = ['sink:nats', 'sink:redis'].map((ns) => deduped(a, ns) + deduped(b, ns));
  // Both daemons published most records: the brokers kept one copy of each.
  expect(Math.min(...dupes)).toBeGreaterThan(0);
  process.stderr.write(
    `[sinks] active-active: ${ids.length} records (${itemCount(b)} items; the killed daemon printed ${lines(a).length} lines first), ` +
      `in streams ${s.nats.length} (nats) / ${s.redis.length} (redis), second copies refused by the brokers: nats ${dupes[0]}, redis ${dupes[1]}\n`,
  );
}, 60_000);

describe('refusals at start: exit 2 with one line, nothing on stdout, no password on stderr', () => {
  test('NATS with the wrong password', async () => {
    const sim = await simulator(td);
    const nats = await natsBroker(td, { user: 'farm', password: 'right-horse-battery' });
    const w = cli(['watch', '--url', sim.url, '--sink', nats.url(SUBJECT, { user: 'farm', password: 'wrong-horse-staple' })]);
    expect(await w.exited).toBe(2);
    expect(w.stderr()).toBe(
      `invokeai-outputs: --sink nats://127.0.0.1:${nats.port}/${SUBJECT}: the NATS server refused the credentials (authorization violation)\n`,
    );
    expect(w.stdout()).toBe('');
  });

  test('Redis with the wrong password', async () => {
    const sim = await simulator(td);
    const redis = await redisBroker(td, { password: 'right-horse-battery' });
    const w = cli(['watch', '--url', sim.url, '--sink', redis.url(STREAM, { password: 'wrong-horse-staple' })]);
    expect(await w.exited).toBe(2);
    expect(w.stderr()).toBe(`invokeai-outputs: --sink redis://127.0.0.1:${redis.port}/${STREAM}: the Redis server refused (WRONGPASS: wrong user name or password)\n`);
    expect(w.stdout()).toBe('');
  });

  test('a bad or repeated --sink URL', async () => {
    const bad = cli(['watch', '--sink', 'kafka://:hunter22@127.0.0.1:9092/t']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/^invokeai-outputs: --sink: unsupported scheme kafka:\/\/ \(expected nats:\/\/.*\), got "kafka:\/\/\*\*\*@127\.0\.0\.1:9092\/t"\n$/);
    expect(bad.stderr()).not.toContain('hunter22');
    const twice = cli(['watch', '--sink', 'nats://a:pw1@127.0.0.1:1/x.y', '--sink', 'nats://a:pw2@127.0.0.1:1/x.y']);
    expect(await twice.exited).toBe(2);
    expect(twice.stderr()).toBe('invokeai-outputs: --sink: nats://127.0.0.1:1/x.y is given twice\n');
  });
});
