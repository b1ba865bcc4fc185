/*
 * npm run soak [-- --events N]: pushes N (default 1 000 000) socket events through the embedded simulator to a
 * `watch` child process and prints what was lost, what was reported twice, and the watcher's RSS at 10 % and at
 * 100 % of the events. Loopback only; every loop is bounded by the event target and a wall-clock limit.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { io } from 'socket.io-client';
import { startSimulator } from '../src/simulator';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const TARGET = arg('--events', 1_000_000);
const LIMIT_MS = arg('--limit-s', 1800) * 1000;
const FAN_OUT = 16; // images per item: range → iterate → blank_image

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function graph(): Record<string, unknown> {
  const link = (s: string, sf: string, d: string, df: string) => ({ source: { node_id: s, field: sf }, destination: { node_id: d, field: df } });
  return {
    id: 'soak',
    nodes: {
      sizes: { id: 'sizes', type: 'range', start: 8, stop: 8 + 8 * FAN_OUT, step: 8, is_intermediate: true, use_cache: false },
      each: { id: 'each', type: 'iterate', is_intermediate: true, use_cache: false },
      tile: { id: 'tile', type: 'blank_image', height: 8, mode: 'RGB', is_intermediate: false, use_cache: false },
    },
    edges: [link('sizes', 'collection', 'each', 'collection'), link('each', 'item', 'tile', 'width')],
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const sim = await startSimulator({ nodeDelayMs: 0, progressSteps: 0 });
  const events = { n: 0 };
  // A bare client counts what the server emitted, independently of the watcher.
  const counter = io(`http://127.0.0.1:${sim.port}`, { path: '/ws/socket.io', transports: ['websocket'] });
  counter.onAny(() => (events.n += 1));
  await new Promise<void>((r) => counter.on('connect', () => r()));
  await counter.emitWithAck('subscribe_queue', { queue_id: 'default' });

  const child = spawn(process.execPath, [join(__dirname, '../dist/cli.js'), 'watch', '--url', sim.url, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const items = new Map<number, number>();
  const toDelete: number[] = [];
  const images = new Map<string, number>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const r = JSON.parse(line) as { type: string; item_id: number; image_name?: string };
    if (r.type === 'item') {
      items.set(r.item_id, (items.get(r.item_id) ?? 0) + 1);
      toDelete.push(r.item_id);
    }
    else if (r.image_name) images.set(r.image_name, (images.get(r.image_name) ?? 0) + 1);
  });
  await new Promise((r) => setTimeout(r, 1000));

  let enqueued = 0;
  let rssAt10: number | null = null;
  const post = (body: unknown) =>
    fetch(`${sim.url}/api/v1/queue/default/enqueue_batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  while (events.n < TARGET && Date.now() - started < LIMIT_MS) {
    // Keep the queue short: the simulator holds every item in memory, and so would a real server.
    if (enqueued - items.size < 20) {
      const r = await post({ batch: { graph: graph(), runs: 10 } });
      enqueued += ((await r.json()) as { enqueued: number }).enqueued;
    } else await new Promise((r) => setTimeout(r, 5));
    if (rssAt10 === null && events.n >= TARGET / 10) rssAt10 = rssMb(child.pid!);
    // Items already reported are deleted, as a server's own pruning would (never one the watcher still reads).
    for (let id = toDelete.pop(); id !== undefined; id = toDelete.pop()) {
      await fetch(`${sim.url}/api/v1/queue/default/i/${id}`, { method: 'DELETE' });
    }
  }
  const rssAtEnd = rssMb(child.pid!);
  const settleUntil = Date.now() + 30_000;
  while (items.size < enqueued && Date.now() < settleUntil) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  counter.close();
  const madeImages = sim.store.imageCount;
  await sim.close();

  const duplicatedItems = [...items.values()].filter((n) => n > 1).length;
  const duplicatedImages = [...images.values()].filter((n) => n > 1).length;
  const result = {
    events: events.n,
    items_enqueued: enqueued,
    items_reported: items.size,
    items_lost: enqueued - items.size,
    items_duplicated: duplicatedItems,
    images_made: madeImages,
    images_reported: images.size,
    images_lost: madeImages - images.size,
    images_duplicated: duplicatedImages,
    rss_mb_at_10pct: Number(rssAt10?.toFixed(1)),
    rss_mb_at_end: Number(rssAtEnd.toFixed(1)),
    seconds: Math.round((Date.now() - started) / 1000),
  };
  process.stderr.write(
    `soak: ${result.events} events, ${enqueued} items, ${madeImages} images in ${result.seconds} s\n` +
      `  lost: ${result.items_lost} items, ${result.images_lost} images; duplicated: ${duplicatedItems} items, ${duplicatedImages} images\n` +
      `  watcher RSS: ${result.rss_mb_at_10pct} MB at ${TARGET / 10} events, ${result.rss_mb_at_end} MB at ${result.events}\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.items_lost || result.images_lost || duplicatedItems || duplicatedImages ? 1 : 0;
}

void main();
