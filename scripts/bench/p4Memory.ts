/*
 * P4: does the daemon's memory stay flat? RSS of the watcher after 1 000 000 events minus after 100 000. The
 * synthetic server runs as fast as the watcher keeps up (flow control: at most `window` finished items whose queue
 * item was not read yet), pausing at each checkpoint until the watcher has caught up; RSS is read from /proc
 * after a full GC in the watcher (probe.js), and before it too.
 */
import { FleetChild, WatchChild, connected, type BenchContext, type ScenarioResult } from './common';
import { now, round, rssMb, sleep } from './proc';

const MB = 1024 * 1024;

export async function p4Memory(ctx: BenchContext): Promise<ScenarioResult> {
  const checkpoints = ctx.quick ? [4_000, 20_000] : [100_000, 1_000_000];
  const window = 4;
  const fleet = await FleetChild.start(1);
  const watch = new WatchChild(fleet.urls);
  try {
    await connected(fleet, 1, 1);
    let sent = 0;
    let items = 0;
    const points: { events: number; rssRaw: number; rssGc: number; heapGc: number; eps: number }[] = [];
    for (const target of checkpoints) {
      ctx.say(`p4: streaming to ${target.toLocaleString('en')} events`);
      const t0 = now();
      const r = await fleet.run({ rate: 0, events: target - sent, window });
      sent += r.emitted;
      items += r.items;
      await watch.waitItems(items, 60000);
      await fleet.drained(10000);
      const eps = r.emitted / ((now() - t0) / 1000);
      await sleep(200);
      const rssRaw = rssMb(watch.pid);
      const m = await watch.mem();
      await sleep(100);
      points.push({ events: sent, rssRaw, rssGc: rssMb(watch.pid), heapGc: m.after.heapUsed / MB, eps });
      ctx.say(`p4: ${sent} events (${Math.round(eps)}/s): RSS ${round(rssRaw, 1)} MB, after GC ${round(rssMb(watch.pid), 1)} MB, heap ${round(m.after.heapUsed / MB, 1)} MB`);
    }
    const [a, b] = [points[0]!, points[points.length - 1]!];
    const growth = b.rssGc - a.rssGc;
    return {
      keys: { p4_rss_growth_mb: round(growth, 2) },
      rows: [
        {
          metric: `p4 RSS growth ${a.events.toLocaleString('en')} → ${b.events.toLocaleString('en')} events (after GC)`,
          value: `${round(growth, 2)} MB`,
          target: '< 10 MB',
          note: `RSS ${round(a.rssGc, 1)} → ${round(b.rssGc, 1)} MB; without GC ${round(a.rssRaw, 1)} → ${round(b.rssRaw, 1)} MB`,
        },
        { metric: 'p4 heap used after GC', value: `${round(a.heapGc, 1)} → ${round(b.heapGc, 1)} MB` },
        { metric: 'p4 throughput (flow-controlled)', value: `${Math.round(b.eps)} ev/s`, note: `${items} items, ${watch.incomplete} incomplete` },
      ],
    };
  } finally {
    await watch.stop();
    await fleet.close();
  }
}
