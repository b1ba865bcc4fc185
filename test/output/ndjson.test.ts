import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NdjsonWriter } from '../../src/output/ndjson';

const dir = mkdtempSync(join(tmpdir(), 'ioo-ndjson-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('NdjsonWriter.appendingTo(FILE) (watch --output)', () => {
  it('appends to what the file held; flush() waits for the bytes', async () => {
    const path = join(dir, 'append.ndjson');
    const first = NdjsonWriter.appendingTo(path);
    first.write({ n: 1 });
    await first.flush();
    const second = NdjsonWriter.appendingTo(path);
    second.writeLine('{"n":2}');
    await second.flush();
    expect(lines(path)).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('reopen(): lines written before it go to the renamed file, later ones to a new file at the path; none lost', async () => {
    const path = join(dir, 'rotate.ndjson');
    const w = NdjsonWriter.appendingTo(path);
    // Many writes queued behind one another, so the reopen lands while the queue is still draining.
    for (let i = 0; i < 500; i++) w.write({ n: i });
    renameSync(path, `${path}.1`);
    const reopened = w.reopen();
    for (let i = 500; i < 1000; i++) w.write({ n: i });
    await reopened;
    await w.flush();
    const old = lines(`${path}.1`).map((l) => (JSON.parse(l) as { n: number }).n);
    const now = lines(path).map((l) => (JSON.parse(l) as { n: number }).n);
    expect(old).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(now).toEqual(Array.from({ length: 500 }, (_, i) => i + 500));
  });

  it('a path that cannot be opened again keeps the old file: the records go on there', async () => {
    const sub = join(dir, 'gone');
    mkdirSync(sub);
    const path = join(sub, 'out.ndjson');
    const w = NdjsonWriter.appendingTo(path);
    w.write({ n: 1 });
    renameSync(sub, `${sub}.moved`);
    await expect(w.reopen()).rejects.toMatchObject({ code: 'ENOENT' });
    w.write({ n: 2 });
    await w.flush();
    expect(lines(join(`${sub}.moved`, 'out.ndjson'))).toEqual(['{"n":1}', '{"n":2}']);
    expect(w.isBroken).toBe(false);
  });

  it('stdout: reopen() is a no-op', async () => {
    await expect(new NdjsonWriter().reopen()).resolves.toBeUndefined();
  });
});
