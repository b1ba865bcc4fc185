/*
 * P7: the broker sinks (`watch --sink`), on real nats-server (JetStream) and redis-server instances on loopback.
 *  - Latency at 2 000 events/s, in one run: server emit → NDJSON line written (stdout) and server emit → the
 *    broker's acknowledgement (JetStream PubAck, Redis reply) for each sink. Acks are time-stamped inside the
 *    watcher by the probe (probe.js), from the `invokeai-outputs:sink:delivered` diagnostics channel.
 *  - Throughput: records per second one sink delivers (one in flight, in order, each acked) when records are
 *    queued faster than it can take them, with and without an outbox file (--state: one fsync per record), next
 *    to stdout's (lines handed to a pipe that a reader drains). This part runs the sinks of src/ in this process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noopLogger } from '../../src/log';
import { NdjsonWriter } from '../../src/output/ndjson';
import { sinkFromUrl } from '../../src/sinks/fromUrl';
import { NatsBroker, RedisBroker } from '../../test/support/brokers';
import { FleetChild, WatchChild, connected, type BenchContext, type Row, type ScenarioResult } from './common';
import { HEAD } from './p2Latency';
import { now, percentile, round, sleep } from './proc';

const SUBJECT = 'bench.outputs';
const STREAM = 'bench';

export async function p7Sinks(ctx: BenchContext): Promise<ScenarioResult> {
  const nats = new NatsBroker();
  // Each broker with its usual persistence: JetStream file storage, Redis's append-only file fsynced every second.
  const redis = new RedisBroker(undefined, 'everysec');
  // An interrupted benchmark (SIGINT, a hung scenario) exits without reaching `finally`: no broker outlives it.
  const kill = (): void => {
    nats.kill();
    redis.kill();
  };
  process.once('exit', kill);
  try {
    await Promise.all([nats.start(), redis.start()]);
    const lat = await latency(ctx, nats, redis);
    const thr = await throughput(ctx, nats, redis);
    return {
      keys: {
        p7_stdout_p99_ms: lat.stdout.p99,
        p7_nats_p99_ms: lat.nats.p99,
        p7_redis_p99_ms: lat.redis.p99,
        p7_nats_records_per_s: thr.nats,
        p7_redis_records_per_s: thr.redis,
      },
      rows: [...lat.rows, ...thr.rows],
    };
  } finally {
    process.off('exit', kill);
    await Promise.all([nats.destroy(), redis.destroy()]);
  }
}

interface Stat {
  p50: number;
  p99: number;
  n: number;
}

async function latency(ctx: BenchContext, nats: NatsBroker, redis: RedisBroker): Promise<{ stdout: Stat; nats: Stat; redis: Stat; rows: Row[] }> {
  const rate = 2000;
  const events = ctx.quick ? 2000 : 30000;
  const fleet = await FleetChild.start(1);
  const watch = new WatchChild(fleet.urls, { args: ['--sink', nats.url(SUBJECT), '--sink', redis.url(STREAM)] });
  try {
    await connected(fleet, 1, 1);
    ctx.say('p7: warm-up through both sinks');
    await watch.ackStart();
    let items = (await fleet.run({ rate, events: ctx.quick ? 800 : 4000 })).items;
    await watch.waitItems(items, 30000);
    const warm = watch.images + watch.items;
    // Every warm-up record acknowledged by both sinks before the measured run: no leftovers in its counts.
    await until(async () => (await watch.ackCount()) >= warm * 2, 30000, `${warm * 2} warm-up acknowledgements`);
    await watch.ackStop();
    await fleet.times();
    await watch.stampStart();
    await watch.ackStart();
    const before = watch.images + watch.items;
    ctx.say(`p7: ${events} events at ${rate}/s, stdout and two sinks`);
    const r = await fleet.run({ rate, events, recordTimes: true });
    items += r.items;
    await watch.waitItems(items, 30000);
    const records = watch.images + watch.items - before;
    await until(async () => (await watch.ackCount()) >= records * 2, 30000, `${records * 2} sink acknowledgements`);
    const written = await watch.stampStop();
    const acks = await watch.ackStop();
    const emitted = new Map((await fleet.times()).filter((x) => x.kind === 'image' || x.kind === 'item').map((x) => [`${x.kind}:${x.item}`, x.t]));
    const since = (t: number, head: string): number[] => {
      const m = HEAD.exec(head);
      const e = m ? emitted.get(`${m[1]}:${m[2]}`) : undefined;
      return e === undefined ? [] : [t - e];
    };
    const stdout = stat(written.flatMap(([t, head]) => since(t, head)));
    const bySink = (scheme: string): Stat => stat(acks.filter(([, sink]) => sink.startsWith(scheme)).flatMap(([t, , head]) => since(t, head)));
    const n = bySink('nats:');
    const rd = bySink('redis:');
    const fmt = (s: Stat): string => `p50 ${s.p50} / p99 ${s.p99} ms (n=${s.n})`;
    return {
      stdout,
      nats: n,
      redis: rd,
      rows: [
        { metric: 'p7 emit → stdout line written, p99', value: `${stdout.p99} ms`, note: `${fmt(stdout)}; same run as the sinks` },
        { metric: 'p7 emit → NATS JetStream PubAck, p99', value: `${n.p99} ms`, note: fmt(n) },
        { metric: 'p7 emit → Redis XADD reply, p99', value: `${rd.p99} ms`, note: fmt(rd) },
        { metric: 'p7 stream', value: `${rate} ev/s`, note: `${r.emitted} events in ${round(r.ms / 1000, 1)} s, ${records} records, each to stdout and both sinks` },
      ],
    };
  } finally {
    await watch.stop();
    await fleet.close();
  }
}

async function throughput(ctx: BenchContext, nats: NatsBroker, redis: RedisBroker): Promise<{ nats: number; redis: number; rows: Row[] }> {
  const n = ctx.quick ? 2000 : 20000;
  const durable = ctx.quick ? 200 : 2000;
  const dir = mkdtempSync(join(tmpdir(), 'ioo-bench-sinks-'));
  try {
    ctx.say(`p7: ${n} records through stdout and each sink as fast as they take them`);
    const stdout = await stdoutRate(n);
    const natsRate = await sinkRate(nats.url(SUBJECT), n, null, 'n');
    const redisRate = await sinkRate(redis.url(STREAM), n, null, 'r');
    const natsDurable = await sinkRate(nats.url(SUBJECT), durable, join(dir, 'state.json'), 'nd');
    const redisDurable = await sinkRate(redis.url(STREAM), durable, join(dir, 'state.json'), 'rd');
    const rate = (x: number): string => `${Math.round(x)} records/s`;
    return {
      nats: Math.round(natsRate),
      redis: Math.round(redisRate),
      rows: [
        { metric: 'p7 stdout (a pipe a reader drains)', value: rate(stdout), note: `${n} lines of ${LINE_BYTES} bytes` },
        { metric: 'p7 NATS sink, in memory', value: rate(natsRate), note: `${n} records, one PubAck each, in order` },
        { metric: 'p7 Redis sink, in memory', value: rate(redisRate), note: `${n} records, one EVALSHA reply each, in order` },
        { metric: 'p7 NATS sink, --state outbox', value: rate(natsDurable), note: `${durable} records, each fsynced to the outbox before accept returns` },
        { metric: 'p7 Redis sink, --state outbox', value: rate(redisDurable), note: `${durable} records, each fsynced to the outbox before accept returns` },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A realistic image record line (about the size the watcher prints). */
function line(i: number): string {
  return JSON.stringify({
    type: 'image',
    record_id: `${i}`.padStart(32, '0'),
    server: 'http://render-01.example:9090',
    queue_id: 'default',
    item_id: i,
    batch_id: 'b6a6f1c2-6b1e-4d43-9a36-0c1b4c0d7e11',
    session_id: '2b0e9c6a-7a55-4a57-9d61-4bd0f2f1b6a3',
    node_id: 'save_image:Yx1zRk3kV',
    prepared_node_id: '5e0b3a63-0a8f-4b4f-8a44-7f2c6f6f0a1e',
    node_type: 'save_image',
    image_name: `e007a5d1-${i}.png`,
    board_id: 'a17c2b12-8f11-4e25-b2b2-22f6d6b3c0aa',
    requested_board_id: 'a17c2b12-8f11-4e25-b2b2-22f6d6b3c0aa',
    is_intermediate: false,
    width: 1024,
    height: 1024,
    image_url: `http://render-01.example:9090/api/v1/images/i/e007a5d1-${i}.png/full`,
    cached: false,
    root_item_id: i,
    via: 'socket',
    ts: '2026-11-27T10:00:00.000Z',
  });
}
const LINE_BYTES = line(1).length;

async function sinkRate(url: string, n: number, state: string | null, tag: string): Promise<number> {
  const sink = sinkFromUrl(url, { state, log: noopLogger });
  try {
    await sink.open();
    const t0 = now();
    for (let i = 0; i < n; i++) await sink.accept({ recordId: `${tag}-${i}`, type: 'image', line: line(i) });
    if (!(await sink.flush(300_000))) throw new Error(`${sink.name}: ${sink.stats().pending} records not delivered`);
    return n / ((now() - t0) / 1000);
  } finally {
    await sink.close();
  }
}

async function stdoutRate(n: number): Promise<number> {
  const reader = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
  try {
    const writer = new NdjsonWriter(reader.stdin);
    const t0 = now();
    for (let i = 0; i < n; i++) {
      // Like the daemon under a slow reader: wait for the pipe to drain rather than buffer without bound.
      if (!writer.writeLine(line(i))) await writer.flush();
    }
    await writer.flush();
    return n / ((now() - t0) / 1000);
  } finally {
    reader.kill('SIGKILL');
  }
}

function stat(xs: number[]): Stat {
  const sorted = [...xs].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50), 3), p99: round(percentile(sorted, 99), 3), n: sorted.length };
}

async function until(pred: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = now() + ms;
  while (!(await pred())) {
    if (now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}
