import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Simulator } from '../../src/simulator';
import type { Teardown } from '../support/harness';

/** Polls `test` every 10 ms until it holds; fails with `what` after `ms`. */
export async function until(test: () => boolean, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A fresh directory removed at teardown; `file` is a path inside it. */
export function tempDir(td: Teardown, prefix = 'ioo-core-'): { dir: string; file: (name: string) => string } {
  const dir = td.add(mkdtempSync(join(tmpdir(), prefix)), (d) => rmSync(d, { recursive: true, force: true }));
  return { dir, file: (name) => join(dir, name) };
}

/** Status of a queue item as the simulator holds it. */
export function statusOf(sim: Simulator, itemId: number): string | undefined {
  return sim.store.getQueueItem(itemId)?.['status'] as string | undefined;
}

/** An item's queue row reached a terminal status. */
export const isTerminal = (s: string | undefined): boolean => s === 'completed' || s === 'failed' || s === 'canceled';

/** `session.results` emptied in a queue item answer (one item, a list of them, or a list page): a server that kept none. */
export function withoutResults(body: unknown): unknown {
  const strip = (item: unknown): void => {
    const session = (item as { session?: { results?: unknown } } | null)?.session;
    if (session && typeof session === 'object') session.results = {};
  };
  if (Array.isArray(body)) body.forEach(strip);
  else if (body && typeof body === 'object' && Array.isArray((body as { items?: unknown }).items)) (body as { items: unknown[] }).items.forEach(strip);
  else strip(body);
  return body;
}

/** Queue item reads of any generation: one item, `items_by_ids`, or a list page. */
export const isQueueItemRead = (method: string, path: string): boolean =>
  (method === 'GET' && /\/queue\/[^/]+\/i\/\d+$/.test(path)) || (method === 'POST' && /\/queue\/[^/]+\/items_by_ids$/.test(path)) || (method === 'GET' && /\/queue\/[^/]+\/list$/.test(path));
