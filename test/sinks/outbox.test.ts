import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLogger } from '../../src/log';
import { Outbox } from '../../src/sinks/outbox';
import { Teardown, tempDir } from '../output/helpers';

const td = new Teardown();
afterEach(() => td.run());

function lines(file: string): unknown[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

test('loads undelivered entries in order, skipping acked ones and a torn last line, then rewrites the file', async () => {
  const file = join(await tempDir(td), 'outbox');
  writeFileSync(
    file,
    [
      JSON.stringify({ id: 'a', body: '{"n":1}' }),
      JSON.stringify({ id: 'b', body: '{"n":2}' }),
      JSON.stringify({ ack: 'a' }),
      JSON.stringify({ id: 'c', body: '{"n":3}' }),
      '{"id":"d","bo', // the crash hit mid-append
    ].join('\n'),
  );
  const log = new MemoryLogger();
  const box = td.add(Outbox.open(file, { log }), (b) => Promise.resolve(b.close()));
  expect(box.size).toBe(2);
  expect(box.peek()).toEqual({ id: 'b', body: '{"n":2}' });
  expect(lines(file)).toEqual([
    { id: 'b', body: '{"n":2}' },
    { id: 'c', body: '{"n":3}' },
  ]);
  expect(log.lines).toEqual([]);
  // Appends land on clean lines after the rewrite.
  box.append('{"n":4}');
  expect(lines(file)).toHaveLength(3);
});

test('damage before the last line is skipped with a warning', async () => {
  const file = join(await tempDir(td), 'outbox');
  writeFileSync(file, `garbage\n${JSON.stringify({ id: 'a', body: 'x' })}\n`);
  const log = new MemoryLogger();
  const box = td.add(Outbox.open(file, { log }), (b) => Promise.resolve(b.close()));
  expect(box.size).toBe(1);
  expect(log.lines).toEqual([{ level: 'warn', msg: expect.stringMatching(/skipped 1 unreadable line/) as unknown }]);
});

test('a file that is not an outbox is refused, not overwritten', async () => {
  const file = join(await tempDir(td), 'state.json');
  writeFileSync(file, 'not\nan outbox\n');
  expect(() => Outbox.open(file)).toThrow(/not an outbox/);
  expect(readFileSync(file, 'utf8')).toBe('not\nan outbox\n');
});

test('compacts by rewriting once dead lines pile up', async () => {
  const file = join(await tempDir(td), 'outbox');
  const box = td.add(Outbox.open(file, { compactAfter: 6 }), (b) => Promise.resolve(b.close()));
  const entries = Array.from({ length: 5 }, (_, i) => box.append(`{"n":${i}}`));
  expect(lines(file)).toHaveLength(5);
  box.ack(entries[0]?.id ?? '');
  box.ack(entries[1]?.id ?? '');
  expect(lines(file)).toHaveLength(7); // 5 entries + 2 acks: 4 dead lines, fewer than the threshold
  box.ack(entries[2]?.id ?? '');
  expect(lines(file)).toEqual([
    { id: entries[3]?.id, body: '{"n":3}' },
    { id: entries[4]?.id, body: '{"n":4}' },
  ]);
  expect(box.size).toBe(2);
  box.close();
  const again = td.add(Outbox.open(file), (b) => Promise.resolve(b.close()));
  expect(again.peek()?.body).toBe('{"n":3}');
});

test('without a file it is an in-memory queue', () => {
  const box = Outbox.open(null);
  const a = box.append('1');
  box.append('2');
  box.ack(a.id);
  expect(box.size).toBe(1);
  expect(box.peek()?.body).toBe('2');
});

test('a memory bound without a file: full at the bound, room() resolves on the ack that frees a place', async () => {
  const box = Outbox.open(null, { memoryLimit: 2 });
  const a = box.append('1', { recordId: 'r1', type: 'item' });
  expect(box.full).toBe(false);
  box.append('2');
  expect(box.full).toBe(true);
  let roomy = false;
  const room = box.room().then(() => (roomy = true));
  await Promise.resolve();
  expect(roomy).toBe(false);
  box.ack(a.id);
  await room;
  expect(roomy).toBe(true);
  expect(a).toMatchObject({ recordId: 'r1', type: 'item' });
});

test('with a file there is no memory bound, and record ids and types survive a restart', async () => {
  const file = join(await tempDir(td), 'outbox');
  const box = Outbox.open(file, { memoryLimit: 1 });
  box.append('{"n":1}', { recordId: 'r1', type: 'image' });
  box.append('{"n":2}', { recordId: 'r2', type: 'item' });
  expect(box.full).toBe(false);
  box.close();
  const again = td.add(Outbox.open(file), (b) => Promise.resolve(b.close()));
  expect(again.peek()).toMatchObject({ body: '{"n":1}', recordId: 'r1', type: 'image' });
});
