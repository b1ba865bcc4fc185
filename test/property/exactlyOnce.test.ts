import fc from 'fast-check';
import { enqueue, simulator, sleep, Teardown, watch } from '../support/harness';
import { saveOne, twoOutputs } from '../support/graphs';
import { createBoard } from '../support/harness';

/*
 * Model-based: whatever the wire does (duplicates, reorders, delays, drops, server-side disconnects), every item
 * is reported exactly once, every image it made exactly once, and the records agree with the server's own state.
 */

type Fault = { event: string; action: 'duplicate' | 'drop' | 'delay' | 'reorder'; count: number; delayMs: number };
const faultArb: fc.Arbitrary<Fault> = fc.record({
  event: fc.constantFrom('invocation_complete', 'queue_item_status_changed', 'invocation_started'),
  action: fc.constantFrom('duplicate', 'drop', 'delay', 'reorder'),
  count: fc.integer({ min: 1, max: 4 }),
  delayMs: fc.integer({ min: 1, max: 80 }),
});

const scheduleArb = fc.record({
  faults: fc.array(faultArb, { maxLength: 4 }),
  graphs: fc.array(fc.constantFrom('one', 'two'), { minLength: 1, maxLength: 4 }),
  disconnectAfter: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
});

const td = new Teardown();
afterEach(() => td.run());

it('exactly once under random schedules of faults (property, against the simulator)', async () => {
  await fc.assert(
    fc.asyncProperty(scheduleArb, async ({ faults, graphs, disconnectAfter }) => {
      try {
        const sim = await simulator(td);
        const board = await createBoard(sim, 'b');
        const w = watch(td, { url: sim.url, backoff: { min: 20, max: 60 }, reconcileIntervalMs: 300 });
        await w.connected;
        for (const f of faults) sim.faults.add(f);
        const ids: number[] = [];
        for (const [i, g] of graphs.entries()) {
          if (disconnectAfter === i) sim.disconnectSockets();
          const r = await enqueue(sim, g === 'one' ? saveOne(board) : twoOutputs(board));
          ids.push(...r.item_ids);
        }
        const items = await w.items$(ids.length, 8000);
        await sleep(150); // anything late would show up now
        expect(w.items().map((i) => i.item_id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
        const names = w.images().map((i) => i.image_name);
        expect(new Set(names).size).toBe(names.length);
        const made = new Set(sim.store.imageNames(board));
        expect(new Set(names)).toEqual(made);
        for (const item of items) {
          expect(item.complete).toBe(true);
          for (const n of item.new_images) expect(made.has(n)).toBe(true);
        }
      } finally {
        await td.run();
      }
    }),
    { numRuns: 12, endOnFailure: true },
  );
}, 60000);
