import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * The package as a user gets it: `npm pack` of the built checkout (once per run), installed by npm into a project
 * of its own in a temporary folder, then type-checked with TypeScript's defaults and loaded with require().
 * `npm test` builds dist/ before jest runs.
 */
const root = join(__dirname, '../..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const work = mkdtempSync(join(tmpdir(), 'ioo-consumer-'));
const consumer = join(work, 'consumer');
const installed = join(consumer, 'node_modules', 'invokeai-outputs');
let files: string[] = [];

const CONSUMER_TS = `
import { watchOutputs, runWorkflow, resolveItem, OutputsError, type ImageRecord, type ItemRecord, type OutputRecord } from 'invokeai-outputs';
import { startSimulator, sampleGraph, type Simulator, type SimulatorOptions } from 'invokeai-outputs/simulator';

export async function main(): Promise<void> {
  const options: SimulatorOptions = { port: 0, nodeDelayMs: 1 };
  const sim: Simulator = await startSimulator(options);
  const watcher = watchOutputs({ url: sim.url, queueId: 'default' });
  watcher.on('image', (r: ImageRecord) => console.log(r.image_name, r.board_id));
  watcher.on('item', (r: ItemRecord) => console.log(r.item_id, r.complete));
  watcher.on('error', (e: Error) => console.error(e.message));
  const { items } = await runWorkflow({ url: sim.url, graph: sampleGraph(), tempBoard: true });
  const { item } = await resolveItem({ url: sim.url, itemId: items[0]!.item_id });
  const record: OutputRecord = item;
  if (record.type === 'item') console.log(record.new_images.length);
  await watcher.close();
  await sim.close();
}

export function isOurs(err: unknown): boolean {
  return err instanceof OutputsError && err.code === 'NOT_INVOKEAI';
}

// Misuse must not compile, or the check would be vacuous (an unused @ts-expect-error is an error itself).
// @ts-expect-error itemId is a number
void resolveItem({ url: 'http://127.0.0.1:9090', itemId: '158' });
// @ts-expect-error an item record has no image_name
export const nope = ({} as ItemRecord).image_name;
`;

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
}

/** tsc on the consumer's index.ts (asynchronous, so that the settings below are checked side by side). */
function typecheck(flags: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsc, '--strict', '--noEmit', ...flags, 'index.ts'], { cwd: consumer });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

const NODE10 = ['--module', 'commonjs', '--moduleResolution', 'node10', '--ignoreDeprecations', '6.0'];
const SETTINGS: [string, string[]][] = [
  ['module commonjs with node10 resolution (TypeScript 5 defaults)', [...NODE10, '--listFiles']],
  ['TypeScript 6 defaults', []],
  ['module nodenext', ['--module', 'nodenext']],
];
let checked: Map<string, { code: number | null; out: string }>;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  // dist/ is already built: packing must not build again (and a tarball is what a registry would serve).
  const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], root)) as { filename: string; files: { path: string }[] }[];
  files = packed[0]!.files.map((f) => f.path);
  execFileSync('mkdir', ['-p', consumer]);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  writeFileSync(join(consumer, 'index.ts'), CONSUMER_TS);
  const tgz = join(work, packed[0]!.filename);
  const install = ['install', '--no-audit', '--no-fund', '--ignore-scripts', tgz];
  // From npm's cache alone when it holds everything (it does after `npm ci`, but for package metadata); else npm
  // may ask the registry for what the cache lacks.
  try {
    npm([...install, '--offline'], consumer);
  } catch {
    npm([...install, '--prefer-offline'], consumer);
  }
  checked = new Map(await Promise.all(SETTINGS.map(async ([what, flags]) => [what, await typecheck(flags)] as const)));
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed tarball', () => {
  it('ships the licence, the systemd unit and the build, and no sources or source maps', () => {
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'scripts/invokeai-outputs.service', 'dist/cli.js', 'dist/index.d.ts', 'dist/simulator/index.d.ts']));
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /^(src|test)\//.test(f))).toEqual([]);
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('does nothing in prepare once installed (there is no source to build)', () => {
    const r = spawnSync(process.execPath, [join(installed, 'scripts', 'prepare.js')], { cwd: installed, encoding: 'utf8' });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
    expect(existsSync(join(installed, 'src'))).toBe(false);
  });
});

describe('a TypeScript consumer of both entry points', () => {
  it.each(SETTINGS.map(([what]) => what))('type-checks with %s', (what) => {
    const r = checked.get(what)!;
    // --listFiles prints every file read: what is left is tsc's complaints.
    expect({ code: r.code, errors: r.out.split('\n').filter((l) => l && !l.startsWith('/') && l !== 'index.ts') }).toEqual({ code: 0, errors: [] });
  });

  it("never loads zod's declarations (the public types are plain)", () => {
    const loaded = checked.get(SETTINGS[0]![0])!.out.split('\n').filter(Boolean);
    expect(loaded.some((f) => f.includes('/node_modules/invokeai-outputs/dist/simulator/index.d.ts'))).toBe(true);
    expect(loaded.some((f) => f.includes('/node_modules/rxjs/'))).toBe(true);
    expect(loaded.filter((f) => f.includes('/node_modules/zod/'))).toEqual([]);
  });
});

describe('the installed package at run time', () => {
  it('loads both entry points with require()', () => {
    const out = execFileSync(process.execPath, ['-e', `
      const lib = require('invokeai-outputs');
      const sim = require('invokeai-outputs/simulator');
      console.log([lib.watchOutputs, lib.runWorkflow, lib.resolveItem, sim.startSimulator].map((f) => typeof f).join());
    `], { cwd: consumer, encoding: 'utf8' });
    expect(out.trim()).toBe('function,function,function,function');
  });

  it('installs the bin', () => {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(execFileSync(join(consumer, 'node_modules', '.bin', 'invokeai-outputs'), ['--version'], { encoding: 'utf8' }).trim()).toBe(version);
  });
});
