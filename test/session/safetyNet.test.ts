/**
 * QueueSession's safety net on virtual time: a catch-up every `safetyNetMs` while connected, a full one every
 * `fullEvery` ticks, none while disconnected (the reconnect catches up anyway). The session runs against the real
 * simulator (its socket connects for real, and its own reconnect timer is on the same virtual scheduler); the
 * catch-up scope is a recorder, so each catch-up is seen with the virtual time it started at.
 */
import { Subject, filter, firstValueFrom, timeout } from 'rxjs';
import { ItemEngine } from '../../src/engine/engine';
import type { BackoffOptions } from '../../src/invoke/backoff';
import { ServerConnection } from '../../src/invoke/connection';
import type { WireQueueItem } from '../../src/invoke/wire';
import { MemoryLogger } from '../../src/log';
import type { CatchUpScope } from '../../src/session/catchUp';
import { QueueSession } from '../../src/session/queueSession';
import { scriptedDeps } from '../engine/support';
import { ledgerOptions } from '../ledger/support';
import { simulator, Teardown } from '../support/harness';
import { VirtualTime } from '../support/virtualTime';

const td = new Teardown();
afterEach(() => td.run());

/** A catch-up scope that owes nothing and notes every catch-up: when (virtual ms) and whether it was full. */
class RecordingScope implements CatchUpScope {
  readonly calls: { at: number; full: boolean }[] = [];
  private readonly seen$ = new Subject<number>();

  constructor(private readonly vt: VirtualTime) {}

  candidates(_queue: string, full: boolean): Promise<{ ids: number[]; items: ReadonlyMap<number, WireQueueItem> | null }> {
    this.calls.push({ at: this.vt.now(), full });
    this.seen$.next(this.calls.length);
    return Promise.resolve({ ids: [], items: null });
  }

  /** Resolves once `n` catch-ups were seen (a catch-up reads the server first, over real HTTP). */
  until(n: number): Promise<unknown> {
    if (this.calls.length >= n) return Promise.resolve();
    return firstValueFrom(this.seen$.pipe(filter((c) => c >= n), timeout({ first: 5000, with: () => Promise.reject(new Error(`${this.calls.length} catch-ups, not ${n}`)) })));
  }

  /** Advances virtual time to `frame` and waits for the one catch-up it starts. */
  async tick(frame: number): Promise<void> {
    const n = this.calls.length + 1;
    await this.vt.advanceTo(frame);
    await this.until(n);
    expect(this.calls).toHaveLength(n);
  }

  foreign(): void {}
  unfinished(): void {}
  known(): null {
    return null;
  }
  unknownGone(): void {}
}

async function startSession(fullEvery: number, backoff: BackoffOptions) {
  const sim = await simulator(td);
  const vt = new VirtualTime();
  const log = new MemoryLogger();
  const conn = td.add(new ServerConnection({ url: sim.url, log }), (c) => c.close());
  const engine = td.add(new ItemEngine(ledgerOptions(), scriptedDeps(vt.scheduler, {}).deps, vt.scheduler), (e) => e.close());
  const scope = new RecordingScope(vt);
  // `backoff` is handed on to the socket as it is: `jitter: 0` makes its reconnect delay exact.
  const session = td.add(new QueueSession({ conn, queues: ['default'], engine, scope, safetyNetMs: 1000, fullEvery, backoff, scheduler: vt.scheduler, log }), (s) => s.close());
  const connected = next(session, 'connected');
  session.start();
  await connected;
  return { sim, vt, scope, session };
}

const at = (frame: number, full: boolean) => ({ at: frame, full });

/** The session's next `connected` or `disconnected`. */
function next(session: QueueSession, event: 'connected' | 'disconnected'): Promise<void> {
  return new Promise((resolve) => session.once(event, () => resolve()));
}

it('catches up every safetyNetMs while connected, a full listing every fullEvery-th tick', async () => {
  const { vt, scope } = await startSession(3, { min: 1500, max: 1500, jitter: 0 });
  // Before subscribing, and again once connected: both full, at frame 0.
  expect(scope.calls).toEqual([at(0, true), at(0, true)]);
  await vt.advanceTo(999);
  expect(scope.calls).toHaveLength(2);
  for (const [frame, full] of [[1000, false], [2000, false], [3000, true], [4000, false], [5000, false], [6000, true]] as const) {
    await scope.tick(frame);
    expect(scope.calls.at(-1)).toEqual(at(frame, full));
  }
  expect(scope.calls).toHaveLength(8);
});

it('skips the ticks while disconnected; the reconnect (on the same scheduler, after the backoff) catches up in full, and the count goes on', async () => {
  const { sim, vt, scope, session } = await startSession(3, { min: 1500, max: 1500, jitter: 0 });
  for (const frame of [1000, 2000]) await scope.tick(frame);
  const gone = next(session, 'disconnected');
  sim.disconnectSockets(); // at frame 2000
  await gone;
  await vt.advanceTo(3499);
  // The tick at 3000 found no connection: no catch-up, and socket.io does not retry a server's disconnect itself.
  expect(scope.calls).toHaveLength(4);
  expect(session.connected).toBe(false);
  const back = next(session, 'connected');
  await vt.advanceTo(3500); // the retry timer: 2000 + 1500
  await back;
  expect(scope.calls.at(-1)).toEqual(at(3500, true));
  // Connected ticks only count toward the full one: 4000 is the 3rd.
  for (const [frame, full] of [[4000, true], [5000, false], [6000, false], [7000, true]] as const) {
    await scope.tick(frame);
    expect(scope.calls.at(-1)).toEqual(at(frame, full));
  }
});

it('pause() stops the ticks (no reconnect, however long); resume() reconnects and catches up in full', async () => {
  const { vt, scope, session } = await startSession(10, { min: 500, max: 500, jitter: 0 });
  await scope.tick(1000);
  session.pause();
  await vt.advanceTo(20_000);
  expect(scope.calls).toHaveLength(3);
  expect(session.connected).toBe(false);
  const back = next(session, 'connected');
  session.resume();
  await back;
  expect(scope.calls.at(-1)).toEqual(at(20_000, true));
  await scope.tick(21_000);
  expect(scope.calls.at(-1)).toEqual(at(21_000, false));
});
