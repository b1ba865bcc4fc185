/**
 * Marble tests of the item engine's timing: the cancel grace, the settle wait, lookup retries, postponement and
 * shutdown, on a TestScheduler (no sleeps, exact virtual times). Effects are answered by cold observables, so each
 * answer arrives a known number of frames after the engine asked (1 frame = 1 ms of the engine's scheduler).
 */
import { map, timer, type Observable } from 'rxjs';
import type { RunHelpers } from 'rxjs/testing';
import { ItemEngine } from '../../src/engine/engine';
import type { LedgerOptions } from '../../src/ledger/reduce';
import type { ItemInput, LookupOutcome, RungOutcome } from '../../src/ledger/types';
import type { ImageRecord, ItemRecord } from '../../src/records';
import { completed, dto, imageResult, ledgerOptions, queueItem, SERVER, session, SESSION, started, status } from '../ledger/support';
import { marbleScheduler, VirtualTime } from '../support/virtualTime';
import { failedLookup, found, itemRead, scriptedDeps, show } from './support';

type Input = ItemInput extends infer T ? (T extends unknown ? Omit<T, 'at'> : never) : never;
type Script = Parameters<typeof scriptedDeps>[1];

interface Built {
  engine: ItemEngine;
  calls: ReturnType<typeof scriptedDeps>['calls'];
  out$: Observable<string>;
}

/** Runs one marble test: `mk` builds an engine on the TestScheduler, pushing item 7's inputs as `inputs` emits them. */
function engineTest(opts: Partial<LedgerOptions>, body: (h: RunHelpers, mk: (script: Script, inputs: Observable<Input>) => Built) => void): void {
  const ts = marbleScheduler();
  const mk = (script: Script, inputs: Observable<Input>): Built => {
    const { deps, calls } = scriptedDeps(ts, script);
    const engine = new ItemEngine(ledgerOptions(opts), deps, ts);
    inputs.subscribe((i) => engine.push('default', 7, i));
    return { engine, calls, out$: engine.output$.pipe(map(show)) };
  };
  ts.run((h) => body(h, mk));
}

const canceledItem = (s: ReturnType<typeof session> | null) => queueItem(s, { status: 'canceled' });
const unwritten = () => session({}, {}, { written: false });
const running: Record<string, Input> = { a: status('in_progress'), b: started('p1', 'out') };

describe('ItemEngine timing (marbles)', () => {
  it('cancel grace: a canceled item with a node still running waits cancelGraceMs, then its queue item is read', () => {
    engineTest({ cancelGraceMs: 3000 }, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      // Canceled at frame 100 while p1 runs; the written session says p1 returned nothing (stopped by the cancel).
      const read = cold<RungOutcome>('2ms (a|)', { a: itemRead(canceledItem(session({}, {}))) });
      const { out$ } = mk({ rungs: { queue_item: [read] } }, hot('ab 98ms c', { ...running, c: status('canceled') }));
      expectObservable(out$).toBe('3102ms a', { a: 'item 7 canceled complete []' });
      expectSubscriptions(read.subscriptions).toBe('3100ms ^ 1ms !');
    });
  });

  it('cancel grace: a completion inside the grace proceeds at once (no wait for the rest of the grace)', () => {
    engineTest({ cancelGraceMs: 3000 }, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      const lookup = cold('2ms (a|)', { a: found('late.png', 'p1') });
      const read = cold<RungOutcome>('2ms (a|)', { a: itemRead(canceledItem(session({ p1: imageResult('late.png') }, { p1: 'out' }))) });
      const inputs = hot('ab 98ms c 499ms d', { ...running, c: status('canceled'), d: completed('p1', 'out', ['late.png']) });
      const { out$ } = mk({ lookups: [lookup], rungs: { queue_item: [read] } }, inputs);
      // The image at 602 (its DTO read at 600), the queue item read at once, the item at 604; nothing at 3100.
      expectObservable(out$).toBe('602ms a 1ms b', { a: 'image late.png', b: 'item 7 canceled complete [late.png]' });
      expectSubscriptions(lookup.subscriptions).toBe('600ms ^ 1ms !');
      expectSubscriptions(read.subscriptions).toBe('602ms ^ 1ms !');
    });
  });

  it('settle wait: read before its session was written, a canceled item is read again after 250, 500, 1000 … ms until settleTimeoutMs, then finishes incomplete with a warning', () => {
    engineTest({ cancelGraceMs: 0, settleBackoffMs: 250, settleTimeoutMs: 10_000, rungs: ['queue_item'] }, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      const read = cold<RungOutcome>('2ms (a|)', { a: itemRead(canceledItem(unwritten()), false) });
      const { out$ } = mk({ rungs: { queue_item: Array.from({ length: 7 }, () => read) } }, hot('ab 8ms c', { ...running, c: status('canceled') }));
      // First answer at 12 starts the clock; waits 250, 500, 1000, 2000, 4000, then the 2240 left; the answer at
      // 10014 is 10002 ms after the first: time is up.
      expectSubscriptions(read.subscriptions).toBe([10, 262, 764, 1766, 3768, 7770, 10012].map((f) => `${f}ms ^ 1ms !`));
      expectObservable(out$).toBe('10014ms (wi)', {
        w: 'warn: item 7 (queue default) reported incomplete: node out was running when the item was canceled and its output could not be confirmed',
        i: 'item 7 canceled incomplete []',
      });
    });
  });

  it('settle wait: once a re-read finds the session written, the late image is reported and the item is complete', () => {
    engineTest({ cancelGraceMs: 0, settleBackoffMs: 250, settleTimeoutMs: 10_000, rungs: ['queue_item'] }, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      const early = cold<RungOutcome>('2ms (a|)', { a: itemRead(canceledItem(unwritten()), false) });
      const late = cold<RungOutcome>('2ms (a|)', { a: itemRead(canceledItem(session({ p1: imageResult('late.png') }, { p1: 'out' }))) });
      const lookup = cold('3ms (a|)', { a: found('late.png', 'p1') });
      const { out$ } = mk({ lookups: [lookup], rungs: { queue_item: [early, early, late] } }, hot('ab 8ms c', { ...running, c: status('canceled') }));
      expectSubscriptions(early.subscriptions).toBe(['10ms ^ 1ms !', '262ms ^ 1ms !']);
      expectSubscriptions(late.subscriptions).toBe('764ms ^ 1ms !');
      expectSubscriptions(lookup.subscriptions).toBe('766ms ^ 2ms !');
      expectObservable(out$).toBe('769ms (ab)', { a: 'image late.png', b: 'item 7 canceled complete [late.png]' });
    });
  });

  it('lookup retries: a failed DTO lookup is retried before the item record, and its success leaves the item complete', () => {
    engineTest({}, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      const fails = cold<ReadonlyMap<string, LookupOutcome>>('2ms #', undefined, new Error('HTTP 500'));
      const ok = cold('2ms (a|)', { a: found('a.png', 'p1') });
      const read = cold<RungOutcome>('2ms (a|)', { a: itemRead(queueItem(session({ p1: imageResult('a.png') }, { p1: 'out' }))) });
      const inputs = hot('ab 48ms c', { a: status('in_progress'), b: completed('p1', 'out', ['a.png']), c: status('completed') });
      const { out$ } = mk({ lookups: [fails, ok], rungs: { queue_item: [read] } }, inputs);
      expectSubscriptions(fails.subscriptions).toBe('1ms ^ 1ms !');
      expectSubscriptions(read.subscriptions).toBe('50ms ^ 1ms !');
      // Retried right after the queue item (52), before any record: image and item together at 54.
      expectSubscriptions(ok.subscriptions).toBe('52ms ^ 1ms !');
      expectObservable(out$).toBe('54ms (ab)', { a: 'image a.png', b: 'item 7 completed complete [a.png]' });
    });
  });

  it('lookup retries: after maxLookupAttempts failures the item finishes incomplete, with a warning naming the image', () => {
    engineTest({ maxLookupAttempts: 3 }, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      const fails = cold('2ms (a|)', { a: failedLookup('a.png') });
      const read = cold<RungOutcome>('2ms (a|)', { a: itemRead(queueItem(session({ p1: imageResult('a.png') }, { p1: 'out' }))) });
      const inputs = hot('ab 48ms c', { a: status('in_progress'), b: completed('p1', 'out', ['a.png']), c: status('completed') });
      const { out$ } = mk({ lookups: [fails, fails, fails], rungs: { queue_item: [read] } }, inputs);
      expectSubscriptions(fails.subscriptions).toBe(['1ms ^ 1ms !', '52ms ^ 1ms !', '54ms ^ 1ms !']);
      expectObservable(out$).toBe('56ms (wi)', {
        w: 'warn: item 7 (queue default) reported incomplete: image a.png could not be read: HTTP 500',
        i: 'item 7 completed incomplete []',
      });
    });
  });

  it('postponed: a rung that finds the server unreachable postpones the item; retryPostponed() resumes it there', () => {
    engineTest({}, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      const down = cold<RungOutcome>('2ms (a|)', { a: { rung: 'queue_item', kind: 'unreachable', error: 'ECONNREFUSED' } });
      const read = cold<RungOutcome>('2ms (a|)', { a: itemRead(queueItem(session({}, {}))) });
      const { engine, out$ } = mk({ rungs: { queue_item: [down, read] } }, hot('a 9ms b', { a: status('in_progress'), b: status('completed') }));
      hot('500ms r').subscribe(() => engine.retryPostponed());
      expectObservable(out$).toBe('12ms a 489ms b', { a: 'postponed 7', b: 'item 7 completed complete []' });
      expectSubscriptions(down.subscriptions).toBe('10ms ^ 1ms !');
      expectSubscriptions(read.subscriptions).toBe('500ms ^ 1ms !');
    });
  });

  it('postponed: a DTO lookup that finds the server unreachable is retried on retryPostponed() without using up an attempt', () => {
    engineTest({ maxLookupAttempts: 1 }, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      const read = cold<RungOutcome>('2ms (a|)', { a: itemRead(queueItem(session({ p1: imageResult('a.png') }, { p1: 'out' }))) });
      const down = cold('2ms (a|)', { a: new Map([['a.png', { kind: 'unreachable' as const, error: 'ECONNREFUSED' }]]) });
      const ok = cold('2ms (a|)', { a: found('a.png', 'p1') });
      const { engine, out$ } = mk({ lookups: [down, ok], rungs: { queue_item: [read] } }, hot('a 9ms b', { a: status('in_progress'), b: status('completed') }));
      hot('300ms r').subscribe(() => engine.retryPostponed());
      expectSubscriptions(down.subscriptions).toBe('12ms ^ 1ms !');
      expectSubscriptions(ok.subscriptions).toBe('300ms ^ 1ms !');
      expectObservable(out$).toBe('14ms a 287ms (bc)', { a: 'postponed 7', b: 'image a.png', c: 'item 7 completed complete [a.png]' });
    });
  });

  it('flushWaits() at shutdown ends the cancel grace at once', () => {
    engineTest({ cancelGraceMs: 3000 }, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      const read = cold<RungOutcome>('2ms (a|)', { a: itemRead(canceledItem(session({}, {}))) });
      const { engine, out$ } = mk({ rungs: { queue_item: [read] } }, hot('ab 98ms c', { ...running, c: status('canceled') }));
      hot('1000ms f').subscribe(() => engine.flushWaits());
      expectSubscriptions(read.subscriptions).toBe('1000ms ^ 1ms !');
      expectObservable(out$).toBe('1002ms a', { a: 'item 7 canceled complete []' });
    });
  });

  it('flushWaits() at shutdown ends a settle wait at once: the item is read again now', () => {
    engineTest({ cancelGraceMs: 0, settleBackoffMs: 250, settleTimeoutMs: 10_000, rungs: ['queue_item'] }, ({ cold, hot, expectObservable, expectSubscriptions }, mk) => {
      const early = cold<RungOutcome>('2ms (a|)', { a: itemRead(canceledItem(unwritten()), false) });
      const written = cold<RungOutcome>('2ms (a|)', { a: itemRead(canceledItem(session({}, {}))) });
      const { engine, out$ } = mk({ rungs: { queue_item: [early, written] } }, hot('ab 8ms c', { ...running, c: status('canceled') }));
      hot('100ms f').subscribe(() => engine.flushWaits());
      expectSubscriptions(early.subscriptions).toBe('10ms ^ 1ms !');
      expectSubscriptions(written.subscriptions).toBe('100ms ^ 1ms !');
      expectObservable(out$).toBe('102ms a', { a: 'item 7 canceled complete []' });
    });
  });
});

/**
 * `whenIdle` answers with a promise, which `TestScheduler.run()` would only settle after its last frame: these tests
 * step the same TestScheduler one due action at a time (VirtualTime) and note the frame each promise settled at.
 */
describe('ItemEngine.whenIdle (virtual time, stepped)', () => {
  const answerAt = <T>(vt: VirtualTime, ms: number, value: T): Observable<T> => timer(ms, vt.scheduler).pipe(map(() => value));

  function setup(vt: VirtualTime, opts: Partial<LedgerOptions>, script: Script): ItemEngine {
    return new ItemEngine(ledgerOptions(opts), scriptedDeps(vt.scheduler, script).deps, vt.scheduler);
  }

  function settledAt<T>(vt: VirtualTime, p: Promise<T>): { value?: T; at?: number } {
    const seen: { value?: T; at?: number } = {};
    void p.then((value) => Object.assign(seen, { value, at: vt.now() }));
    return seen;
  }

  it('resolves true at once when nothing is under way', async () => {
    const vt = new VirtualTime();
    const seen = settledAt(vt, setup(vt, {}, {}).whenIdle(1000));
    await vt.advanceTo(0);
    expect(seen).toEqual({ value: true, at: 0 });
  });

  it('resolves true the frame the last effect answers, or false at its timeout if that comes first', async () => {
    const vt = new VirtualTime();
    const engine = setup(vt, {}, { rungs: { queue_item: [answerAt(vt, 500, itemRead(queueItem(session({}, {}))))] } });
    const items: number[] = [];
    engine.output$.subscribe(() => items.push(vt.now()));
    engine.push('default', 7, status('in_progress'));
    engine.push('default', 7, status('completed'));
    const short = settledAt(vt, engine.whenIdle(300));
    const long = settledAt(vt, engine.whenIdle(1000));
    await vt.advanceTo(299);
    expect([short, long]).toEqual([{}, {}]);
    await vt.advanceTo(300);
    expect(short).toEqual({ value: false, at: 300 });
    await vt.advanceTo(499);
    expect(long).toEqual({});
    await vt.advanceTo(500);
    expect(long).toEqual({ value: true, at: 500 });
    expect(items).toEqual([500]);
  });

  it('at shutdown: a pending cancel grace keeps it busy until the timeout, unless flushWaits() ends the grace first', async () => {
    const canceled = (vt: VirtualTime): ItemEngine => {
      const engine = setup(vt, { cancelGraceMs: 3000 }, { rungs: { queue_item: [answerAt(vt, 2, itemRead(canceledItem(session({}, {}))))] } });
      for (const i of [status('in_progress'), started('p1', 'out'), status('canceled')]) engine.push('default', 7, i);
      return engine;
    };
    const a = new VirtualTime();
    const waited = settledAt(a, canceled(a).whenIdle(1000));
    await a.advanceTo(1000);
    expect(waited).toEqual({ value: false, at: 1000 });

    const b = new VirtualTime();
    const engine = canceled(b);
    const records: number[] = [];
    engine.output$.subscribe(() => records.push(b.now()));
    engine.flushWaits();
    const flushed = settledAt(b, engine.whenIdle(1000));
    await b.advanceTo(1000);
    expect(flushed).toEqual({ value: true, at: 2 });
    expect(records).toEqual([2]);
  });
});

describe('ItemEngine shutdown: a settle wait that starts after flushWaits()', () => {
  // flushWaits() ends the waits under way, and no item starts a new one: a re-read that finds the session still
  // unwritten goes on to report what is known, rather than waiting the settle out past the drain timeout.
  it('reports what is known at once instead of waiting the settle out', async () => {
    const vt = new VirtualTime();
    const unwrittenRead = (): Observable<RungOutcome> => timer(2, vt.scheduler).pipe(map(() => itemRead(canceledItem(unwritten()), false)));
    const { deps, calls } = scriptedDeps(vt.scheduler, { rungs: { queue_item: Array.from({ length: 20 }, unwrittenRead) } });
    const engine = new ItemEngine(ledgerOptions({ cancelGraceMs: 3000, settleTimeoutMs: 10_000 }), deps, vt.scheduler);
    const records: number[] = [];
    engine.output$.subscribe((o) => o.kind === 'record' && records.push(vt.now()));
    for (const i of [status('in_progress'), started('p1', 'out'), status('canceled')]) engine.push('default', 7, i);
    await vt.advanceTo(100);
    engine.flushWaits();
    const idle = engine.whenIdle(1000);
    let result: [boolean, number] | undefined;
    void idle.then((v) => (result = [v, vt.now()]));
    await vt.advanceTo(1100);
    // Read once at the flush; its node still unsettled, the listing is the last rung (unscripted here: it fails).
    expect(calls.map((c) => [c.at, c.what])).toEqual([
      [100, 'queue_item'],
      [102, 'listing'],
    ]);
    expect(result).toEqual([true, 102]);
    expect(records).toEqual([102]);
  });
});

describe('ItemEngine after a restart: images delivered before it (seeded from the state file)', () => {
  // A seeded image has no DTO (the state file keeps its record, which has no created_at): it is looked up again at
  // the item's end, for its creation time only, so it takes its place among the images found after the restart.
  it('new_images keeps execution order across the restart', () => {
    const ts = marbleScheduler();
    // The server made a.png, b.png, c.png in that order; b.png went out before the restart.
    const made: Record<string, ReturnType<typeof dto>> = {
      'a.png': dto('a.png', 'p1', { created_at: '2026-12-04 10:00:00.001' }),
      'b.png': dto('b.png', 'p2', { created_at: '2026-12-04 10:00:00.002' }),
      'c.png': dto('c.png', 'p3', { created_at: '2026-12-04 10:00:00.003' }),
    };
    const item = queueItem(session({ p1: imageResult('a.png'), p2: imageResult('b.png'), p3: imageResult('c.png') }, { p1: 'out_a', p2: 'out_b', p3: 'out_c' }));
    const items: ItemRecord[] = [];
    ts.run(({ cold, hot }) => {
      const { deps } = scriptedDeps(ts, { rungs: { queue_item: [cold<RungOutcome>('1ms (a|)', { a: itemRead(item) })] } });
      // Whatever it looks up (a fix may read b.png again), it gets the server's DTOs.
      deps.lookupImages = (names) => cold('1ms (a|)', { a: new Map(names.map((n) => [n, { kind: 'found' as const, dto: made[n]! }])) });
      const engine = new ItemEngine(ledgerOptions(), deps, ts);
      engine.output$.subscribe((o) => o.kind === 'record' && o.record.type === 'item' && items.push(o.record));
      const seed: Input = { kind: 'seed', images: [imageRecordOf('b.png', 'p2', 'out_b')], sessionId: SESSION, batchId: 'b' };
      hot('a 9ms b', { a: seed, b: status('completed') }).subscribe((i) => engine.push('default', 7, i));
    });
    expect(items.map((r) => r.new_images)).toEqual([['a.png', 'b.png', 'c.png']]);
  });
});

/** An image record as a run before the restart delivered it. */
function imageRecordOf(name: string, preparedId: string, nodeId: string): ImageRecord {
  return {
    type: 'image',
    record_id: `rec-${name}`,
    server: SERVER,
    queue_id: 'default',
    item_id: 7,
    batch_id: 'b',
    session_id: SESSION,
    node_id: nodeId,
    prepared_node_id: preparedId,
    node_type: 'save_image',
    image_name: name,
    board_id: 'none',
    requested_board_id: 'none',
    is_intermediate: false,
    width: 8,
    height: 8,
    image_url: null,
    cached: false,
    root_item_id: 7,
    via: 'socket',
    ts: '2026-12-04T10:00:00.002Z',
  };
}
