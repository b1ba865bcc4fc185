import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, simulator, sleep, Teardown } from '../support/harness';
import { saveOne } from '../support/graphs';
import { CLI, cliWith, connectedTimes } from './spawn';

const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);

interface Rec {
  type: string;
  record_id: string;
  item_id: number;
}

/** Complete lines only: the pipe may end in the middle of a line nobody delivered. */
const complete = (text: string): Rec[] =>
  text
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Rec);

describe('a reader that stops reading', () => {
  it('SIGTERM: the daemon exits within --drain-timeout; a restart reports exactly what never reached the pipe', async () => {
    const sim = await simulator(td);
    const state = join(mkdtempSync(join(tmpdir(), 'ioo-stall-')), 'state.json');
    const child = td.add(spawn(process.execPath, [CLI, 'watch', '--url', sim.url, '--state', state, '--drain-timeout', '1500'], { env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] }), (c) => {
      if (c.exitCode === null) c.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Nobody reads: the pipe fills (64 kB), then the daemon's own buffer. (The listener is there from the start, paused:
    // Node resumes a child's unread stdout when it exits, and without a listener that data would be thrown away.)
    let piped = '';
    child.stdout.pause();
    child.stdout.on('data', (d: Buffer) => (piped += d.toString()));
    const ended = new Promise((r) => child.stdout.once('end', r));
    const until = Date.now() + 10_000;
    while (!/connected to/.test(stderr) && Date.now() < until) await sleep(20);
    const runs = 150; // 300 records of about 700 bytes: far more than the pipe holds
    const { item_ids } = await api<{ item_ids: number[] }>(sim.url, 'POST', '/queue/default/enqueue_batch', { batch: { graph: saveOne(), runs } });
    while (sim.store.listQueueItems().filter((i) => i.status === 'completed').length < runs) await sleep(50);
    await sleep(500);
    const stoppedAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const took = Date.now() - stoppedAt;
    expect(took).toBeLessThan(1500 + 2500);
    expect(stderr).toMatch(/bytes the reader never took; exiting anyway/);
    // What reached the pipe before the exit.
    child.stdout.resume();
    await ended;
    const first = complete(piped);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(2 * runs);

    const again = cli(['watch', '--url', sim.url, '--state', state]);
    await connectedTimes(again);
    const ids = new Set(first.map((r) => r.record_id));
    await again.waitFor((rs) => rs.length + first.length >= 2 * runs, 15_000);
    await sleep(300);
    const second = again.records() as unknown as Rec[];
    // Every record once: the first run's delivered ones are not repeated, the rest come now.
    expect(second.filter((r) => ids.has(r.record_id))).toEqual([]);
    const all = [...first, ...second];
    expect(new Set(all.map((r) => r.record_id)).size).toBe(2 * runs);
    expect(new Set(all.filter((r) => r.type === 'item').map((r) => r.item_id))).toEqual(new Set(item_ids));
  }, 60_000);
});
