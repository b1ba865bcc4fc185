/**
 * Delivery's timing on virtual time: records are marked delivered in order, each once every sink accepted it; past
 * the high-water mark the intake pauses and resumes below the low-water mark; `drain(timeout)` answers when the last
 * record is delivered or at its timeout on the given scheduler. Sinks accept on timers of the same TestScheduler,
 * stepped one action at a time (acceptance is a promise, which `run()` would only settle after its last frame).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { firstValueFrom, map, timer } from 'rxjs';
import { Delivery, type DeliveryOptions } from '../../src/delivery/delivery';
import type { OutputRecord } from '../../src/records';
import type { RecordSink, SinkRecord, SinkStats } from '../../src/sinks/sink';
import { VirtualTime } from '../support/virtualTime';

/** A sink whose `accept` resolves `delay(recordId)` virtual ms after it was called (never, for null; rejects for 'reject'). */
class TimedSink implements RecordSink {
  readonly calls: { id: string; at: number }[] = [];

  constructor(
    readonly name: string,
    private readonly vt: VirtualTime,
    private readonly delay: (id: string) => number | null | 'reject',
  ) {}

  accept(rec: SinkRecord): Promise<void> {
    this.calls.push({ id: rec.recordId, at: this.vt.now() });
    const d = this.delay(rec.recordId);
    if (d === null) return new Promise(() => undefined);
    if (d === 'reject') return Promise.reject(new Error('EPIPE'));
    return firstValueFrom(timer(d, this.vt.scheduler).pipe(map(() => undefined)));
  }

  open(): Promise<void> {
    return Promise.resolve();
  }
  flush(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  stats(): SinkStats {
    return { name: this.name, delivered: 0, pending: 0, failed: 0 };
  }
}

const rec = (id: string): OutputRecord => ({ type: 'image', record_id: id, image_name: `${id}.png` }) as unknown as OutputRecord;

function delivery(vt: VirtualTime, sinks: RecordSink[], over: Partial<DeliveryOptions> = {}) {
  const delivered: { id: string; at: number }[] = [];
  const pressure: { paused: boolean; at: number }[] = [];
  const d = new Delivery({
    sinks,
    onDelivered: (r) => delivered.push({ id: r.record_id, at: vt.now() }),
    onPressure: (paused) => pressure.push({ paused, at: vt.now() }),
    scheduler: vt.scheduler,
    ...over,
  });
  return { d, delivered, pressure };
}

function settledAt<T>(vt: VirtualTime, p: Promise<T>): { value?: T; at?: number } {
  const seen: { value?: T; at?: number } = {};
  void p.then((value) => Object.assign(seen, { value, at: vt.now() }));
  return seen;
}

describe('Delivery (virtual time)', () => {
  it('hands each record to every sink at once, and marks it delivered in order when the slowest sink accepted it', async () => {
    const vt = new VirtualTime();
    const fast = new TimedSink('fast', vt, () => 10);
    const slow = new TimedSink('slow', vt, (id) => ({ r1: 50, r2: 20, r3: 5 })[id] ?? null);
    const { d, delivered } = delivery(vt, [fast, slow]);
    for (const id of ['r1', 'r2', 'r3']) d.deliver(rec(id));
    await vt.advanceTo(100);
    // No sink waits for the previous acceptance; r2 and r3 (accepted at 20 and 10) wait for r1 (50).
    expect(slow.calls).toEqual([{ id: 'r1', at: 0 }, { id: 'r2', at: 0 }, { id: 'r3', at: 0 }]);
    expect(delivered).toEqual([{ id: 'r1', at: 50 }, { id: 'r2', at: 50 }, { id: 'r3', at: 50 }]);
    expect(d.pending).toBe(0);
  });

  it('a record prepared late (a download) holds back the ones after it, which reach the sinks only then', async () => {
    const vt = new VirtualTime();
    const sink = new TimedSink('s', vt, () => 1);
    const prepare = (r: OutputRecord): Promise<void> => (r.record_id === 'r1' ? firstValueFrom(timer(30, vt.scheduler)).then(() => undefined) : Promise.resolve());
    const { d, delivered } = delivery(vt, [sink], { prepare });
    d.deliver(rec('r1'));
    d.deliver(rec('r2'));
    await vt.advanceTo(100);
    expect(sink.calls).toEqual([{ id: 'r1', at: 30 }, { id: 'r2', at: 30 }]);
    expect(delivered).toEqual([{ id: 'r1', at: 31 }, { id: 'r2', at: 31 }]);
  });

  it('pauses the intake when more than highWater records wait, and resumes once lowWater or fewer do', async () => {
    const vt = new VirtualTime();
    // Record i is accepted at 10 * i.
    const sink = new TimedSink('s', vt, (id) => 10 * Number(id.slice(1)));
    const { d, delivered, pressure } = delivery(vt, [sink], { highWater: 3, lowWater: 1 });
    for (let i = 1; i <= 5; i++) d.deliver(rec(`r${i}`));
    // The 4th record taken is one too many: paused at once.
    expect(pressure).toEqual([{ paused: true, at: 0 }]);
    await vt.advanceTo(39);
    expect(pressure).toHaveLength(1);
    expect(d.pending).toBe(2);
    await vt.advanceTo(40);
    // 5 waiting, one delivered each 10 ms: 1 left at 40.
    expect(pressure).toEqual([{ paused: true, at: 0 }, { paused: false, at: 40 }]);
    await vt.advanceTo(50);
    expect(delivered.map((x) => x.at)).toEqual([10, 20, 30, 40, 50]);
    // Three more wait now: not above highWater; a fourth is.
    for (let i = 6; i <= 8; i++) d.deliver(rec(`r${i}`));
    expect(pressure).toHaveLength(2);
    d.deliver(rec('r9'));
    expect(pressure.at(-1)).toEqual({ paused: true, at: 50 });
  });

  it('drain(timeout) resolves true the moment the last record is delivered', async () => {
    const vt = new VirtualTime();
    const { d } = delivery(vt, [new TimedSink('s', vt, () => 400)]);
    d.deliver(rec('r1'));
    const drained = settledAt(vt, d.drain(1000));
    await vt.advanceTo(399);
    expect(drained).toEqual({});
    await vt.advanceTo(400);
    expect(drained).toEqual({ value: true, at: 400 });
  });

  it('drain(timeout) resolves false at its timeout, on the scheduler, when a sink never accepts', async () => {
    const vt = new VirtualTime();
    const { d, delivered } = delivery(vt, [new TimedSink('s', vt, () => null)]);
    d.deliver(rec('r1'));
    const drained = settledAt(vt, d.drain(1000));
    await vt.advanceTo(999);
    expect(drained).toEqual({});
    await vt.advanceTo(1000);
    expect(drained).toEqual({ value: false, at: 1000 });
    expect(delivered).toEqual([]);
    expect(d.pending).toBe(1);
  });

  it('a sink that refuses for good stops delivery: nothing after counts as delivered, and drain answers false at once', async () => {
    const vt = new VirtualTime();
    const sink = new TimedSink('s', vt, (id) => (id === 'r2' ? 'reject' : 5));
    const { d, delivered } = delivery(vt, [sink]);
    for (const id of ['r1', 'r2', 'r3']) d.deliver(rec(id));
    const drained = settledAt(vt, d.drain(1000));
    await vt.advanceTo(5);
    expect(delivered).toEqual([{ id: 'r1', at: 5 }]);
    expect(drained).toEqual({ value: false, at: 5 });
    await vt.advanceTo(100);
    expect(delivered).toHaveLength(1);
    d.deliver(rec('r4'));
    await vt.advanceTo(200);
    expect(sink.calls.map((c) => c.id)).toEqual(['r1', 'r2', 'r3']);
  });
});

describe('Delivery: a sink refusing while an earlier record is still being accepted', () => {
  // Known defect (see the prop-tests report): `accepted` (Promise.all of the sinks' accepts) gets its handler only
  // once the records before it are acknowledged, so a refusal that comes first is an unhandled rejection, and a
  // process with Node's default --unhandled-rejections=throw (the CLI) exits 1 with a stack trace — e.g. stdout
  // closing while a broker sink is backed up. Jest keeps unhandled rejections to itself, so this runs in a child
  // process (the built dist/). Remove `.failing` once `accepted` is handled at once.
  it.failing('stops delivery, and the process goes on', async () => {
    const script = `
      const { Delivery } = require(${JSON.stringify(join(__dirname, '../../dist/delivery/delivery.js'))});
      const sink = (name, accept) => ({ name, accept, open: async () => {}, flush: async () => true, close: async () => {}, stats: () => ({}) });
      const later = (ms) => new Promise((r) => setTimeout(r, ms));
      const stdout = sink('stdout', (r) => (r.recordId === 'r2' ? Promise.reject(new Error('EPIPE')) : Promise.resolve()));
      const broker = sink('broker', (r) => (r.recordId === 'r1' ? later(50) : Promise.resolve()));
      const d = new Delivery({ sinks: [stdout, broker], onDelivered: (r) => console.log('delivered ' + r.record_id) });
      d.deliver({ type: 'image', record_id: 'r1' });
      d.deliver({ type: 'image', record_id: 'r2' });
      d.drain(1000).then((ok) => console.log('drained ' + ok));
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect({ code, out }).toEqual({ code: 0, out: 'delivered r1\ndrained false\n' });
  });
});
