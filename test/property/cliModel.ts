import { existsSync, readFileSync } from 'node:fs';
import type { ImageRecord, ItemRecord, OutputRecord } from '../../src/records';
import type { Simulator } from '../../src/simulator';
import { QueueCursor } from '../../src/state/cursor';
import { sessionImages } from '../support/harness';

/*
 * The model of exactly once across the runs of one `watch --state FILE` daemon, checked after a schedule: every
 * item that ended on the server has one item record, every (non-intermediate) image the server holds for its
 * session one image record, each before its item's record when both come from one run, and `complete: true`.
 * A record may be printed twice only in the one window the design leaves: its bytes reached the pipe and the run
 * was killed (SIGKILL) before the state file noted it; `inStateWindow` checks that against the file itself.
 */

export type GraphKind = 'one' | 'two' | 'iterate' | 'many' | 'failing' | 'cached';

/** One daemon run: what it printed, how it ended, and (after a SIGKILL) the cursor it left in the state file. */
export interface DaemonRun {
  index: number;
  records: OutputRecord[];
  /** Bytes after the last newline (a line torn by the kill); '' when none. */
  torn: string;
  signal: 'SIGTERM' | 'SIGKILL' | null;
  exitCode: number | null;
  /** The state file as the run left it (read right after it died, before the next run opened it). */
  cursorAfter: QueueCursor | null;
  stderr: string;
  /** Its reader stalled before it was stopped. */
  stalled: boolean;
  /** Killed the instant its output reached the reader. */
  killedOnOutput: boolean;
}

export interface Enqueued {
  itemId: number;
  graph: GraphKind;
  /** Deleted while pending: it may get one record (canceled, `complete: false`: it is gone) or none. */
  deleted: boolean;
}

/** Complete NDJSON lines of a run's stdout, and what follows the last newline. */
export function parseStdout(out: string): { records: OutputRecord[]; torn: string } {
  const end = out.lastIndexOf('\n');
  const lines = out.slice(0, end + 1).split('\n').filter((l) => l.length > 0);
  return { records: lines.map((l) => JSON.parse(l) as OutputRecord), torn: out.slice(end + 1) };
}

/** The cursor of queue `default` as the state file (snapshot + journal) holds it now. */
export function readCursor(statePath: string): QueueCursor {
  const snapshot = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as { servers: Record<string, Record<string, unknown>> }) : { servers: {} };
  const json = Object.values(snapshot.servers)[0]?.['default'];
  const cursor = new QueueCursor(json as ConstructorParameters<typeof QueueCursor>[0]);
  const journal = existsSync(`${statePath}.journal`) ? readFileSync(`${statePath}.journal`, 'utf8').split('\n') : [];
  for (const line of journal) {
    try {
      const v = JSON.parse(line) as { k: string; change: Parameters<QueueCursor['replay']>[0] };
      if (v.k.endsWith('\u0000default')) cursor.replay(v.change);
    } catch {
      /* empty or torn line */
    }
  }
  return cursor;
}

/** Whether the state file the run left behind has noted this record as delivered. */
function noted(cursor: QueueCursor, r: OutputRecord): boolean {
  if (cursor.isSettled(r.item_id)) return true;
  return r.type === 'image' && (cursor.openItem(r.item_id)?.images ?? []).some((i) => i.record_id === r.record_id);
}

export interface WindowStats {
  /** Records killed runs printed that their state file had not noted (the window). */
  unnoted: number;
  /** Of those, repeated by a later run. */
  repeated: number;
  /** Largest number of unnoted records at the end of one killed run. */
  maxTail: number;
  /** Items reported across a restart whose `new_images` was out of execution order. */
  misordered: number;
  /** Each killed run's unnoted tail: `type item_id [image] record_id`. */
  tails: string[][];
}

/**
 * The records of a killed run that its state file did not note must be the last ones it printed (the cursor moves
 * in delivery order, right after each write callback); a violation otherwise.
 */
function unnotedTail(run: DaemonRun, violations: string[]): Set<string> {
  const out = new Set<string>();
  if (run.signal !== 'SIGKILL' || !run.cursorAfter) return out;
  const flags = run.records.map((r) => noted(run.cursorAfter!, r));
  const firstUnnoted = flags.indexOf(false);
  if (firstUnnoted < 0) return out;
  if (flags.slice(firstUnnoted).some((f) => f)) {
    violations.push(`run ${run.index}: the state file noted a record printed after one it did not (${run.records.map((r, i) => `${r.record_id}:${flags[i]}`).join(' ')})`);
  }
  for (const r of run.records.slice(firstUnnoted)) out.add(r.record_id);
  return out;
}

/** Every record printed more than once must have been, each time but the last, in a killed run's unnoted tail. */
function checkRepeats(runs: readonly DaemonRun[], violations: string[], stats: WindowStats): void {
  const tails = runs.map((r) => unnotedTail(r, violations));
  for (const [i, t] of tails.entries()) {
    stats.unnoted += t.size;
    stats.maxTail = Math.max(stats.maxTail, t.size);
    const how = runs[i]!.killedOnOutput ? 'on output' : runs[i]!.stalled ? 'stalled' : 'at a random moment';
    if (t.size > 0) stats.tails.push([`run ${i} killed ${how}`, ...runs[i]!.records.filter((r) => t.has(r.record_id)).map((r) => `${r.type} ${r.item_id}${r.type === 'image' ? ` ${r.image_name}` : ''} ${r.record_id}`)]);
  }
  const copies = new Map<string, { run: number; rec: OutputRecord }[]>();
  for (const run of runs) for (const rec of run.records) (copies.get(rec.record_id) ?? copies.set(rec.record_id, []).get(rec.record_id)!).push({ run: run.index, rec });
  for (const [id, list] of copies) {
    if (list.length === 1) continue;
    const inWindow = list.slice(0, -1).every((c) => tails[c.run]!.has(id)) && new Set(list.map((c) => c.run)).size === list.length;
    const r = list[0]!.rec;
    const what = `${r.type} record ${id} (item ${r.item_id}${r.type === 'image' ? `, ${r.image_name}` : ''})`;
    if (!inWindow) violations.push(`${what} printed ${list.length} times, by runs ${list.map((c) => `${c.run} (${runs[c.run]!.signal ?? 'last'})`).join(', ')}, not in a killed run's unnoted tail`);
    else stats.repeated += list.length - 1;
    // The same fact; only when it was printed, and which rung found it (the socket before, the queue item after), may differ.
    const bodies = new Set(list.map((c) => JSON.stringify({ ...c.rec, ts: null, via: null })));
    if (bodies.size > 1) violations.push(`${what}: the repeats differ`);
  }
}

/** Image records first, then the item record, within one run. */
function checkOrder(run: DaemonRun, violations: string[]): void {
  const itemAt = new Map<number, number>();
  run.records.forEach((r, i) => r.type === 'item' && !itemAt.has(r.item_id) && itemAt.set(r.item_id, i));
  run.records.forEach((r, i) => {
    const at = itemAt.get(r.item_id);
    if (r.type === 'image' && at !== undefined && i > at) violations.push(`run ${run.index}: image ${r.image_name} after its item ${r.item_id}'s record`);
  });
}

/**
 * `split`: its records came from more than one run (images delivered before a restart are looked up again for their
 * creation time); `new_images` must keep execution order all the same, and `stats.misordered` counts those that
 * did not.
 */
function checkItem(sim: Simulator, e: Enqueued, recs: OutputRecord[], split: boolean, violations: string[], stats: WindowStats): void {
  const server = sim.store.getQueueItem(e.itemId) as { status: string; session_id: string } | undefined;
  const say = (m: string): void => void violations.push(`item ${e.itemId} (${e.graph}, ${server?.status ?? 'missing'}): ${m}`);
  if (e.deleted) return checkDeleted(recs, say);
  if (!server || !['completed', 'failed', 'canceled'].includes(server.status)) return say('not terminal on the server');
  const items = [...new Map(recs.filter((r): r is ItemRecord => r.type === 'item').map((r) => [r.record_id, r])).values()];
  if (items.length !== 1) return say(`${items.length} distinct item records`);
  const item = items[0]!;
  if (item.status !== server.status) say(`status ${item.status}, the server says ${server.status}`);
  if (!item.complete) say('complete: false');
  const made = sessionImages(sim, server.session_id);
  const images = [...new Map(recs.filter((r): r is ImageRecord => r.type === 'image').map((r) => [r.record_id, r])).values()];
  const own = images.filter((r) => !r.cached).map((r) => r.image_name);
  if (JSON.stringify([...own].sort()) !== JSON.stringify([...made].sort())) say(`image records ${JSON.stringify(own)}, the server holds ${JSON.stringify(made)}`);
  const inOrder = JSON.stringify(item.new_images) === JSON.stringify(made);
  if (split && !inOrder) stats.misordered += 1;
  if (!inOrder) {
    say(`new_images ${JSON.stringify(item.new_images)}, the server made ${JSON.stringify(made)} in that order`);
  }
  const cached = images.filter((r) => r.cached);
  const hit = e.graph === 'cached' && server.status === 'completed' && made.length === 0;
  if (cached.length !== (hit ? 1 : 0)) say(`${cached.length} cached image records`);
  for (const c of cached) if (!sim.store.getImage(c.image_name)) say(`cached image ${c.image_name} is not on the server`);
}

/** A pending item deleted: never ran, so no image; reported at most once, and then as gone. */
function checkDeleted(recs: OutputRecord[], say: (m: string) => void): void {
  const items = [...new Map(recs.filter((r): r is ItemRecord => r.type === 'item').map((r) => [r.record_id, r])).values()];
  if (recs.some((r) => r.type === 'image')) say('deleted while pending, yet an image record');
  if (items.length > 1) say(`deleted: ${items.length} distinct item records`);
  for (const item of items) if (item.status !== 'canceled' || item.complete) say(`deleted: reported ${item.status}, complete: ${item.complete}`);
}

/** Every violation of the model (empty when exactly once held), and what the SIGKILL window did. */
export function checkModel(sim: Simulator, runs: readonly DaemonRun[], enqueued: readonly Enqueued[]): { violations: string[]; stats: WindowStats } {
  const violations: string[] = [];
  const stats: WindowStats = { unnoted: 0, repeated: 0, maxTail: 0, misordered: 0, tails: [] };
  for (const run of runs) {
    if (run.signal !== 'SIGKILL' && run.exitCode !== 0) violations.push(`run ${run.index} (${run.signal ?? 'last'}) exited ${run.exitCode}`);
    if (run.torn !== '' && run.signal !== 'SIGKILL') violations.push(`run ${run.index}: a torn last line ${JSON.stringify(run.torn)}`);
    checkOrder(run, violations);
  }
  checkRepeats(runs, violations, stats);
  const all = runs.flatMap((r) => r.records);
  const runsOf = new Map<number, Set<number>>();
  for (const run of runs) for (const r of run.records) (runsOf.get(r.item_id) ?? runsOf.set(r.item_id, new Set()).get(r.item_id)!).add(run.index);
  const ours = new Set(enqueued.map((e) => e.itemId));
  for (const r of all) if (!ours.has(r.item_id)) violations.push(`a record of item ${r.item_id}, which the schedule did not enqueue`);
  for (const e of enqueued) checkItem(sim, e, all.filter((r) => r.item_id === e.itemId), (runsOf.get(e.itemId)?.size ?? 0) > 1, violations, stats);
  return { violations, stats };
}
