import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueue, simulator, Teardown } from '../support/harness';
import { saveOne } from '../support/graphs';
import { cliWith, connectedTimes } from './spawn';

const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);
const dir = mkdtempSync(join(tmpdir(), 'ioo-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Rec = Record<string, unknown>;
const read = (path: string): Rec[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Rec)
    : [];

async function until(test: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watch --output FILE', () => {
  it('appends records to FILE, not stdout; after logrotate renames it, SIGHUP starts a new FILE; nothing lost or repeated', async () => {
    const sim = await simulator(td, { nodeDelayMs: 20 });
    const out = join(dir, 'outputs.ndjson');
    const w = cli(['watch', '--url', sim.url, '--output', out]);
    await connectedTimes(w);
    const items = (recs: Rec[]): number[] => recs.filter((r) => r['type'] === 'item').map((r) => r['item_id'] as number);

    const before = await Promise.all([1, 2, 3].map(() => enqueue(sim, saveOne())));
    await until(() => items(read(out)).length >= 1, 'the first item record in FILE');
    // logrotate's `create` way: rename, then tell the daemon; records may be arriving meanwhile.
    renameSync(out, `${out}.1`);
    w.child.kill('SIGHUP');
    await until(() => /info SIGHUP: reopened /.test(w.stderr()), 'the reopen');
    const after = await Promise.all([1, 2].map(() => enqueue(sim, saveOne())));
    const all = [...before, ...after].flatMap((e) => e.item_ids);
    await until(() => items([...read(`${out}.1`), ...read(out)]).length === all.length, 'every item record');
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);

    expect(w.stdout()).toBe('');
    const rotated = read(`${out}.1`);
    const fresh = read(out);
    // Whole lines only (read() parses every one), each record exactly once across the two files.
    const recs = [...rotated, ...fresh];
    expect(items(recs).sort((a, b) => a - b)).toEqual(all.sort((a, b) => a - b));
    expect(new Set(recs.map((r) => r['record_id'])).size).toBe(recs.length);
    expect(recs.filter((r) => r['type'] === 'image')).toHaveLength(all.length);
    // The items enqueued after the reopen can only be in the new file.
    for (const id of after.flatMap((e) => e.item_ids)) expect(items(fresh)).toContain(id);
    expect(items(rotated).length).toBeGreaterThanOrEqual(1);
  });
});
