import { spawn } from 'node:child_process';
import { enqueue, sessionImages, simulator, Teardown } from '../support/harness';
import { iterate } from '../support/graphs';
import { CLI, cliWith, connectedTimes } from '../cli/spawn';
import { isTerminal, statusOf, tempDir, until } from './support';

/*
 * Issue 12, behaviour 5: a stalled stdout reader followed by SIGKILL loses nothing. A record counts as delivered
 * (and the cursor moves over it) only once its bytes are in the pipe; a restart with the same --state reports exactly
 * what never reached it.
 */

const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);

type Rec = Record<string, unknown> & { type: string; record_id: string };

/** Complete lines only: a record cut by the kill (its bytes partly in the pipe) was never delivered. */
function parseLines(text: string): Rec[] {
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or a torn record
  return lines.map((l) => JSON.parse(l) as Rec);
}

it('SIGKILL while the reader stalls: what reached the pipe plus what a restart reports is every record, each once', async () => {
  const sim = await simulator(td);
  const { file } = tempDir(td);
  const state = file('cursor.json');
  const items = 24;
  const perItem = 20;

  // The first daemon: its stdout is a pipe nobody reads once the parent's buffer is full.
  const child = td.add(spawn(process.execPath, [CLI, 'watch', '--url', sim.url, '--state', state], { env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] }), (c) => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  // A listener from the start (else Node resumes an unread stdout when the child exits, dropping it), then paused.
  const chunks: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stdout.pause();
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await until(() => /connected to/.test(err), 'the first daemon to connect');
  for (let i = 0; i < items; i++) await enqueue(sim, iterate(perItem));
  const ids = Array.from({ length: items }, (_, i) => i + 1);
  await until(() => ids.every((id) => isTerminal(statusOf(sim, id))), 'every item to finish', 30000);
  // The parent stopped pulling (its buffer is full), so the pipe fills: records pile up in the daemon.
  await until(() => child.stdout.readableLength >= child.stdout.readableHighWaterMark, 'the reader to stall');
  child.kill('SIGKILL');
  await exited;
  const eof = new Promise<void>((resolve) => child.stdout.on('end', () => resolve()));
  child.stdout.resume();
  await eof;
  const before = parseLines(Buffer.concat(chunks).toString('utf8'));
  const total = items * (perItem + 1);
  expect(before.length).toBeGreaterThan(0);
  expect(before.length).toBeLessThan(total); // the kill came with records still to deliver

  const second = cli(['watch', '--url', sim.url, '--state', state]);
  await connectedTimes(second);
  await second.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length + before.filter((r) => r.type === 'item').length >= items, 20000);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  const after = second.records() as Rec[];

  const seen = new Set(before.map((r) => r.record_id));
  expect(seen.size).toBe(before.length);
  expect(after.filter((r) => seen.has(r.record_id))).toEqual([]); // nothing that reached the pipe is repeated
  const all = [...before, ...after];
  expect(new Set(all.map((r) => r.record_id)).size).toBe(all.length);
  expect(all).toHaveLength(total);
  expect(all.filter((r) => r.type === 'item').map((r) => r['item_id'] as number).sort((a, b) => a - b)).toEqual(ids);
  const images = all.filter((r) => r.type === 'image').map((r) => r['image_name'] as string);
  const made = ids.flatMap((id) => sessionImages(sim, sim.store.getQueueItem(id)!['session_id'] as string));
  expect(made).toHaveLength(items * perItem);
  expect([...images].sort()).toEqual([...made].sort());
  for (const item of all.filter((r) => r.type === 'item')) {
    expect(item).toMatchObject({ status: 'completed', complete: true });
    expect(item['new_images']).toHaveLength(perItem);
  }
}, 60000);
