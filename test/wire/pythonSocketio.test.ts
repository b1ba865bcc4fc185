/**
 * Wire compatibility against a real python-socketio server (test/support/pysio/server.py) that mirrors
 * InvokeAI's socket layer: path /ws/socket.io, connect joins user:system + admin, subscribe_queue joins the
 * queue room and ACKs with no arguments, malformed payloads raise (no ACK), no replay after reconnects.
 */
import { io, type Socket } from 'socket.io-client';
import { readFixture } from '../support/fixtures';
import { startPythonSocketServer, type PythonSocketServer } from '../support/pythonSocketServer';

type Transport = 'websocket' | 'polling';

const fixture = (name: string): unknown => readFixture(`examples/${name}`);
const INVOCATION_COMPLETE = fixture('invocation_complete.image.l2i.json');
const STATUS_COMPLETED = fixture('queue_item_status_changed.completed.json');

let server: PythonSocketServer | undefined;
const sockets: Socket[] = [];

/**
 * The one place that creates a client connection. When the project's own client wrapper exists, swap it in here
 * (it must expose connect/disconnect events, `emitWithAck` / `timeout()` and `on(event)`).
 */
function connectClient(srv: PythonSocketServer, transports: Transport[] = ['polling', 'websocket']): Socket {
  const socket = io(srv.origin, {
    path: srv.path,
    transports,
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 250,
    randomizationFactor: 0,
    timeout: 5000,
  });
  sockets.push(socket);
  return socket;
}

/** Pending wait timers, cleared in afterEach so a failed test leaves nothing running. */
const timers = new Set<NodeJS.Timeout>();

function once<T extends unknown[]>(socket: Socket, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      socket.off(event, handler);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    timers.add(timer);
    const handler = (...args: unknown[]): void => {
      clearTimeout(timer);
      timers.delete(timer);
      resolve(args as T);
    };
    socket.once(event, handler);
  });
}

async function connected(socket: Socket): Promise<void> {
  if (!socket.connected) await once(socket, 'connect');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startServer(): Promise<PythonSocketServer> {
  server = await startPythonSocketServer();
  return server;
}

afterEach(async () => {
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  for (const socket of sockets.splice(0)) {
    socket.removeAllListeners();
    socket.disconnect();
  }
  const srv = server;
  server = undefined;
  await srv?.close();
});

describe.each<Transport>(['websocket', 'polling'])('python-socketio server over %s', (transport) => {
  it('connects on /ws/socket.io, subscribe_queue ACKs, queue-room and admin events arrive intact', async () => {
    const srv = await startServer();
    const socket = connectClient(srv, [transport]);
    await connected(socket);
    expect(socket.io.engine.transport.name).toBe(transport);

    await expect(socket.emitWithAck('subscribe_queue', { queue_id: 'default' })).resolves.toBeUndefined();
    expect(Object.values(await srv.clients())).toEqual([['admin', 'default', 'user:system', 'workflows:shared']]);

    const statusP = once<[unknown]>(socket, 'queue_item_status_changed');
    const completeP = once<[unknown]>(socket, 'invocation_complete');
    // Another queue's room must not reach us; emitted first so it would arrive first if it leaked.
    await srv.emit('queue_item_status_changed', { queue_id: 'other' }, 'other');
    await srv.emit('queue_item_status_changed', STATUS_COMPLETED, 'default');
    // InvokeAI HEAD emits invocation events to the room list [user:<owner>, admin]: exactly one copy expected.
    const completes: unknown[] = [];
    socket.on('invocation_complete', (p: unknown) => completes.push(p));
    await srv.emit('invocation_complete', INVOCATION_COMPLETE, ['user:system', 'admin']);

    expect((await statusP)[0]).toEqual(STATUS_COMPLETED);
    expect((await completeP)[0]).toEqual(INVOCATION_COMPLETE);
    await srv.emit('marker', null, 'admin');
    await once(socket, 'marker');
    expect(completes).toHaveLength(1);
  });

  it('unsubscribe_queue leaves only the queue room', async () => {
    const srv = await startServer();
    const socket = connectClient(srv, [transport]);
    await connected(socket);
    await socket.emitWithAck('subscribe_queue', { queue_id: 'default' });
    await expect(socket.emitWithAck('unsubscribe_queue', { queue_id: 'default' })).resolves.toBeUndefined();

    const seen: string[] = [];
    socket.onAny((event: string) => seen.push(event));
    await srv.emit('queue_cleared', { queue_id: 'default' }, 'default');
    await srv.emit('invocation_complete', INVOCATION_COMPLETE, 'admin');
    await once(socket, 'invocation_complete');
    expect(seen).toEqual(['invocation_complete']);
  });

  it('a malformed subscribe_queue payload gets no ACK and leaves the connection usable', async () => {
    const srv = await startServer();
    const socket = connectClient(srv, [transport]);
    await connected(socket);

    await expect(socket.timeout(400).emitWithAck('subscribe_queue', { queue: 'default' })).rejects.toThrow();
    await expect(socket.timeout(200).emitWithAck('subscribe_queue', 'default')).rejects.toThrow();
    expect(socket.connected).toBe(true);
    const received = await srv.received();
    expect(received.map((r) => [r.event, r.ok])).toEqual([
      ['subscribe_queue', false],
      ['subscribe_queue', false],
    ]);

    await expect(socket.emitWithAck('subscribe_queue', { queue_id: 'default' })).resolves.toBeUndefined();
  });

  it("a server-side disconnect gives 'io server disconnect' and no automatic reconnect", async () => {
    const srv = await startServer();
    const socket = connectClient(srv, [transport]);
    await connected(socket);
    await socket.emitWithAck('subscribe_queue', { queue_id: 'default' });

    const reasonP = once<[string]>(socket, 'disconnect');
    expect(await srv.disconnectAll()).toBe(1);
    expect((await reasonP)[0]).toBe('io server disconnect');

    let reconnected = false;
    socket.on('connect', () => (reconnected = true));
    socket.io.on('reconnect_attempt', () => (reconnected = true));
    await sleep(600); // several reconnection delays (100..250 ms)
    expect(reconnected).toBe(false);
    expect(socket.connected).toBe(false);
    expect(await srv.clients()).toEqual({});
  });

  it('after a server restart (transport drop) it reconnects by itself and receives again once re-subscribed', async () => {
    const srv = await startServer();
    const socket = connectClient(srv, [transport]);
    let subscribed: Promise<unknown> = Promise.resolve();
    let connects = 0;
    socket.on('connect', () => {
      connects += 1;
      subscribed = socket.emitWithAck('subscribe_queue', { queue_id: 'default' });
    });
    await connected(socket);
    await subscribed;

    const reasonP = once<[string]>(socket, 'disconnect');
    const reconnectP = once(socket, 'connect', 8000);
    await srv.restart();
    expect(['transport close', 'transport error']).toContain((await reasonP)[0]);
    await reconnectP;
    await subscribed;
    expect(connects).toBe(2);

    const statusP = once<[unknown]>(socket, 'queue_item_status_changed');
    await srv.emit('queue_item_status_changed', STATUS_COMPLETED, 'default');
    expect((await statusP)[0]).toEqual(STATUS_COMPLETED);
  });
});

it('default transports (polling upgraded to websocket) work under a base_url prefix', async () => {
  server = await startPythonSocketServer({ prefix: '/invoke' });
  const srv = server;
  expect(srv.path).toBe('/invoke/ws/socket.io');
  expect(srv.url).toBe(`${srv.origin}/invoke`);
  const socket = connectClient(srv);
  await connected(socket);
  await socket.emitWithAck('subscribe_queue', { queue_id: 'default' });
  const engine = socket.io.engine;
  if (engine.transport.name !== 'websocket') await new Promise((resolve) => engine.once('upgrade', resolve));
  expect(socket.io.engine.transport.name).toBe('websocket');
  const statusP = once<[unknown]>(socket, 'queue_item_status_changed');
  await srv.emit('queue_item_status_changed', STATUS_COMPLETED, 'default');
  expect((await statusP)[0]).toEqual(STATUS_COMPLETED);
});
