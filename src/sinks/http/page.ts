import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The live page as served: one HTML document with its CSS and JS inlined, and the policy that pins them. */
export interface LivePage {
  html: Buffer;
  /** The same bytes, gzipped once (browsers ask for it). */
  gzip: Buffer;
  /** Allows exactly the inlined script and style, and nothing from another origin. */
  csp: string;
  etag: string;
}

/** The page's sources: `page/` beside this file, in src/ and (copied by the build) in dist/. */
const DIR = join(__dirname, 'page');

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');

/**
 * Builds the page from `page/index.html`, replacing its `<link rel="stylesheet" href="style.css">` and
 * `<script src="app.js"></script>` by the files' contents, so the source stays three readable files and the page
 * one request that works offline.
 */
export function loadPage(dir = DIR): LivePage {
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  const css = read('style.css');
  const js = read('app.js');
  if (/<\/style/i.test(css) || /<\/script/i.test(js)) throw new Error('live page: a closing tag inside the inlined CSS or JS');
  let html = read('index.html');
  const inline = (tag: string, content: string): void => {
    if (!html.includes(tag)) throw new Error(`live page: index.html has no ${tag}`);
    html = html.replace(tag, () => content);
  };
  inline('<link rel="stylesheet" href="style.css">', `<style>${css}</style>`);
  inline('<script src="app.js"></script>', `<script>${js}</script>`);
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256(js)}'`,
    `style-src 'sha256-${sha256(css)}'`,
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  const bytes = Buffer.from(html, 'utf8');
  return { html: bytes, gzip: gzipSync(bytes, { level: 9 }), csp, etag: `"${sha256(html).slice(0, 27)}"` };
}
