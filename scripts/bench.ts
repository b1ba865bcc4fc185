/*
 * `npm run bench` (build first): performance of the watcher against synthetic InvokeAI servers on loopback.
 * A table goes to stderr; the last stdout line is one JSON object with every key below (null when its scenario
 * failed, and the exit code is then 1). Ratios are measured against a baseline within the same run.
 *
 *   p1_cpu_ratio      CPU per invocation_complete: watcher ÷ bare socket.io client, same stream   (target ≤ 1.2)
 *   p1_cpu_ratio_with_progress   the same on a stream with 30 preview-carrying progress steps per item
 *   p2_p99_ms/p50_ms  server emit → NDJSON line written, at 2 000 events/s                      (p99 ≤ 2 ms)
 *   p3_bytes_ratio    seed's before/after image_names diff ÷ our listing rung, board of 100 000   (≥ 100)
 *   p3_requests       our listing requests for that item                                         (size-independent)
 *   p4_rss_growth_mb  watcher RSS after 1 000 000 events − after 100 000                         (< 10)
 *   p5_recovery_ms    reconnect → last record of the items finished during a 10 s outage         (≤ 2000)
 *   p6_cpu_pct        one daemon watching 50 servers × 100 events/s: % of one core               (< 50)
 *   p7_*_p99_ms       server emit → stdout line / JetStream PubAck / Redis reply, 2 000 events/s, one run
 *   p7_*_records_per_s   records per second through the NATS and Redis sinks (one in flight, in order)
 *
 * Flags: --quick (small counts, under 30 s), --only p1,p4 (a subset; the other keys are null).
 * BENCH_PROFILE=<dir>: CPU profile of the watcher during p1's first measured round (see scripts/bench/profile.ts).
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { BenchContext, Row, ScenarioResult } from './bench/common';
import { p1Cpu } from './bench/p1Cpu';
import { p2Latency } from './bench/p2Latency';
import { p3Listing } from './bench/p3Listing';
import { p4Memory } from './bench/p4Memory';
import { p5Recovery } from './bench/p5Recovery';
import { p6Fleet } from './bench/p6Fleet';
import { p7Sinks } from './bench/p7Sinks';
import { CLI, killAll, now, oneLine, onUnexpectedExit, round } from './bench/proc';

const KEYS = ['p1_cpu_ratio', 'p1_cpu_ratio_with_progress', 'p2_p99_ms', 'p2_p50_ms', 'p3_bytes_ratio', 'p3_requests', 'p4_rss_growth_mb', 'p5_recovery_ms', 'p6_cpu_pct',
  'p7_stdout_p99_ms', 'p7_nats_p99_ms', 'p7_redis_p99_ms', 'p7_nats_records_per_s', 'p7_redis_records_per_s'] as const;

const SCENARIOS: [name: string, run: (ctx: BenchContext) => Promise<ScenarioResult>][] = [
  ['p1', p1Cpu],
  ['p2', p2Latency],
  ['p3', p3Listing],
  ['p4', p4Memory],
  ['p5', p5Recovery],
  ['p6', p6Fleet],
  ['p7', p7Sinks],
];

function table(rows: Row[]): string {
  const head: Row = { metric: 'metric', value: 'value', target: 'target', note: 'details' };
  const all = [head, ...rows];
  const w = (f: (r: Row) => string): number => Math.max(...all.map((r) => f(r).length));
  const cols: ((r: Row) => string)[] = [(r) => r.metric, (r) => String(r.value), (r) => r.target ?? '', (r) => r.note ?? ''];
  const widths = cols.slice(0, 3).map(w);
  const line = (r: Row): string =>
    cols
      .map((f, i) => (i < 3 ? f(r).padEnd(widths[i]!) : f(r)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((n) => '-'.repeat(n)).join('  ') + '  -------', ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const onlyArg = argv.indexOf('--only');
  const only = onlyArg >= 0 ? new Set((argv[onlyArg + 1] ?? '').split(',')) : null;
  if (!existsSync(CLI)) {
    process.stderr.write(`bench: ${CLI} is missing: run \`npm run build\` first\n`);
    return 2;
  }
  const started = now();
  const say = (msg: string): void => void process.stderr.write(`[bench ${((now() - started) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
  const ctx: BenchContext = { quick, say };
  const keys: Record<string, number | null> = Object.fromEntries(KEYS.map((k) => [k, null]));
  const rows: Row[] = [];
  const load0 = loadavg()[0]!;
  let failed = false;
  say(`${quick ? 'quick' : 'full'} run; node ${process.version}, ${cpus().length} cores, load average ${round(load0, 2)}`);
  let current = 'start-up';
  let finished = false;
  // Nothing pending keeps the loop alive when a scenario awaits a child that died: say so, never exit 0.
  process.on('beforeExit', () => {
    if (finished) return;
    process.stderr.write(`bench: ${current} stopped with work outstanding (a child died or never answered)\n`);
    process.exit(1);
  });
  const errors: string[] = [];
  for (const [name, run] of SCENARIOS) {
    if (only && !only.has(name)) continue;
    const t0 = now();
    current = name;
    try {
      const r = await guarded(name, () => run(ctx), quick ? 120_000 : 900_000);
      // A figure that could not be measured (no samples) is a failure, not a silent null.
      const bad = Object.entries(r.keys).filter(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
      if (bad.length) throw new Error(`no figure for ${bad.map(([k, v]) => `${k} (${String(v)})`).join(', ')}`);
      Object.assign(keys, r.keys);
      rows.push(...r.rows);
      say(`${name} done in ${((now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      failed = true;
      rows.push({ metric: `${name} FAILED`, value: '-', note: String((err as Error).stack ?? err).split('\n').slice(0, 3).join(' | ') });
      say(`${name} failed: ${(err as Error).message}`);
      errors.push(`${name}: ${oneLine((err as Error).message)}`);
      killAll();
    }
  }
  finished = true;
  rows.push({
    metric: 'machine',
    value: `${cpus().length} cores`,
    note: `load average ${round(load0, 2)} at start, ${round(loadavg()[0]!, 2)} at end; ${round((now() - started) / 1000, 1)} s in all${quick ? ' (--quick)' : ''}`,
  });
  process.stderr.write(`\n${table(rows)}\n\n`);
  process.stdout.write(`${JSON.stringify(keys)}\n`);
  if (errors.length) process.stderr.write(`bench: FAILED ${errors.join('; ')}\n`);
  return failed ? 1 : 0;
}

/** A scenario fails when it throws, when one of its children dies unasked, or when it runs past `ms`. */
function guarded<T>(name: string, run: () => Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} hung: no result after ${ms / 1000} s`)), ms);
    onUnexpectedExit((err) => reject(err));
    run().then(resolve, reject).finally(() => {
      clearTimeout(timer);
      onUnexpectedExit(() => undefined);
    });
  });
}

process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});
main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err: unknown) => {
    killAll();
    process.stderr.write(`bench: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
