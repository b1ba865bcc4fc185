/*
 * P5: recovery after an outage. The watcher reaches the synthetic server through a TCP proxy; the proxy is cut for
 * `outage` ms while the server keeps running items. Measured: from the reconnect (the server receives
 * `subscribe_queue` again) to the last record of the items that finished during the outage.
 */
import { FleetChild, WatchChild, connected, type BenchContext, type ScenarioResult } from './common';
import { TcpProxy } from './proxy';
import { now, round, sleep, waitFor } from './proc';

export async function p5Recovery(ctx: BenchContext): Promise<ScenarioResult> {
  const outage = ctx.quick ? 1000 : 10000;
  const itemsPerSecond = 10;
  const fleet = await FleetChild.start(1);
  const proxy = new TcpProxy(fleet.ports[0]!);
  await proxy.listen();
  const itemArrival = new Map<number, number>();
  const incomplete = new Set<number>();
  const watch = new WatchChild([proxy.url], {
    onRecord: (r, line) => {
      if (r.type !== 'item') return;
      itemArrival.set(r.item_id, line.t);
      if (r.complete === false) incomplete.add(r.item_id);
    },
  });
  let running: Promise<unknown> | undefined;
  try {
    await connected(fleet, 1, 1);
    const perItem = fleet.sizes['events_per_item']!;
    running = fleet.run({ rate: itemsPerSecond * perItem, events: Number.MAX_SAFE_INTEGER, recordTimes: true });
    await sleep(ctx.quick ? 800 : 1500);
    ctx.say(`p5: cutting the connection for ${outage / 1000} s`);
    const cutAt = now();
    await proxy.cut();
    await sleep(outage);
    await proxy.restore();
    const restoredAt = now();
    let reconnectAt = NaN;
    for (let i = 0; i < 1500 && Number.isNaN(reconnectAt); i++) {
      const st = await fleet.stats();
      const t = st.subscribeTimes.find((x) => x > restoredAt);
      if (t !== undefined) reconnectAt = t;
      else await sleep(20);
    }
    if (Number.isNaN(reconnectAt)) throw new Error(`p5: no reconnect within 30 s: ${watch.child.stderrTail(800)}`);
    const finished = (await fleet.times()).filter((x) => x.kind === 'item' && x.t >= cutAt && x.t <= restoredAt).map((x) => x.item);
    ctx.say(`p5: reconnected ${Math.round(reconnectAt - restoredAt)} ms after the restore; ${finished.length} items finished during the outage`);
    await waitFor(() => finished.every((i) => itemArrival.has(i)), 30000, 'records of the items finished during the outage', 5);
    const last = Math.max(...finished.map((i) => itemArrival.get(i)!));
    const recovery = last - reconnectAt;
    const missedWhile = finished.filter((i) => incomplete.has(i)).length;
    return {
      keys: { p5_recovery_ms: round(recovery, 1) },
      rows: [
        {
          metric: `p5 reconnect → last record of the outage's items`,
          value: `${round(recovery, 1)} ms`,
          target: '≤ 2000 ms',
          note: `${finished.length} items finished during a ${outage / 1000} s outage (${itemsPerSecond} items/s), ${missedWhile} incomplete`,
        },
        { metric: 'p5 proxy restored → reconnect (socket.io backoff)', value: `${round(reconnectAt - restoredAt, 1)} ms` },
      ],
    };
  } finally {
    await fleet.stopRun().catch(() => undefined);
    await running?.catch(() => undefined);
    await watch.stop();
    await proxy.close();
    await fleet.close();
  }
}
