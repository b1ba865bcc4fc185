/* What every scenario shares: the synthetic fleet in a child process, a watcher child reading its records. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordTime, RunResult, RunSpec } from './fakeServer';
import { Child, tsChild, waitFor, watchChild, type Line } from './proc';

export interface Row {
  metric: string;
  value: string | number;
  target?: string;
  note?: string;
}

export interface BenchContext {
  quick: boolean;
  /** Progress line on stderr. */
  say(msg: string): void;
}

export interface ScenarioResult {
  keys: Record<string, number>;
  rows: Row[];
}

export interface FleetStats {
  requests: Record<string, number>;
  bytesOut: number;
  subscribes: number;
  subscribeTimes: number[];
}

/** The synthetic servers, in their own process. */
export class FleetChild {
  private constructor(
    readonly child: Child,
    readonly ports: number[],
    readonly sizes: Record<string, number>,
  ) {}

  static async start(servers: number): Promise<FleetChild> {
    const child = tsChild('servers', 'serverMain.ts');
    await child.ready;
    const r = await child.request<{ ports: number[]; sizes: Record<string, number> }>('start', { servers });
    return new FleetChild(child, r.ports, r.sizes);
  }

  get urls(): string[] {
    return this.ports.map((p) => `http://127.0.0.1:${p}`);
  }

  run(spec: RunSpec): Promise<RunResult> {
    return this.child.request('run', { spec });
  }
  stopRun(): Promise<void> {
    return this.child.request('stopRun');
  }
  drained(ms: number): Promise<boolean> {
    return this.child.request('drained', { ms });
  }
  times(): Promise<RecordTime[]> {
    return this.child.request('times');
  }
  stats(): Promise<FleetStats> {
    return this.child.request('stats');
  }
  async close(): Promise<void> {
    await this.child.request('close').catch(() => undefined);
    await this.child.stop(2000);
  }
}

export interface OutRecord {
  type: 'image' | 'item';
  server: string;
  item_id: number;
  image_name?: string;
  complete?: boolean;
  status?: string;
}

/** The CLI watcher, its stdout records counted (and optionally kept) as they arrive. */
export class WatchChild {
  readonly child: Child;
  images = 0;
  items = 0;
  incomplete = 0;
  readonly lines: Line[] = [];

  constructor(
    urls: string[],
    opts: { cli?: string; keep?: boolean; node?: string[]; args?: string[]; onRecord?: (r: OutRecord, line: Line) => void; onLine?: (line: Line) => void } = {},
  ) {
    // The probe (probe.js) answers IPC requests: memory after GC, CPU profile of a window.
    this.child = watchChild(urls, {
      node: ['-r', join(__dirname, 'probe.js'), '--expose-gc', ...(opts.node ?? [])],
      ipc: true,
      ...(opts.args ? { args: opts.args } : {}),
      ...(opts.cli ? { cli: opts.cli } : {}),
      onLine: (line) => {
        if (opts.keep) this.lines.push(line);
        // Counting needs no parse: records are {"type":"image",… or {"type":"item",…
        if (line.text.startsWith('{"type":"image"')) this.images += 1;
        else if (line.text.startsWith('{"type":"item"')) {
          this.items += 1;
          if (line.text.includes('"complete":false')) this.incomplete += 1;
        }
        if (opts.onRecord) opts.onRecord(JSON.parse(line.text) as OutRecord, line);
        opts.onLine?.(line);
      },
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  waitItems(n: number, ms: number): Promise<void> {
    return waitFor(() => this.items >= n, ms, `${n} item records (have ${this.items}); watcher stderr: ${this.child.stderrTail(500)}`);
  }

  stop(): Promise<number | null> {
    return this.child.stop();
  }

  /** Memory before and after a full GC, bytes (process.memoryUsage()). */
  mem(): Promise<{ before: NodeJS.MemoryUsage; after: NodeJS.MemoryUsage }> {
    return this.child.request('mem');
  }

  /** Starts time-stamping the watcher's stdout writes (inside it). */
  stampStart(): Promise<void> {
    return this.child.request('stampStart');
  }

  /** Stops stamping: [time written, head of the line] per write. */
  stampStop(): Promise<[number, string][]> {
    return this.child.request('stampStop');
  }

  /** Starts time-stamping the records the watcher's sinks see acknowledged (inside it). */
  ackStart(): Promise<void> {
    return this.child.request('ackStart');
  }

  /** Acknowledgements stamped so far. */
  ackCount(): Promise<number> {
    return this.child.request('ackCount');
  }

  /** Stops: [time acknowledged, sink name, head of the line] per record and sink. */
  ackStop(): Promise<[number, string, string][]> {
    return this.child.request('ackStop');
  }

  /** BENCH_PROFILE=<dir>: starts a CPU profile of the window that {@link profileStop} ends. */
  async profileStart(): Promise<void> {
    if (process.env['BENCH_PROFILE']) await this.child.request('profStart');
  }

  async profileStop(name: string): Promise<string | null> {
    const dir = process.env['BENCH_PROFILE'];
    if (!dir) return null;
    mkdirSync(dir, { recursive: true });
    return this.child.request('profStop', { file: join(dir, `${name}.cpuprofile`) });
  }
}

/** Waits until the fleet has seen `n` subscriptions and the watcher has finished its first reconciliation. */
export async function connected(fleet: FleetChild, subscribes: number, itemIdsCalls: number, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await fleet.stats();
    if (s.subscribes >= subscribes && (s.requests['item_ids'] ?? 0) >= itemIdsCalls) return;
    if (Date.now() > end) throw new Error(`clients did not connect within ${ms} ms (${JSON.stringify(s.requests)}, ${s.subscribes} subscribes)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
