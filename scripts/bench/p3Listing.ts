/*
 * P3: what the board-listing fallback rung costs, against the seed's approach (a full
 * `GET /boards/{id}/image_names` before and after the run, diffed). One item on the embedded simulator whose node
 * saves an image without returning it (HIDDEN_SAVE_TYPE), so only a board listing can find it, on boards of
 * growing size. Our bytes/requests come from the watcher's own HTTP accounting (debug lines of InvokeHttp).
 */
import { firstValueFrom, filter, timeout } from 'rxjs';
import { MemoryLogger } from '../../src/log';
import type { ItemRecord } from '../../src/records';
import { HIDDEN_SAVE_TYPE, startSimulator } from '../../src/simulator';
import { watchOutputs } from '../../src/watch/watcher';
import type { BenchContext, Row, ScenarioResult } from './common';
import { round } from './proc';

const LINE = /^(GET|POST|PUT|PATCH|DELETE) (\S+) → (\d+) \((\d+) B\)$/;

async function getBytes(url: string): Promise<{ bytes: number; names: string[] }> {
  const res = await fetch(url);
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return { bytes: Buffer.byteLength(text), names: JSON.parse(text) as string[] };
}

interface SizeResult {
  size: number;
  seedBytes: number;
  seedFound: boolean;
  ourBytes: number;
  ourRequests: number;
  itemBytes: number;
  itemRequests: number;
  complete: boolean;
}

async function once(size: number): Promise<SizeResult> {
  const sim = await startSimulator({ nodeDelayMs: 1 });
  const log = new MemoryLogger();
  const watcher = watchOutputs({ url: sim.url, logger: log, backoff: { min: 50, max: 200 } });
  try {
    const board = sim.createBoard(`bench-${size}`).board_id;
    sim.seedImages(board, size);
    const namesUrl = `${sim.url}/api/v1/boards/${board}/image_names`;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('p3: the watcher did not connect')), 15000);
      watcher.once('connected', () => {
        clearTimeout(t);
        resolve();
      });
    });
    const item$ = firstValueFrom(watcher.items$.pipe(filter((i): i is ItemRecord => i.type === 'item'), timeout(30000)));
    // Let the first reconciliation finish before counting.
    await new Promise((r) => setTimeout(r, 300));
    const http = watcher.serverWatches[0]!.conn.http.stats;
    const start = { requests: http.requests, bytes: http.bytes, lines: log.lines.length };
    const before = await getBytes(namesUrl);
    const res = await fetch(`${sim.url}/api/v1/queue/default/enqueue_batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: { graph: { id: 'g', nodes: { hidden: { id: 'hidden', type: HIDDEN_SAVE_TYPE, board: { board_id: board }, is_intermediate: false, use_cache: false } }, edges: [] }, runs: 1 },
      }),
    });
    if (!res.ok) throw new Error(`enqueue: HTTP ${res.status} ${await res.text()}`);
    const item = await item$;
    const after = await getBytes(namesUrl);
    const seen = new Set(before.names);
    const added = after.names.filter((n) => !seen.has(n));
    const listing = log.lines
      .slice(start.lines)
      .filter((l) => l.level === 'debug')
      .flatMap((l) => {
        const m = LINE.exec(l.msg);
        return m && m[2] === '/images/' ? [Number(m[4])] : [];
      });
    return {
      size,
      seedBytes: before.bytes + after.bytes,
      seedFound: item.new_images.length === 1 && added.length === 1 && added[0] === item.new_images[0],
      ourBytes: listing.reduce((a, b) => a + b, 0),
      ourRequests: listing.length,
      itemBytes: http.bytes - start.bytes,
      itemRequests: http.requests - start.requests,
      complete: item.complete && item.via.includes('board_diff'),
    };
  } finally {
    await watcher.close();
    await sim.close();
  }
}

export async function p3Listing(ctx: BenchContext): Promise<ScenarioResult> {
  const sizes = ctx.quick ? [1000, 10000] : [1000, 10000, 100000];
  const results: SizeResult[] = [];
  for (const size of sizes) {
    ctx.say(`p3: board of ${size} images`);
    results.push(await once(size));
  }
  const largest = results[results.length - 1]!;
  const rows: Row[] = results.map((r) => ({
    metric: `p3 board of ${r.size.toLocaleString('en')} images: seed diff / listing rung bytes`,
    value: round(r.seedBytes / r.ourBytes, 1),
    ...(r.size === 100000 ? { target: '≥ 100' } : {}),
    note: `seed ${r.seedBytes} B (2 full image_names); ours ${r.ourBytes} B in ${r.ourRequests} req; whole item ${r.itemBytes} B in ${r.itemRequests} req; found: ${r.complete && r.seedFound ? 'both' : `ours ${r.complete}, seed ${r.seedFound}`}`,
  }));
  rows.push({
    metric: 'p3 listing requests per item',
    value: results.map((r) => r.ourRequests).join(' / '),
    target: 'independent of size',
    note: `boards of ${sizes.join(' / ')}`,
  });
  return {
    keys: { p3_bytes_ratio: round(largest.seedBytes / largest.ourBytes, 1), p3_requests: largest.ourRequests },
    rows,
  };
}
