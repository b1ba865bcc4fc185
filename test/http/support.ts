import { request, type IncomingHttpHeaders } from 'node:http';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startLiveServer, type LiveServer, type LiveServerOptions } from '../../src/sinks/http/server';
import { liveSourceOf } from '../../src/sinks/http/watcherSource';
import type { Simulator } from '../../src/simulator';
import { simulator, watch, type Teardown, type Watched } from '../support/harness';

export interface Live {
  sim: Simulator;
  w: Watched;
  server: LiveServer;
}

/** A simulator, a watcher on it and the live server over that watcher, in this process. */
export async function live(td: Teardown, opts: Partial<LiveServerOptions> = {}): Promise<Live> {
  const sim = await simulator(td);
  const w = watch(td, { url: sim.url });
  const server = td.add(await startLiveServer({ source: liveSourceOf(w.watcher), ...opts }), (s) => s.close());
  await w.connected;
  return { sim, w, server };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** One request with node:http (full control over headers, no cookie jar, no redirects followed). */
export function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface SseFrame {
  event: string;
  id: string;
  data: string;
}

/** An open `/events` stream, its frames parsed as the EventSource spec reads them (fields up to each blank line). */
export interface SseStream {
  frames: SseFrame[];
  status: Promise<number>;
  /** Resolves once `n` record frames arrived. */
  until(n: number, ms?: number): Promise<SseFrame[]>;
  close(): void;
}

export function sse(td: Teardown, url: string, headers: Record<string, string> = {}): SseStream {
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  let status!: (code: number) => void;
  const statusP = new Promise<number>((r) => (status = r));
  const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
    status(res.statusCode ?? 0);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const f: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          f[field] = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        }
        if (f['data'] !== undefined) frames.push({ event: f['event'] ?? 'message', id: f['id'] ?? '', data: f['data'] });
      }
      for (const w of waiters) w();
    });
  });
  req.on('error', () => undefined);
  req.end();
  const close = (): void => {
    req.destroy();
  };
  td.add(null, close);
  return {
    frames,
    status: statusP,
    close,
    until: (n, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (frames.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(frames.slice());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${n} SSE frames; got ${frames.length}`));
        }, ms);
        waiters.add(check);
        check();
      }),
  };
}

/** `/metrics` parsed by a Prometheus text-format parser. */
export async function scrape(base: string, headers: Record<string, string> = {}): Promise<ReturnType<typeof parsePrometheusTextFormat>> {
  const res = await get(`${base}/metrics`, headers);
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusTextFormat(res.text);
}

/** The value of one series (labels matched exactly); undefined when absent. */
export function sample(families: ReturnType<typeof parsePrometheusTextFormat>, name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = families.find((f) => f.name === name);
  const m = fam?.metrics.find((s) => JSON.stringify(Object.entries(s.labels ?? {}).sort()) === JSON.stringify(Object.entries(labels).sort()));
  return m?.value === undefined ? undefined : Number(m.value);
}

/** Polls `probe` until it returns true; throws after `ms`. */
export async function until(probe: () => Promise<boolean> | boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
