import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Simulator } from '../../src/simulator';
import type { ImageRecord, ItemRecord, OutputRecord } from '../../src/records';
import { CLI, runCli, type Spawned } from '../cli/spawn';
import { FIXTURES } from '../support/fixtures';
import { api, sleep, type Teardown } from '../support/harness';

export type WorkflowName = 'sdxl-text-to-image' | 'flux-image-to-image' | 'sdxl-flux-refine';

/** Editor exports kept in test/fixtures/invokeai/workflows. */
const WORKFLOWS = join(FIXTURES, 'workflows');

export function workflowPath(name: WorkflowName): string {
  return join(WORKFLOWS, `${name}.json`);
}

/** An editor export from test/fixtures/invokeai/workflows. */
export function loadWorkflow(name: WorkflowName): Record<string, unknown> {
  return JSON.parse(readFileSync(workflowPath(name), 'utf8')) as Record<string, unknown>;
}

/** The input image of flux-image-to-image (its `image` node), which must exist before the run. */
export const FLUX_INPUT_IMAGE = 'e95bfe35-42f9-4693-968a-65ea655641a5.png';

/** A fresh folder removed at teardown. */
export function tempDir(td: Teardown, prefix = 'ioo-run-'): string {
  return td.add(mkdtempSync(join(tmpdir(), prefix)), (d) => rmSync(d, { recursive: true, force: true }));
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** The built CLI, killed at teardown if still running. */
export function cli(td: Teardown, args: string[], env?: Record<string, string>): Spawned {
  return td.add(runCli(args, env), killAndWait);
}

/** The built CLI with `input` written to its stdin. */
export function cliWithStdin(td: Teardown, args: string[], input: string): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '' }, stdio: 'pipe' });
  child.stdin.end(input);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const records = (): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const s: Spawned = {
    child,
    stdout: () => out,
    stderr: () => err,
    records,
    exited,
    waitFor: () => Promise.reject(new Error('not supported')),
  };
  return td.add(s, killAndWait);
}

function killAndWait(s: Spawned): Promise<number | null> {
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  return s.exited;
}

export const imagesOf = (rs: readonly (OutputRecord | Record<string, unknown>)[]): ImageRecord[] =>
  rs.filter((r) => r['type'] === 'image') as unknown as ImageRecord[];
export const itemsOf = (rs: readonly (OutputRecord | Record<string, unknown>)[]): ItemRecord[] =>
  rs.filter((r) => r['type'] === 'item') as unknown as ItemRecord[];

/** Non-intermediate images of a board as the server counts them (`none` = uncategorized). */
export function boardCount(sim: Simulator, boardId: string): number {
  return sim.store.imageNames(boardId).filter((n) => sim.store.getImage(n)?.is_intermediate === false).length;
}

/** Board ids the server lists, archived included. */
export async function boardIds(sim: Simulator): Promise<string[]> {
  return (await api<{ board_id: string }[]>(sim.url, 'GET', '/boards/?all=true')).map((b) => b.board_id);
}

/** The queue items of one batch, as the simulator stores them. */
export function itemsOfBatch(sim: Simulator, batchId: string): { item_id: number; status: string }[] {
  return sim.store.listQueueItems('default').filter((i) => i['batch_id'] === batchId) as unknown as { item_id: number; status: string }[];
}

/** Polls `test` every 10 ms until it holds. */
export async function until(test: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The one stderr line of an exit-2 run. */
export function oneLine(s: Spawned): string {
  const lines = s.stderr().split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}
