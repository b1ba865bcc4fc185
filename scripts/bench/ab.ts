/*
 * A/B CPU comparison of two watcher builds: both watch the same synthetic server at once (2 000 events/s), so the
 * machine's noise hits both; prints each round's CPU ratio B/A and the median. Run it both ways round (A/B, then
 * B/A) to cancel any position bias. Build B into another folder first, e.g. a copy of `src` compiled with
 * `tsc -p tsconfig.build.json` under `.tmp/b/` (with package.json beside its dist/).
 *
 * Usage: tsx scripts/bench/ab.ts <A dist/cli.js> <B dist/cli.js> [rounds=5] [events per round=8000]
 */
import { FleetChild, WatchChild, connected } from './common';
import { cpuMs, median, round, sleep } from './proc';

async function main(): Promise<void> {
  const [a, b, roundsArg, eventsArg] = process.argv.slice(2);
  if (!a || !b) throw new Error('usage: ab.ts <A cli.js> <B cli.js> [rounds] [events]');
  const rounds = Number(roundsArg ?? 5);
  const events = Number(eventsArg ?? 8000);
  const fleet = await FleetChild.start(1);
  const wa = new WatchChild(fleet.urls, { cli: a });
  const wb = new WatchChild(fleet.urls, { cli: b });
  try {
    await connected(fleet, 2, 2);
    let items = 0;
    const go = async (n: number): Promise<void> => {
      items += (await fleet.run({ rate: 2000, events: n })).items;
      await wa.waitItems(items, 30000);
      await wb.waitItems(items, 30000);
      await sleep(100);
    };
    await go(events); // warm-up
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const a0 = cpuMs(wa.pid);
      const b0 = cpuMs(wb.pid);
      await go(events);
      const da = cpuMs(wa.pid) - a0;
      const db = cpuMs(wb.pid) - b0;
      ratios.push(db / da);
      console.log(`round ${i + 1}: A ${da} ms, B ${db} ms CPU, B/A ${round(db / da, 3)}`);
    }
    console.log(`median B/A ${round(median(ratios), 3)}`);
  } finally {
    await wa.stop();
    await wb.stop();
    await fleet.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
