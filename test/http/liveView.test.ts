import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { failing } from '../../src/demo/sampleWork';
import { sampleGraph } from '../../src/simulator';
import { cliWith, connectedTimes, type Spawned } from '../cli/spawn';
import { createBoard, enqueue, simulator, Teardown } from '../support/harness';
import { iterate, saveOne } from '../support/graphs';
import { browser, INSTRUMENT, median } from './browser';
import { get, until } from './support';

/*
 * The live page in a real browser (Debian's chromium), against a real `watch --http` process watching the
 * simulator: what a person sees, checked through the DOM the contract names.
 */
const td = new Teardown();
afterEach(() => td.run());
const cli = cliWith(td);
// The README's picture is rewritten only on request (UPDATE_SCREENSHOT=1): a test run leaves the checkout clean.
const SCREENSHOT = process.env['UPDATE_SCREENSHOT'] === '1'
  ? join(__dirname, '../../docs/live-view.png')
  : join(tmpdir(), `invokeai-outputs-live-view-${process.pid}.png`);

type Rec = Record<string, unknown> & { type: string; record_id: string; item_id: number; server: string };

/** Records as they come out of the daemon's stdout, with the moment each line arrived. */
function stdoutTimes(w: Spawned): Map<string, number> {
  const at = new Map<string, number>();
  let partial = '';
  w.child.stdout.on('data', (d: Buffer) => {
    const now = Date.now();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l) at.set((JSON.parse(l) as Rec).record_id, now);
  });
  return at;
}

async function listening(w: Spawned): Promise<string> {
  let url = '';
  await until(() => (url = / http listening on (http:\/\/\S+)$/m.exec(w.stderr())?.[1] ?? '') !== '', 10_000, 'the listening line');
  return url;
}

const itemSel = (r: { server: string; item_id: number }): string => `li.item[data-server="${r.server}"][data-item-id="${r.item_id}"]`;

async function visibleItemIds(page: Page): Promise<number[]> {
  const ids: number[] = [];
  for (const li of await page.locator('li.item').all()) if (await li.isVisible()) ids.push(Number(await li.getAttribute('data-item-id')));
  return ids;
}

type El = { complete: boolean; naturalWidth: number; dataset: Record<string, string> };

/** Within 2 s of its item record on stdout, each item shows its final status (by the page's own clock). */
async function expectSettledInTime(page: Page, items: Rec[], printedAt: Map<string, number>): Promise<void> {
  for (const item of items) await page.waitForSelector(`${itemSel(item)}[data-status="${String(item['status'])}"]`, { timeout: 2000 });
  const settled = await page.evaluate<Record<string, { at: number; status: string }>>('window.__settled');
  for (const item of items) {
    const s = settled[`${item.server} ${item.item_id}`];
    expect(s?.status).toBe(item['status']);
    expect(s!.at - printedAt.get(item.record_id)!).toBeLessThan(2000);
  }
  // Newest first, one element per item, with the attributes the contract names.
  const order = await page.locator('li.item').evaluateAll((els) => els.map((e) => Number((e as unknown as El).dataset['itemId'])));
  expect(order).toEqual(items.map((i) => i.item_id).reverse());
  for (const item of items) expect(await page.locator(itemSel(item)).getAttribute('data-complete')).toBe('true');
}

/** Every image: an <img> in its item, under its node, showing the board's name, that actually loaded. */
async function expectImages(page: Page, images: Rec[]): Promise<void> {
  for (const img of images) {
    const name = String(img['image_name']);
    const el = page.locator(`${itemSel(img)} section.node:has(h3 code:text-is("${String(img['node_id'])}")) img[data-image-name="${name}"]`);
    expect(await el.count()).toBe(1);
    expect(await el.getAttribute('src')).toBe(`/images/${img.record_id}/thumbnail`);
    expect(await el.getAttribute('alt')).toBe(`${name} — node ${String(img['node_id'])}`);
    expect(await el.getAttribute('loading')).toBe('lazy');
    await el.scrollIntoViewIfNeeded();
    await until(() => el.evaluate((e) => (e as unknown as El).complete && (e as unknown as El).naturalWidth > 0), 5000, `image ${name} loaded`);
    const boardName = await page.locator(`${itemSel(img)} section.node:has(img[data-image-name="${name}"]) .board`).textContent();
    expect(boardName).toBe(img['board_id'] === 'none' ? 'Uncategorized' : 'renders');
  }
}

/** A failed item at a glance: its status in words, its error, and another colour than a completed one. */
async function expectFailedShown(page: Page, failed: Rec, completed: Rec): Promise<void> {
  const el = page.locator(itemSel(failed));
  expect(await el.getAttribute('data-status')).toBe('failed');
  expect(await el.locator('.badge').first().innerText()).toBe('failed');
  expect(await el.locator('.error').innerText()).toContain(String(failed['error_type']));
  const colour = (sel: string): Promise<string> =>
    page.locator(sel).evaluate((e) => (globalThis as unknown as { getComputedStyle(e: unknown): { borderLeftColor: string } }).getComputedStyle(e).borderLeftColor);
  expect(await colour(itemSel(failed))).not.toBe(await colour(itemSel(completed)));
}

async function expectFilters(page: Page, items: Rec[], images: Rec[], board: string, server: string): Promise<void> {
  const failed = items.filter((i) => i['status'] === 'failed').map((i) => i.item_id);
  await page.selectOption('#f-status', 'failed');
  expect(await visibleItemIds(page)).toEqual(failed);
  await page.selectOption('#f-status', '');
  await page.selectOption('#f-board', { label: 'renders' });
  const onBoard = [...new Set(images.filter((i) => i['board_id'] === board).map((i) => i.item_id))];
  expect(await visibleItemIds(page)).toEqual(onBoard.reverse());
  await page.selectOption('#f-board', '');
  await page.selectOption('#f-server', server);
  expect(await visibleItemIds(page)).toHaveLength(items.length);
  await page.selectOption('#f-server', '');
  expect(await visibleItemIds(page)).toHaveLength(items.length);
}

/** Keyboard only: Tab reaches a thumbnail, Enter opens the full image, Escape closes it and focus comes back. */
async function expectKeyboardViewer(page: Page, url: string): Promise<void> {
  await page.evaluate('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)');
  let focused = '';
  for (let i = 0; i < 20 && !focused; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate<string>('document.activeElement.matches("a.thumb") ? document.activeElement.dataset.recordId : ""');
  }
  expect(focused).toMatch(/^[0-9a-f]{32}$/);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#viewer[open]');
  const full = page.locator('#viewer-img');
  expect(await full.getAttribute('src')).toBe(`${url}/images/${focused}/full`);
  await until(() => full.evaluate((e) => (e as unknown as El).naturalWidth > 0), 5000, 'the full image');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#viewer:not([open])', { state: 'attached' });
  expect(await page.evaluate('document.activeElement.dataset.recordId')).toBe(focused);
}

/** Measured, not asserted: stdout line → thumbnail loaded in the page, and the page's weight as served. */
async function report(page: Page, url: string, images: Rec[], printedAt: Map<string, number>): Promise<void> {
  const loaded = await page.evaluate<Record<string, number>>('window.__loaded');
  const lags = images.map((i) => loaded[String(i['image_name'])]! - printedAt.get(i.record_id)!).filter((x) => Number.isFinite(x));
  const plain = (await get(`${url}/`)).body.length;
  const gz = (await get(`${url}/`, { 'accept-encoding': 'gzip' })).body.length;
  process.stderr.write(
    `live view: page ${plain} B (${gz} B gzipped); record on stdout → thumbnail loaded: median ${median(lags)} ms over ${lags.length} images (${lags.sort((a, b) => a - b).join(', ')} ms)\n`,
  );
}

describe('the live page', () => {
  it('shows each run as it happens, with every image, its board, its failure, a filter, and the full image on Enter', async () => {
    const sim = await simulator(td, { nodeDelayMs: 15 });
    const board = await createBoard(sim, 'renders');
    const w = cli(['watch', '--url', sim.url, '--http', '127.0.0.1:0']);
    const printedAt = stdoutTimes(w);
    const url = await listening(w);
    await connectedTimes(w);

    const page = await (await browser(td)).newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript(INSTRUMENT);
    await page.goto(`${url}/`);
    await page.waitForSelector('#conn[data-state="live"]');
    expect(await page.locator('li.item').count()).toBe(0);

    // Runs submitted one after the other while the page is open: each must appear without a reload.
    const work = [sampleGraph({ boardId: board }), saveOne(board), iterate(3), saveOne(), failing(), iterate(2, board)];
    for (const [n, graph] of work.entries()) {
      await enqueue(sim, graph);
      await w.waitFor((rs) => rs.filter((r) => r['type'] === 'item').length === n + 1);
    }
    const records = w.records() as Rec[];
    const items = records.filter((r) => r.type === 'item');
    const images = records.filter((r) => r.type === 'image');
    expect(items.map((i) => i['status'])).toEqual(['completed', 'completed', 'completed', 'completed', 'failed', 'completed']);
    expect(images).toHaveLength(1 + 1 + 3 + 1 + 2);

    await expectSettledInTime(page, items, printedAt);
    await expectImages(page, images);
    await expectFailedShown(page, items[4]!, items[0]!);
    await expectFilters(page, items, images, board, sim.url);
    await expectKeyboardViewer(page, url);
    // Nothing from anywhere else, and no script errors.
    expect(requests.filter((r) => !r.startsWith(`${url}/`))).toEqual([]);
    expect(errors).toEqual([]);

    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.evaluate('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)');
    await page.screenshot({ path: SCREENSHOT });
    if (process.env['UPDATE_SCREENSHOT'] !== '1') rmSync(SCREENSHOT, { force: true });
    await report(page, url, images, printedAt);
  }, 60_000);
});
