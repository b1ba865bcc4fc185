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

type Session = Record<string, unknown>;

/** Changes the session of every queue item in an answer (one item, a list of them, or a list page). */
function eachSession(body: unknown, change: (s: Session) => void): unknown {
  const one = (item: unknown): void => {
    const session = (item as { session?: Session } | null)?.session;
    if (session && typeof session === 'object') change(session);
  };
  if (Array.isArray(body)) body.forEach(one);
  else if (body && typeof body === 'object' && Array.isArray((body as { items?: unknown }).items)) (body as { items: unknown[] }).items.forEach(one);
  else one(body);
  return body;
}

/** `session.results` emptied in a queue item answer: a server that kept none. */
export const withoutResults = (body: unknown): unknown => eachSession(body, (s) => (s.results = {}));

/** `session.executed` and `executed_history` emptied too: only the execution graph says what ran. */
export const withoutExecuted = (body: unknown): unknown =>
  eachSession(body, (s) => {
    s.executed = [];
    s.executed_history = [];
  });

/** Queue item reads of any generation: one item, `items_by_ids`, or a list page. */
export const isQueueItemRead = (method: string, path: string): boolean =>
  (method === 'GET' && /\/queue\/[^/]+\/i\/\d+$/.test(path)) || (method === 'POST' && /\/queue\/[^/]+\/items_by_ids$/.test(path)) || (method === 'GET' && /\/queue\/[^/]+\/list$/.test(path));

/** A proxy rewrite hook that changes queue item answers only. */
export const onQueueItems =
  (change: (body: unknown) => unknown) =>
  (req: { method: string; path: string }, body: unknown): unknown =>
    isQueueItemRead(req.method, req.path) ? change(body) : body;

/** The session as it was enqueued: a server that never wrote the run back (no execution graph, mapping or results). */
export const asEnqueued = (body: unknown): unknown =>
  eachSession(body, (s) => {
    s.execution_graph = { id: 'x', nodes: {}, edges: [] };
    for (const k of ['results', 'prepared_source_mapping', 'source_prepared_mapping']) s[k] = {};
    s.executed = [];
    s.executed_history = [];
  });
