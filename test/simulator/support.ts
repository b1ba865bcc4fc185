/**
 * Helpers for the simulator tests: real sockets and HTTP on 127.0.0.1, everything registered for teardown.
 */
import { io, type Socket } from 'socket.io-client';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator';

export { FIXTURES, readFixture } from '../support/fixtures';

export interface Recorded {
  readonly event: string;
  readonly payload: Record<string, unknown>;
  readonly at: number;
}

export interface Client {
  readonly socket: Socket;
  readonly events: Recorded[];
  /** Events by name, in arrival order. */
  of<T = Record<string, unknown>>(event: string): T[];
}

export interface ConnectOptions {
  subscribe?: boolean;
  queueId?: string;
  reconnection?: boolean;
}

export interface HttpResult<T> {
  status: number;
  json: T;
  headers: Headers;
}

/** Starts simulators and clients and closes every one of them in `close()` (call it in afterEach). */
export class Harness {
  private readonly sims: Simulator[] = [];
  private readonly sockets: Socket[] = [];

  async start(opts: SimulatorOptions = {}): Promise<Simulator> {
    const sim = await startSimulator({ nodeDelayMs: 1, ...opts });
    this.sims.push(sim);
    return sim;
  }

  async connect(sim: Simulator, opts: ConnectOptions = {}): Promise<Client> {
    const base = new URL(sim.url).pathname.replace(/\/$/, '');
    const socket = io(`http://127.0.0.1:${sim.port}`, {
      path: `${base}/ws/socket.io`,
      transports: ['websocket'],
      reconnection: opts.reconnection ?? false,
      reconnectionDelay: 50,
      reconnectionDelayMax: 100,
      randomizationFactor: 0,
    });
    this.sockets.push(socket);
    const events: Recorded[] = [];
    socket.onAny((event: string, payload: unknown) => {
      events.push({ event, payload: payload as Record<string, unknown>, at: Date.now() });
    });
    const queueId = opts.queueId ?? 'default';
    if (opts.subscribe ?? true)
      socket.on('connect', () => {
        socket.emit('subscribe_queue', { queue_id: queueId });
      });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    if (opts.subscribe ?? true) await socket.emitWithAck('subscribe_queue', { queue_id: queueId });
    return {
      socket,
      events,
      of: <T>(event: string) => events.filter((e) => e.event === event).map((e) => e.payload as T),
    };
  }

  async close(): Promise<void> {
    for (const s of this.sockets.splice(0)) s.close();
    await Promise.all(this.sims.splice(0).map((s) => s.close()));
  }
}

export async function api<T = unknown>(sim: Simulator, method: string, route: string, body?: unknown): Promise<HttpResult<T>> {
  const send = (): Promise<Response> =>
    fetch(`${sim.url}/api/v1${route}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  let res: Response;
  try {
    res = await send();
  } catch (err) {
    // A schema compile can block this process past the server's 5 s keep-alive: the idle connection is then closed
    // under the next request. A GET is sent again, as HTTP clients do for idempotent requests.
    if (method !== 'GET' || (err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err;
    res = await send();
  }
  const text = await res.text();
  return { status: res.status, json: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
}

export async function waitFor(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the client saw a terminal status for each item. */
export async function waitTerminal(c: Client, itemIds: number[], timeoutMs = 8000): Promise<void> {
  const terminal = new Set(['completed', 'failed', 'canceled']);
  await waitFor(
    () => itemIds.every((id) => c.of<StatusEvent>('queue_item_status_changed').some((e) => e.item_id === id && terminal.has(e.status))),
    `terminal status of items ${itemIds.join(',')}`,
    timeoutMs,
  );
}

// Minimal views of the wire payloads the tests look into (the schemas check the rest).
export interface NodeDump {
  id: string;
  type: string;
  [k: string]: unknown;
}
export interface InvocationEvent {
  item_id: number;
  session_id: string;
  batch_id: string;
  invocation: NodeDump;
  invocation_source_id: string;
  result?: Record<string, unknown>;
  error_type?: string;
  error_message?: string;
}
export interface StatusEvent {
  item_id: number;
  status: string;
  status_sequence: number | null;
  session_id: string;
  batch_id: string;
  error_type: string | null;
  error_message: string | null;
  user_id: string;
}
export interface ImageDTO {
  image_name: string;
  session_id: string | null;
  node_id: string | null;
  board_id: string | null;
  is_intermediate: boolean;
  width: number;
  height: number;
  image_url: string;
  created_at: string;
  starred: boolean;
}
export interface Session {
  id: string;
  graph: { nodes: Record<string, NodeDump>; edges: unknown[] };
  execution_graph: { nodes: Record<string, NodeDump>; edges: { source: { node_id: string }; destination: { node_id: string } }[] };
  results: Record<string, Record<string, unknown>>;
  errors: Record<string, string>;
  executed: string[];
  prepared_source_mapping: Record<string, string>;
  source_prepared_mapping: Record<string, string[]>;
  prepared_iteration_paths?: Record<string, number[]>;
}
export interface QueueItem {
  item_id: number;
  status: string;
  status_sequence?: number;
  session_id: string;
  batch_id: string;
  error_type?: string;
  field_values?: unknown[];
  retried_from_item_id?: number;
  session: Session;
  [k: string]: unknown;
}
export interface EnqueueResult {
  item_ids: number[];
  enqueued: number;
  requested: number;
  batch: { batch_id: string };
}

/** Image names a graph refers to as inputs (they must exist before it can run). */
export function inputImageNames(graph: { nodes: Record<string, Record<string, unknown>> }): string[] {
  const names = new Set<string>();
  for (const n of Object.values(graph.nodes))
    for (const [k, v] of Object.entries(n)) {
      if (k === 'metadata') continue;
      if (typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)['image_name'] === 'string')
        names.add((v as Record<string, string>)['image_name'] as string);
    }
  return [...names];
}

/** Top-level image names of an output, docs/protocol.md §4.1's rule. */
export function resultImageNames(result: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  const isRef = (v: unknown): v is { image_name: string } =>
    typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)['image_name'] === 'string';
  for (const v of Object.values(result ?? {})) {
    if (isRef(v)) out.push(v.image_name);
    else if (Array.isArray(v)) for (const x of v) if (isRef(x)) out.push(x.image_name);
  }
  return out;
}
