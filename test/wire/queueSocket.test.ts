/**
 * The project's own socket client (QueueSocket) against python-socketio, the server library InvokeAI uses:
 * it connects on the prefixed path, subscribes on every connect, passes events on untouched, and comes back by
 * itself after a server-side disconnect and after the server restarts.
 */
import { QueueSocket } from '../../src/invoke/socket';
import { serverEndpoints } from '../../src/invoke/url';
import { parseQueueEvent } from '../../src/invoke/wire';
import { MemoryLogger } from '../../src/log';
import { readFixture } from '../support/fixtures';
import { startPythonSocketServer, type PythonSocketServer } from '../support/pythonSocketServer';

const payload = readFixture<Record<string, unknown>>('examples/invocation_complete.image.l2i.json');

let server: PythonSocketServer | undefined;
let socket: QueueSocket | undefined;
afterEach(async () => {
  socket?.close();
  socket = undefined;
  await server?.close();
  server = undefined;
});

function nextEvent(s: QueueSocket, ms = 5000): Promise<{ name: string; payload: unknown }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no event')), ms);
    s.once('event', (name, p) => {
      clearTimeout(t);
      resolve({ name, payload: p });
    });
  });
}

function nextConnected(s: QueueSocket, ms = 8000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('not connected')), ms);
    s.once('connected', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function subscribedQueues(srv: PythonSocketServer): Promise<string[][]> {
  return Object.values(await srv.clients()).map((rooms) => rooms.filter((r) => r === 'default'));
}

it.each(['', '/invoke'])('connects under prefix "%s", subscribes, and receives events intact', async (prefix) => {
  server = await startPythonSocketServer({ prefix });
  socket = new QueueSocket({ endpoints: serverEndpoints(server.url), queues: ['default'], log: new MemoryLogger() });
  const up = nextConnected(socket);
  socket.start();
  await up;
  expect(await subscribedQueues(server)).toEqual([['default']]);
  const got = nextEvent(socket);
  await server.emit('invocation_complete', payload, ['user:system', 'admin']);
  const ev = await got;
  expect(ev).toEqual({ name: 'invocation_complete', payload });
  const parsed = parseQueueEvent(ev.name, ev.payload);
  expect(parsed.ok).toBe(true);
});

it('reconnects and re-subscribes after a server-initiated disconnect', async () => {
  server = await startPythonSocketServer();
  socket = new QueueSocket({ endpoints: serverEndpoints(server.url), queues: ['default'], backoff: { min: 100, max: 200 }, log: new MemoryLogger() });
  const up = nextConnected(socket);
  socket.start();
  await up;
  const again = nextConnected(socket);
  expect(await server.disconnectAll()).toBe(1);
  await again;
  expect(await subscribedQueues(server)).toEqual([['default']]);
  const got = nextEvent(socket);
  await server.emit('queue_item_status_changed', { ...payload, status: 'completed' }, 'default');
  expect((await got).name).toBe('queue_item_status_changed');
});

it('comes back after the server restarts on the same port', async () => {
  server = await startPythonSocketServer();
  socket = new QueueSocket({ endpoints: serverEndpoints(server.url), queues: ['default'], backoff: { min: 100, max: 300 }, log: new MemoryLogger() });
  const up = nextConnected(socket);
  socket.start();
  await up;
  const again = nextConnected(socket, 15000);
  await server.restart();
  await again;
  expect(await subscribedQueues(server)).toEqual([['default']]);
}, 20000);
