/*
 * P2: latency from the server's emit to the NDJSON line written, at 2 000 events/s. The synthetic server keeps the
 * emit time of each record-making event (the image's `invocation_complete`, the item's terminal status) as a side
 * channel; the watcher's stdout writes are time-stamped inside it (probe.js), and also on arrival at the reader.
 * Clocks: `performance.timeOrigin + performance.now()` in every process.
 */
import { FleetChild, WatchChild, connected, type BenchContext, type ScenarioResult } from './common';
import { percentile, round } from './proc';

interface Sample {
  key: string;
  t: number;
}

export const HEAD = /^\{"type":"(image|item)",(?:"record_id":"[^"]*",)?"server":"[^"]*","queue_id":"[^"]*","item_id":(\d+)/;

export async function p2Latency(ctx: BenchContext): Promise<ScenarioResult> {
  const rate = 2000;
  const events = ctx.quick ? 2000 : 30000;
  const fleet = await FleetChild.start(1);
  const received: Sample[] = [];
  let recording = false;
  const watch = new WatchChild(fleet.urls, {
    onLine: (line) => {
      if (!recording) return;
      const m = HEAD.exec(line.text);
      if (m) received.push({ key: `${m[1]}:${m[2]}`, t: line.t });
    },
  });
  try {
    await connected(fleet, 1, 1);
    ctx.say('p2: warm-up');
    let items = (await fleet.run({ rate, events: ctx.quick ? 800 : 4000 })).items;
    await watch.waitItems(items, 30000);
    await fleet.times();
    recording = true;
    await watch.stampStart();
    ctx.say(`p2: ${events} events at ${rate}/s`);
    const r = await fleet.run({ rate, events, recordTimes: true });
    items += r.items;
    await watch.waitItems(items, 30000);
    const written = (await watch.stampStop()).flatMap(([t, head]) => {
      const m = HEAD.exec(head);
      return m ? [{ key: `${m[1]}:${m[2]}`, t }] : [];
    });
    recording = false;
    const times = await fleet.times();
    const emitted = new Map(times.filter((x) => x.kind === 'image' || x.kind === 'item').map((x) => [`${x.kind}:${x.item}`, x.t]));
    // Breakdown: emit → the watcher's GET reaches the server (socket delivery, parse, pipeline, request), and the rest.
    const gets = new Map(times.filter((x) => x.kind === 'dto' || x.kind === 'queue_item').map((x) => [`${x.kind === 'dto' ? 'image' : 'item'}:${x.item}`, x.t]));
    const toGet = [...gets].flatMap(([k, t]) => (emitted.has(k) ? [t - emitted.get(k)!] : [])).sort((a, b) => a - b);
    const writtenAt = new Map<string, number>();
    const lat = (samples: Sample[], kind?: string): number[] =>
      samples
        .filter((s) => !kind || s.key.startsWith(kind))
        .flatMap((s) => {
          const e = emitted.get(s.key);
          return e === undefined ? [] : [s.t - e];
        })
        .sort((a, b) => a - b);
    for (const w of written) writtenAt.set(w.key, w.t);
    const fromGet = [...gets].flatMap(([k, t]) => (writtenAt.has(k) ? [writtenAt.get(k)! - t] : [])).sort((a, b) => a - b);
    const all = lat(written);
    const img = lat(written, 'image');
    const itm = lat(written, 'item');
    const rec = lat(received);
    const fmt = (xs: number[]): string => `p50 ${round(percentile(xs, 50), 3)} / p99 ${round(percentile(xs, 99), 3)} / max ${round(xs[xs.length - 1] ?? NaN, 2)} ms (n=${xs.length})`;
    const p99 = (xs: number[]): string => `${round(percentile(xs, 99), 3)} ms`;
    return {
      keys: { p2_p99_ms: round(percentile(all, 99), 3), p2_p50_ms: round(percentile(all, 50), 3) },
      rows: [
        { metric: 'p2 emit → line written, p99', value: `${round(percentile(all, 99), 3)} ms`, target: '≤ 2 ms', note: fmt(all) },
        { metric: 'p2 emit → line written, p50', value: `${round(percentile(all, 50), 3)} ms` },
        { metric: 'p2   image records (socket + 1 DTO GET), p99', value: p99(img), note: fmt(img) },
        { metric: 'p2   item records (socket + 1 queue item GET), p99', value: p99(itm), note: fmt(itm) },
        { metric: 'p2   emit → the GET reaches the server, p99', value: p99(toGet), note: fmt(toGet) },
        { metric: 'p2   GET at the server → line written, p99', value: p99(fromGet), note: fmt(fromGet) },
        { metric: 'p2 emit → line read by the bench, p99', value: p99(rec), note: fmt(rec) },
        { metric: 'p2 stream', value: `${rate} ev/s`, note: `${r.emitted} events in ${round(r.ms / 1000, 1)} s, ${r.items} items` },
      ],
    };
  } finally {
    await watch.stop();
    await fleet.close();
  }
}
