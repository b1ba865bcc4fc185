/*
 * P1: CPU per `invocation_complete` of the watcher vs a bare socket.io client, on the same event stream.
 * Both are connected to the same synthetic server at once, so each round's noise hits both; CPU from /proc.
 */
import { FleetChild, WatchChild, connected, type BenchContext, type ScenarioResult } from './common';
import { cpuSplitMs, median, round, tsChild } from './proc';

const PROGRESS_STEPS = 30;

export async function p1Cpu(ctx: BenchContext): Promise<ScenarioResult> {
  const rate = 2000;
  const rounds = ctx.quick ? 1 : 3;
  const eventsPerRound = ctx.quick ? 2000 : 12000;
  const fleet = await FleetChild.start(1);
  const url = fleet.urls[0]!;
  const watch = new WatchChild([url]);
  const bare = tsChild('bare', 'bareClient.ts', [url]);
  try {
    await connected(fleet, 2, 1);
    let completes = 0;
    const counts = async (): Promise<number> =>
      Object.values(await bare.request<Record<string, number>>('counts')).reduce((a, b) => a + b, 0);
    let sent = 0;
    let sentItems = 0;
    const runRound = async (events: number, progress = 0): Promise<{ completes: number; events: number }> => {
      const r = await fleet.run({ rate, events, progress });
      sent += r.emitted;
      sentItems += r.items;
      await watch.waitItems(sentItems, 30000);
      for (let i = 0; (await counts()) < sent; i++) {
        if (i > 3000) throw new Error('the bare client lost events');
        await new Promise((res) => setTimeout(res, 10));
      }
      return { completes: r.byName['invocation_complete'] ?? 0, events: r.emitted };
    };
    // Warm-up (JIT, connection pools), not measured.
    ctx.say(`p1: warm-up`);
    await runRound(ctx.quick ? 800 : 8000);
    const ratios: number[] = [];
    const perWatch: number[] = [];
    const perBare: number[] = [];
    const wSys: number[] = [];
    const bSys: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // BENCH_PROFILE_ROUND=n profiles round n instead of the first (warm JIT, steady state).
      const profiled = Number(process.env['BENCH_PROFILE_ROUND'] ?? 0);
      if (i === profiled) await watch.profileStart();
      const w0 = cpuSplitMs(watch.pid);
      const b0 = cpuSplitMs(bare.pid);
      const r = await runRound(eventsPerRound);
      const w1 = cpuSplitMs(watch.pid);
      const b1 = cpuSplitMs(bare.pid);
      const w = w1.user + w1.sys - w0.user - w0.sys;
      const b = b1.user + b1.sys - b0.user - b0.sys;
      wSys.push((w1.sys - w0.sys) / w);
      bSys.push((b1.sys - b0.sys) / b);
      if (i === profiled) {
        const f = await watch.profileStop('p1-watch');
        if (f) ctx.say(`p1: CPU profile of round ${i + 1} in ${f}`);
      }
      completes += r.completes;
      const wPer = (w * 1000) / r.completes;
      const bPer = (b * 1000) / r.completes;
      perWatch.push(wPer);
      perBare.push(bPer);
      ratios.push(wPer / bPer);
      ctx.say(`p1: round ${i + 1}/${rounds}: ${r.events} events, ${r.completes} invocation_complete; watch ${w} ms, bare ${b} ms CPU → ratio ${round(wPer / bPer)}`);
    }
    const ratio = median(ratios);
    // The same measure on a stream like a real server's: 30 denoise steps, each with its preview image. The
    // watcher ignores them, but every client still receives and parses them.
    const w0 = cpuSplitMs(watch.pid);
    const b0 = cpuSplitMs(bare.pid);
    const real = await runRound(eventsPerRound, PROGRESS_STEPS);
    const w1 = cpuSplitMs(watch.pid);
    const b1 = cpuSplitMs(bare.pid);
    const realRatio = (w1.user + w1.sys - w0.user - w0.sys) / (b1.user + b1.sys - b0.user - b0.sys);
    ctx.say(`p1: with ${PROGRESS_STEPS} progress steps per item: ${real.events} events → ratio ${round(realRatio)}`);
    return {
      keys: { p1_cpu_ratio: round(ratio, 3), p1_cpu_ratio_with_progress: round(realRatio, 3) },
      rows: [
        { metric: 'p1 CPU ratio watch/bare (median of rounds)', value: round(ratio, 3), target: '≤ 1.2', note: `rounds: ${ratios.map((x) => round(x)).join(', ')}` },
        { metric: 'p1 watch CPU per invocation_complete', value: `${round(median(perWatch), 1)} µs`, note: `${Math.round(median(wSys) * 100)} % of it system time` },
        { metric: 'p1 bare client CPU per invocation_complete', value: `${round(median(perBare), 1)} µs`, note: `${Math.round(median(bSys) * 100)} % of it system time` },
        {
          metric: `p1 CPU ratio, ${PROGRESS_STEPS} progress steps per item`,
          value: round(realRatio, 3),
          note: `${real.events} events, ${real.completes} complete: a stream like a real server's (preview image every step)`,
        },
        {
          metric: 'p1 stream',
          value: `${rate} ev/s`,
          note: `${rounds}×${eventsPerRound} events, ${completes} complete, no invocation_progress; per item ${fleet.sizes['events_per_item']} events (${fleet.sizes['event_bytes_per_item']} B), 12 nodes, 1 image; queue item ${fleet.sizes['queue_item']} B`,
        },
      ],
    };
  } finally {
    await watch.stop();
    await bare.request('close').catch(() => undefined);
    await bare.stop(2000);
    await fleet.close();
  }
}
