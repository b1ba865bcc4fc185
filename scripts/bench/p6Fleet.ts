/*
 * P6: one daemon (the CLI, `--url` × N) watching N synthetic servers at 100 events/s each: its CPU share over a
 * steady window, in % of one core (from /proc). The servers live in two processes, so they can use both cores.
 */
import { FleetChild, WatchChild, type BenchContext, type ScenarioResult } from './common';
import { cpuMs, now, round, sleep } from './proc';

export async function p6Fleet(ctx: BenchContext): Promise<ScenarioResult> {
  const servers = ctx.quick ? 10 : 50;
  const perServer = 100;
  const warmMs = ctx.quick ? 800 : 4000;
  const windowMs = ctx.quick ? 2000 : 15000;
  const halves = [Math.ceil(servers / 2), Math.floor(servers / 2)].filter((n) => n > 0);
  const fleets = await Promise.all(halves.map((n) => FleetChild.start(n)));
  const watch = new WatchChild(fleets.flatMap((f) => f.urls));
  const runs: Promise<unknown>[] = [];
  try {
    // Every server subscribed to and reconciled once.
    for (let i = 0; ; i++) {
      const st = await Promise.all(fleets.map((f) => f.stats()));
      if (st.every((s, k) => s.subscribes >= halves[k]! && (s.requests['item_ids'] ?? 0) >= halves[k]!)) break;
      if (i > 1500) throw new Error(`p6: the daemon did not connect to every server: ${watch.child.stderrTail(500)}`);
      await sleep(20);
    }
    ctx.say(`p6: ${servers} servers × ${perServer} ev/s`);
    const total = ((warmMs + windowMs) / 1000 + 2) * perServer;
    fleets.forEach((f, k) => runs.push(f.run({ rate: perServer * halves[k]!, events: total * halves[k]! })));
    await sleep(warmMs);
    const c0 = cpuMs(watch.pid);
    const f0 = fleets.map((f) => cpuMs(f.child.pid));
    const i0 = watch.items;
    const t0 = now();
    await sleep(windowMs);
    const c1 = cpuMs(watch.pid);
    const f1 = fleets.map((f) => cpuMs(f.child.pid));
    const wall = now() - t0;
    const items = watch.items - i0;
    const pct = ((c1 - c0) / wall) * 100;
    const serverPct = f1.reduce((a, x, k) => a + x - f0[k]!, 0) / wall * 100;
    await Promise.all(fleets.map((f) => f.stopRun()));
    await Promise.all(runs);
    return {
      keys: { p6_cpu_pct: round(pct, 1) },
      rows: [
        {
          metric: `p6 daemon CPU, ${servers} servers × ${perServer} ev/s`,
          value: `${round(pct, 1)} %`,
          target: '< 50 %',
          note: `${round(wall / 1000, 1)} s window, ${items} items reported (${round((items * 1000) / wall, 1)}/s), ${watch.incomplete} incomplete; the servers used ${round(serverPct, 1)} %`,
        },
      ],
    };
  } finally {
    await watch.stop();
    await Promise.all(fleets.map((f) => f.close()));
  }
}
