import { readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { runWorkflow } from '../../src/run/runWorkflow';
import type { Simulator } from '../../src/simulator';
import { createBoard, simulator, Teardown } from '../support/harness';
import { cachedBlank, saveOne, twoOutputs } from '../support/graphs';
import { FLUX_INPUT_IMAGE, cli, imagesOf, itemsOf, tempDir, workflowPath, writeJson } from './support';

const td = new Teardown();
afterEach(() => td.run());

async function fullBytes(sim: Simulator, name: string): Promise<Buffer> {
  const res = await fetch(`${sim.url}/api/v1/images/i/${name}/full`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** Every file under dir, relative, hidden ones included. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('run --download DIR', () => {
  it('saves each output to DIR/<board_id>/<image_name> with the server\'s bytes; records gain an absolute "file"', async () => {
    const sim = await simulator(td);
    const final = await createBoard(sim, 'final');
    const dir = tempDir(td);
    const r = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', twoOutputs('x')), '--temp-board', '--board', final, '--runs', '2', '--download', dir]);
    expect(await r.exited).toBe(0);
    const images = imagesOf(r.records());
    expect(images).toHaveLength(4);
    for (const img of images) {
      expect(img.file).toBe(join(dir, final, img.image_name));
      expect(isAbsolute(img.file!)).toBe(true);
      const bytes = readFileSync(img.file!);
      expect(bytes.subarray(0, 8)).toEqual(PNG);
      expect(bytes.equals(await fullBytes(sim, img.image_name))).toBe(true);
    }
    // only complete images: no temporary files, nothing under the temporary board's id
    expect(tree(dir)).toEqual(images.map((i) => join(final, i.image_name)).sort());
    // item records carry no file
    expect(itemsOf(r.records()).every((i) => !('file' in i))).toBe(true);
  });

  it('a second run into the same folder works and keeps what the first saved', async () => {
    const sim = await simulator(td);
    sim.seedImages('none', 1, { names: [FLUX_INPUT_IMAGE] });
    const dir = tempDir(td);
    const first = cli(td, ['run', '--url', sim.url, '--workflow', workflowPath('flux-image-to-image'), '--download', dir, '--quiet']);
    expect(await first.exited).toBe(0);
    const second = cli(td, ['run', '--url', sim.url, '--graph', writeJson(tempDir(td), 'g.json', saveOne()), '--download', dir, '--quiet']);
    expect(await second.exited).toBe(0);
    const all = [...imagesOf(first.records()), ...imagesOf(second.records())];
    expect(all).toHaveLength(2);
    for (const img of all) {
      expect(img.file).toBe(join(dir, 'none', img.image_name));
      expect(readFileSync(img.file!).equals(await fullBytes(sim, img.image_name))).toBe(true);
    }
    expect(tree(dir)).toEqual(all.map((i) => join('none', i.image_name)).sort());
  });

  it('an image already saved is not fetched again (a cache hit names the same image)', async () => {
    const sim = await simulator(td);
    const board = await createBoard(sim, 'cached');
    const dir = tempDir(td);
    const one = await runWorkflow({ url: sim.url, graph: cachedBlank(board), download: dir });
    const file = one.images[0]!.file!;
    const mtime = statSync(file).mtimeMs;
    const two = await runWorkflow({ url: sim.url, graph: cachedBlank(board), download: dir });
    expect(two.images[0]).toMatchObject({ image_name: one.images[0]!.image_name, cached: true, file });
    expect(two.items[0]!.new_images).toEqual([]);
    expect(statSync(file).mtimeMs).toBe(mtime);
    expect(tree(dir)).toEqual([join(board, one.images[0]!.image_name)]);
  });
});
