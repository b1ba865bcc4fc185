/**
 * Helpers for multi-user tests: logins, requests and sockets with a bearer token, on loopback, with teardown.
 */
import { io, type Socket } from 'socket.io-client';
import { DEFAULT_ADMIN, type Simulator, type SimulatorOptions } from '../../src/simulator';
import { simulator, type EnqueueResult, type Teardown } from '../support/harness';

export const ALICE = { email: 'alice@example.com', password: 'alice-secret-pw' };
export const BOB = { email: 'bob@example.com', password: 'bob-secret-pw' };
export const ADMIN = DEFAULT_ADMIN;

/** A multi-user simulator with two non-admins, alice and bob, besides the default admin. */
export function multiuserSim(td: Teardown, opts: SimulatorOptions = {}): Promise<Simulator> {
  return simulator(td, { multiuser: true, users: [ALICE, BOB], ...opts });
}

export interface Reply<T> {
  status: number;
  json: T;
  headers: Headers;
}

/** A request under `/api/v1`, with a bearer token when given; never throws on an HTTP status. */
export async function call<T = unknown>(sim: Simulator, method: string, path: string, opts: { token?: string | undefined; body?: unknown } = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sim.url}/api/v1${path}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
}

export async function login(sim: Simulator, who: { email: string; password: string }): Promise<string> {
  const r = await call<{ token: string }>(sim, 'POST', '/auth/login', { body: { email: who.email, password: who.password } });
  if (r.status !== 200) throw new Error(`login ${who.email}: HTTP ${r.status}`);
  return r.json.token;
}

export async function enqueueAs(sim: Simulator, token: string, graph: unknown): Promise<EnqueueResult> {
  const r = await call<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { token, body: { batch: { graph, runs: 1 } } });
  if (r.status !== 200) throw new Error(`enqueue: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

export interface Recorded {
  event: string;
  payload: Record<string, unknown>;
}

export interface TestSocket {
  socket: Socket;
  events: Recorded[];
  of(event: string): Record<string, unknown>[];
}

/** A raw socket.io client (no auto-reconnect), subscribed to `default` once connected. */
export async function connect(td: Teardown, sim: Simulator, auth: { token?: string; header?: string } = {}): Promise<TestSocket> {
  const socket = td.add(
    io(`http://127.0.0.1:${sim.port}`, {
      path: '/ws/socket.io',
      transports: ['websocket'],
      reconnection: false,
      ...(auth.token === undefined ? {} : { auth: { token: auth.token } }),
      ...(auth.header === undefined ? {} : { extraHeaders: { authorization: `Bearer ${auth.header}` } }),
    }),
    (s) => s.close(),
  );
  const events: Recorded[] = [];
  socket.onAny((event: string, payload: unknown) => events.push({ event, payload: payload as Record<string, unknown> }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  await socket.emitWithAck('subscribe_queue', { queue_id: 'default' });
  return { socket, events, of: (event) => events.filter((e) => e.event === event).map((e) => e.payload) };
}

export async function waitFor(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves once `sim` holds these items, all terminal. */
export function finished(sim: Simulator, ids: readonly number[]): Promise<void> {
  return waitFor(
    () => ids.every((id) => ['completed', 'failed', 'canceled'].includes(sim.store.getQueueItem(id)?.['status'] as string)),
    `items ${ids.join(', ')} to finish`,
  );
}
