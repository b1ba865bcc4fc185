import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueCursor } from '../../src/state/cursor';
import { StateFile } from '../../src/state/stateFile';

describe('QueueCursor', () => {
  it('owes pending items and new ids above the watermark, never reported ones', () => {
    const c = new QueueCursor();
    c.track(9, { session_id: 's9', batch_id: 'b' }); // running when we connected
    c.initialise(10);
    expect(c.owed([12, 11, 10, 9, 8])).toEqual([9, 11, 12]);
    c.markReported(11);
    expect(c.owed([12, 11, 10, 9])).toEqual([9, 12]);
    c.markReported(9);
    c.markReported(12);
    expect(c.owed([12, 11, 10, 9])).toEqual([]);
    expect(c.toJSON()).toEqual({ watermark: 12, reported: [], pending: {} });
  });

  it('survives a JSON round trip with the same answers', () => {
    const c = new QueueCursor();
    c.initialise(3);
    c.track(5, { session_id: 's5', batch_id: 'b5' });
    c.noteImage(5, { type: 'image', image_name: 'x.png' });
    c.markReported(6);
    const again = new QueueCursor(JSON.parse(JSON.stringify(c.toJSON())) as ReturnType<QueueCursor['toJSON']>);
    expect(again.owed([7, 6, 5, 4])).toEqual([4, 5, 7]);
    expect(again.pending.get(5)?.images).toEqual([{ type: 'image', image_name: 'x.png' }]);
  });

  it('reports each id at most once whatever the order of events (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.boolean()), { maxLength: 120 }), (ops) => {
        const c = new QueueCursor();
        c.initialise(0);
        const reported = new Set<number>();
        for (const [id, finish] of ops) {
          if (finish) {
            if (c.isReported(id)) continue;
            c.markReported(id);
            expect(reported.has(id)).toBe(false);
            reported.add(id);
          } else if (!c.isReported(id)) {
            c.track(id, { session_id: null, batch_id: null });
          }
        }
        const all = Array.from({ length: 40 }, (_, i) => i + 1);
        for (const id of c.owed(all)) expect(reported.has(id)).toBe(false);
        for (const id of reported) expect(c.isReported(id)).toBe(true);
      }),
    );
  });
});

describe('StateFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ioo-state-'));

  it('writes atomically and reads back', () => {
    const path = join(dir, 'nested', 'state.json');
    const s = StateFile.open(path);
    s.cursor('http://a', 'default').initialise(41);
    s.save();
    const again = StateFile.open(path);
    expect(again.cursor('http://a', 'default').watermark).toBe(41);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ version: 1 });
  });

  it('refuses a file that is not a state file, naming it', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"hello":1}');
    expect(() => StateFile.open(path)).toThrow(/bad\.json/);
    writeFileSync(path, 'garbage');
    expect(() => StateFile.open(path)).toThrow(/not valid JSON/);
  });
});
