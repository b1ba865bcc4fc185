/**
 * QueueSocket's own retry timer, on a TestScheduler: socket.io gives up after a server-initiated disconnect and after
 * a refused handshake, so QueueSocket schedules the reconnect itself, on the scheduler it is given, after the backoff
 * delay. The socket.io client is replaced (`ioFactory`) by an emitter that records when `connect()` is called.
 */
import { EventEmitter } from 'node:events';
import { Subject } from 'rxjs';
import type { Socket } from 'socket.io-client';
import { QueueSocket } from '../../src/invoke/socket';
import { serverEndpoints } from '../../src/invoke/url';
import { MemoryLogger } from '../../src/log';
import { marbleScheduler, settle, VirtualTime } from '../support/virtualTime';
import type { SchedulerLike } from 'rxjs';

/** Enough of a socket.io client for QueueSocket: events in, `connect()` calls out. */
class FakeSocket extends EventEmitter {
  connected = false;
  active = true;
  readonly connects$ = new Subject<number>();
  readonly subscribed: string[] = [];
  /** What `connect()` does (the test decides: succeed, be refused, or nothing). */
  onConnect: () => void = () => undefined;

  constructor(private readonly scheduler: SchedulerLike) {
    super();
  }

  connect(): this {
    this.active = true;
    this.connects$.next(this.scheduler.now());
    this.onConnect();
    return this;
  }

  disconnect(): this {
    this.connected = false;
    this.active = false;
    return this;
  }

  timeout(): { emitWithAck: (event: string, arg: { queue_id: string }) => Promise<unknown> } {
    return {
      emitWithAck: (_event, arg) => {
        this.subscribed.push(arg.queue_id);
        return Promise.resolve({ ok: true });
      },
    };
  }

  /** The server accepted the connection. */
  accept(): void {
    this.connected = true;
    this.active = true;
    this.emit('connect');
  }

  /** The server disconnected us (`io server disconnect`): socket.io does not reconnect by itself. */
  kick(): void {
    this.connected = false;
    this.active = false;
    this.emit('disconnect', 'io server disconnect');
  }

  /** The server refused the handshake: socket.io gives up (`active` false). */
  refuse(): void {
    this.active = false;
    this.emit('connect_error', new Error('Authentication failed'));
  }
}

function queueSocket(scheduler: SchedulerLike, backoff: { min: number; max: number }, extra: Partial<ConstructorParameters<typeof QueueSocket>[0]> = {}) {
  const fake = new FakeSocket(scheduler);
  const socket = new QueueSocket({
    endpoints: serverEndpoints('http://127.0.0.1:1'),
    queues: ['default'],
    backoff: { ...backoff, jitter: 0 },
    scheduler,
    log: new MemoryLogger(),
    ioFactory: () => fake as unknown as Socket,
    ...extra,
  });
  return { fake, socket };
}

async function connectedOnce(fake: FakeSocket, socket: QueueSocket): Promise<void> {
  socket.start();
  fake.accept();
  await settle();
  expect(socket.isConnected).toBe(true);
}


describe('QueueSocket retry timer (marbles)', () => {
  it('after a server-initiated disconnect, reconnects on the given scheduler after the backoff delay', async () => {
    const ts = marbleScheduler();
    const { fake, socket } = queueSocket(ts, { min: 800, max: 5000 });
    await connectedOnce(fake, socket);
    const disconnected: string[] = [];
    socket.on('disconnected', (reason) => disconnected.push(reason));
    ts.run(({ hot, expectObservable }) => {
      hot('100ms k').subscribe(() => fake.kick());
      // Disconnected at 100, the first retry waits min = 800 ms: connect() at 900, not a frame earlier.
      expectObservable(fake.connects$).toBe('900ms a', { a: 900 });
    });
    expect(disconnected).toEqual(['io server disconnect']);
    socket.close();
  });

  it('a connection that succeeded resets the backoff: the next disconnect waits min again', async () => {
    const ts = marbleScheduler();
    const { fake, socket } = queueSocket(ts, { min: 800, max: 5000 });
    await connectedOnce(fake, socket);
    fake.onConnect = () => fake.accept();
    ts.run(({ hot, expectObservable }) => {
      hot('100ms k 1999ms k').subscribe(() => fake.kick());
      expectObservable(fake.connects$).toBe('900ms a 1999ms b', { a: 900, b: 2900 });
    });
    socket.close();
  });

  it('suspend() cancels a scheduled reconnect; resume() connects at once', async () => {
    const ts = marbleScheduler();
    const { fake, socket } = queueSocket(ts, { min: 800, max: 5000 });
    await connectedOnce(fake, socket);
    ts.run(({ hot, expectObservable }) => {
      hot('100ms k 99ms s 1999ms r').subscribe((v) => (v === 'k' ? fake.kick() : v === 's' ? socket.suspend() : socket.resume()));
      // Suspended at 200: nothing at 900; resumed at 2200: connect() then, not later.
      expectObservable(fake.connects$).toBe('2200ms a', { a: 2200 });
    });
    socket.close();
  });

  it('close() cancels a scheduled reconnect', async () => {
    const ts = marbleScheduler();
    const { fake, socket } = queueSocket(ts, { min: 800, max: 5000 });
    await connectedOnce(fake, socket);
    ts.run(({ hot, expectObservable }) => {
      hot('100ms k 99ms c').subscribe((v) => (v === 'k' ? fake.kick() : socket.close()));
      expectObservable(fake.connects$).toBe('');
    });
  });

  it('lastEventAt is the scheduler time of the last event', async () => {
    const ts = marbleScheduler();
    const { fake, socket } = queueSocket(ts, { min: 800, max: 5000 });
    await connectedOnce(fake, socket);
    ts.run(({ hot }) => {
      hot('300ms e').subscribe(() => fake.emit('queue_item_status_changed', { queue_id: 'default' }));
    });
    expect(socket.lastEventAt).toBe(300);
    socket.close();
  });
});

/** A refused handshake renews credentials first (a promise), so these step the scheduler instead of run(). */
describe('QueueSocket retry after a refused handshake (virtual time, stepped)', () => {
  it('each refusal in a row doubles the delay (800, 1600, 3200 ms), after onRefused; a success resets it', async () => {
    const vt = new VirtualTime();
    const renewals: number[] = [];
    const { fake, socket } = queueSocket(vt.scheduler, { min: 800, max: 5000 }, { onRefused: () => Promise.resolve(void renewals.push(vt.now())) });
    const connects: number[] = [];
    fake.connects$.subscribe((t) => connects.push(t));
    socket.start();
    fake.onConnect = () => fake.refuse();
    fake.refuse(); // frame 0
    await vt.advanceTo(799);
    expect(connects).toEqual([]);
    await vt.advanceTo(800 + 1600 + 3200 - 1);
    expect(connects).toEqual([800, 2400]);
    fake.onConnect = () => fake.accept();
    await vt.advanceTo(5600);
    expect(connects).toEqual([800, 2400, 5600]);
    expect(renewals).toEqual([0, 800, 2400]);
    expect(socket.isConnected).toBe(true);
    fake.onConnect = () => fake.refuse();
    fake.kick(); // frame 5600: the successful connect reset the attempts
    await vt.advanceTo(6400);
    expect(connects).toEqual([800, 2400, 5600, 6400]);
    socket.close();
  });

  it('the delay never exceeds backoff.max', async () => {
    const vt = new VirtualTime();
    const { fake, socket } = queueSocket(vt.scheduler, { min: 800, max: 2000 });
    const connects: number[] = [];
    fake.connects$.subscribe((t) => connects.push(t));
    socket.start();
    fake.onConnect = () => fake.refuse();
    fake.refuse();
    await vt.advanceTo(10_000);
    // 800, then 1600, then 2000 each time.
    expect(connects).toEqual([800, 2400, 4400, 6400, 8400]);
    socket.close();
  });
});
