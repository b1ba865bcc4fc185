import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueCursor, type QueueCursorJson } from '../../src/state/cursor';
import { StateFile } from '../../src/state/stateFile';
import type { ImageRecord } from '../../src/records';

const roundTrip = (c: QueueCursor): QueueCursorJson => JSON.parse(JSON.stringify(c.toJSON())) as QueueCursorJson;
const open = (id: number) => new Map([[id, { session_id: `s${id}`, batch_id: 'b' }]]);

describe('QueueCursor', () => {
  it('owes the items open at start and new ids above the newest, never reported ones', () => {
    const c = new QueueCursor();
    c.initialise(10, open(9)); // item 9 was running when we connected
    expect(c.owed([12, 11, 10, 9, 8])).toEqual([9, 11, 12]);
    c.reported(11);
    expect(c.owed([12, 11, 10, 9])).toEqual([9, 12]);
    c.reported(9);
    c.reported(12);
    expect(c.owed([12, 11, 10, 9])).toEqual([]);
    expect(c.toJSON()).toEqual({ floor: 12, settled: [], open: {} });
  });

  it('never moves over an item still owed: a newer item ending first does not hide an older one still pending', () => {
    const c = new QueueCursor();
    c.initialise(9, new Map());
    c.track(10, { session_id: 's10', batch_id: 'b' }); // pending, heard of
    c.reported(11); // canceled while 10 waits
    const again = new QueueCursor(roundTrip(c));
    expect(again.isSettled(10)).toBe(false);
    expect(again.owed([11, 10])).toEqual([10]);
  });

  it('never moves over an id it has not heard of: only a listing settles gaps', () => {
    const c = new QueueCursor();
    c.initialise(9, new Map());
    c.reported(11); // 10 never heard of (pending in the queue, not yet listed)
    expect(c.isSettled(10)).toBe(false);
    expect(c.toJSON().floor).toBe(9);
    c.settleAbsent(new Set([10, 11]), 11); // the listing holds 10: still owed
    expect(c.owed([10, 11])).toEqual([10]);
    c.settleAbsent(new Set([11, 13]), 13); // 10 and 12 are not in the queue (another queue's, or deleted)
    expect(c.isSettled(10)).toBe(true);
    expect(c.owed([11, 13])).toEqual([13]);
  });

  it('survives a JSON round trip with the same answers, delivered images included', () => {
    const c = new QueueCursor();
    c.initialise(3, new Map());
    c.track(5, { session_id: 's5', batch_id: 'b5' });
    c.imageDelivered(5, { type: 'image', image_name: 'x.png' } as ImageRecord);
    c.reported(6);
    const again = new QueueCursor(roundTrip(c));
    expect(again.owed([7, 6, 5, 4])).toEqual([4, 5, 7]);
    expect(again.openItem(5)?.images).toEqual([{ type: 'image', image_name: 'x.png' }]);
  });

  it('reports each id at most once and never settles an owed id, whatever the order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('track', 'report', 'absent')), { maxLength: 150 }), (ops) => {
        const c = new QueueCursor();
        c.initialise(0, new Map());
        const reported = new Set<number>();
        const owed = new Set<number>();
        for (const [id, op] of ops) {
          if (op === 'report') {
            if (c.isSettled(id)) continue;
            c.reported(id);
            expect(reported.has(id)).toBe(false);
            reported.add(id);
            owed.delete(id);
          } else if (op === 'track') {
            if (c.isSettled(id)) continue;
            c.track(id, { session_id: null, batch_id: null });
            owed.add(id);
          } else c.settleAbsent(new Set([...owed, ...reported]), id);
        }
        for (const id of owed) expect(c.isSettled(id)).toBe(false);
        for (const id of reported) expect(c.isSettled(id)).toBe(true);
        const again = new QueueCursor(roundTrip(c));
        for (let id = 1; id <= 40; id++) expect(again.isSettled(id)).toBe(c.isSettled(id));
      }),
    );
  });
});

describe('StateFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ioo-state-'));

  it('after a kill -9, the snapshot plus the journal hold every change made before it', () => {
    const path = join(dir, 'nested', 'state.json');
    const script = `
      const { StateFile } = require(${JSON.stringify(join(__dirname, '../../src/state/stateFile'))});
      const s = StateFile.open(${JSON.stringify(path)});
      const c = s.cursor('http://a', 'default');
      c.initialise(41, new Map());
      c.track(43, { session_id: 's43', batch_id: 'b' });
      c.reported(42);
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGKILL');
    expect(readFileSync(`${path}.journal`, 'utf8').trim().split('\n')).toHaveLength(2); // the snapshot has the first change
    const again = StateFile.open(path, () => undefined);
    expect(again.cursor('http://a', 'default').toJSON()).toEqual({ floor: 42, settled: [], open: { 43: { session_id: 's43', batch_id: 'b' } } });
    again.close();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ version: 2 });
    expect(readFileSync(`${path}.journal`, 'utf8')).toBe('');
  });

  it('one process per state file: a second open is refused while the first holds it', () => {
    const path = join(dir, 'locked.json');
    const first = StateFile.open(path);
    expect(() => StateFile.open(path)).toThrow(/in use by another invokeai-outputs \(pid \d+\)/);
    first.close();
    StateFile.open(path).close();
  });

  it('takes over a lock left by a process that died', () => {
    const path = join(dir, 'stale.json');
    writeFileSync(`${path}.lock`, '999999999\n');
    StateFile.open(path).close();
  });

  it('reads a version 1 file', () => {
    const path = join(dir, 'v1.json');
    writeFileSync(path, JSON.stringify({ version: 1, servers: { 'http://a': { default: { watermark: 7, reported: [9], pending: { 8: { session_id: 's8', batch_id: null } } } } } }));
    const s = StateFile.open(path);
    const c = s.cursor('http://a', 'default');
    expect([7, 8, 9, 10].map((id) => c.isSettled(id))).toEqual([true, false, true, false]);
    s.close();
  });

  it('refuses a file that is not a state file, naming it', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"hello":1}');
    expect(() => StateFile.open(path)).toThrow(/bad\.json/);
    writeFileSync(path, 'garbage');
    expect(() => StateFile.open(path)).toThrow(/not valid JSON/);
  });
});
