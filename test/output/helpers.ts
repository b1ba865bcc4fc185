import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordId, type ImageRecord, type ItemRecord } from '../../src/records';

export interface TestServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** A node:http server on 127.0.0.1 (port 0 unless given) that hands each request its whole body. */
export async function listen(handler: Handler, port = 0): Promise<TestServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** A loopback port with nothing listening on it (connection refused), until someone listens there. */
export async function freePort(): Promise<number> {
  const s = await listen(() => undefined);
  await s.close();
  return s.port;
}

/** Closes everything registered during a test, newest first. */
export class Teardown {
  private readonly jobs: (() => Promise<unknown>)[] = [];
  add<T>(thing: T, close: (t: T) => Promise<unknown>): T {
    this.jobs.push(() => close(thing));
    return thing;
  }
  async run(): Promise<void> {
    while (this.jobs.length) await this.jobs.pop()?.().catch(() => undefined);
  }
}

export async function tempDir(teardown: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'invokeai-outputs-test-'));
  teardown.add(dir, (d) => rm(d, { recursive: true, force: true }));
  return dir;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `cond()` holds (or fails the test after `ms`). */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function imageRecord(over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    type: 'image',
    record_id: recordId('http://127.0.0.1:9090', over.session_id ?? 's1', 'default', over.item_id ?? 1, over.image_name ?? 'e007a5d1.png'),
    server: 'http://127.0.0.1:9090',
    queue_id: 'default',
    item_id: 1,
    batch_id: 'b1',
    session_id: 's1',
    node_id: 'n1',
    prepared_node_id: 'p1',
    node_type: 'save_image',
    image_name: 'e007a5d1.png',
    board_id: 'a17c2b12',
    requested_board_id: 'a17c2b12',
    is_intermediate: false,
    width: 64,
    height: 64,
    image_url: null,
    cached: false,
    root_item_id: 1,
    via: 'socket',
    ts: '2026-11-27T10:00:00.000Z',
    ...over,
  };
}

export function itemRecord(itemId: number, over: Partial<ItemRecord> = {}): ItemRecord {
  return {
    type: 'item',
    record_id: recordId('http://127.0.0.1:9090', `s${itemId}`, 'default', itemId),
    server: 'http://127.0.0.1:9090',
    queue_id: 'default',
    item_id: itemId,
    batch_id: 'b1',
    session_id: `s${itemId}`,
    root_item_id: itemId,
    status: 'completed',
    error_type: null,
    error_message: null,
    cancel_reason: null,
    nodes: {},
    new_images: [],
    boards: {},
    via: [],
    complete: true,
    ts: '2026-11-27T10:00:00.000Z',
    ...over,
  };
}
