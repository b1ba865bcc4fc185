import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { Teardown } from '../support/harness';

/** Debian's chromium (.ci/run installs it); playwright-core never downloads a browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/** A headless chromium with a fresh profile of its own, closed and removed by the teardown. */
export async function browser(td: Teardown): Promise<BrowserContext> {
  const profile = td.add(mkdtempSync(join(tmpdir(), 'ioo-chromium-')), (d) => rmSync(d, { recursive: true, force: true }));
  return td.add(
    await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    }),
    (ctx) => ctx.close(),
  );
}

/**
 * Installed in the page before its own script: when each thumbnail finished loading and when each item first showed
 * a terminal status, by the page's clock (the same machine's clock as the test's).
 */
export const INSTRUMENT = `
  window.__loaded = {};
  window.__settled = {};
  document.addEventListener('load', (e) => {
    const t = e.target;
    if (t instanceof HTMLImageElement && t.dataset.imageName && !(t.dataset.imageName in window.__loaded)) window.__loaded[t.dataset.imageName] = Date.now();
  }, true);
  const settle = (li) => {
    const key = li.dataset.server + ' ' + li.dataset.itemId;
    if (li.dataset.status !== 'in_progress' && !(key in window.__settled)) window.__settled[key] = { at: Date.now(), status: li.dataset.status };
  };
  new MutationObserver((muts) => {
    for (const m of muts) {
      if (m.type === 'attributes' && m.target.matches('li.item')) settle(m.target);
      for (const n of m.addedNodes) if (n instanceof HTMLElement && n.matches('li.item')) settle(n);
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
`;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
