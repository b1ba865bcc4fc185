import { firstValueFrom, filter, scan, timeout, type Observable } from 'rxjs';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator';
import { MemoryLogger } from '../../src/log';
import { readFixture } from './fixtures';
import type { ImageRecord, ItemRecord, OutputRecord } from '../../src/records';
import { watchOutputs, type WatchOptions, type Watcher } from '../../src/watch/watcher';

/** Closes everything a test opened, in reverse order, even when the test failed. */
export class Teardown {
  private readonly steps: (() => unknown)[] = [];
  add<T>(thing: T, close: (t: T) => unknown): T {
    this.steps.push(() => close(thing));
    return thing;
  }
  async run(): Promise<void> {
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        await step();
      } catch {
        /* teardown goes on */
      }
    }
  }
}

export async function simulator(td: Teardown, opts: SimulatorOptions = {}): Promise<Simulator> {
  return td.add(await startSimulator({ nodeDelayMs: 1, ...opts }), (s) => s.close());
}

export interface Watched {
  watcher: Watcher;
  log: MemoryLogger;
  records: OutputRecord[];
  images(): ImageRecord[];
  items(): ItemRecord[];
  /** Resolves once `n` item records were seen in total. */
  items$(n: number, ms?: number): Promise<ItemRecord[]>;
  connected: Promise<void>;
}

export function watch(td: Teardown, opts: WatchOptions): Watched {
  const log = new MemoryLogger();
  const watcher = td.add(watchOutputs({ logger: log, backoff: { min: 50, max: 200 }, drainTimeoutMs: 2000, ...opts }), (w) => w.close());
  const records: OutputRecord[] = [];
  watcher.records$.subscribe((r) => records.push(r));
  const connected = new Promise<void>((resolve) => watcher.once('connected', () => resolve()));
  return {
    watcher,
    log,
    records,
    connected,
    images: () => records.filter((r): r is ImageRecord => r.type === 'image'),
    items: () => records.filter((r): r is ItemRecord => r.type === 'item'),
    items$: (n, ms = 10000) => untilCount(watcher.items$, records, n, ms),
  };
}

function untilCount(items$: Observable<ItemRecord>, records: OutputRecord[], n: number, ms: number): Promise<ItemRecord[]> {
  const have = records.filter((r): r is ItemRecord => r.type === 'item');
  if (have.length >= n) return Promise.resolve(have);
  return firstValueFrom(
    items$.pipe(
      scan((acc, r) => [...acc, r], have),
      filter((acc) => acc.length >= n),
      timeout({ first: ms, with: () => { throw new Error(`timed out waiting for ${n} item records; got ${records.filter((r) => r.type === 'item').length}`); } }),
    ),
  );
}

export interface EnqueueResult {
  item_ids: number[];
  enqueued: number;
  batch: { batch_id: string };
}

export async function api<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

export function enqueue(sim: Simulator, graph: unknown, extra: Record<string, unknown> = {}): Promise<EnqueueResult> {
  return api<EnqueueResult>(sim.url, 'POST', '/queue/default/enqueue_batch', { batch: { graph, runs: 1, ...extra } });
}

export async function createBoard(sim: Simulator, name: string): Promise<string> {
  return (await api<{ board_id: string }>(sim.url, 'POST', `/boards/?board_name=${encodeURIComponent(name)}`)).board_id;
}

/** `session.graph` of a real captured queue item: what the editor enqueued for a real workflow. */
export function capturedGraph(name: 'sdxl-text-to-image' | 'flux-image-to-image' | 'sdxl-flux-refine'): Record<string, unknown> {
  const item = readFixture<{ session: { graph: Record<string, unknown> } }>(`api-calls/call-wf-${name}.json`);
  return item.session.graph;
}

/** Non-intermediate images the server holds for a session, oldest first. */
export function sessionImages(sim: Simulator, sessionId: string): string[] {
  return sim.store.imageNames().filter((n) => {
    const dto = sim.store.getImage(n);
    return dto?.session_id === sessionId && !dto.is_intermediate;
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
