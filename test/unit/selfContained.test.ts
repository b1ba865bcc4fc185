import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/*
 * A clone stands alone: nothing in src/, test/, scripts/ or the CI entry may read files from outside the
 * repository (a user's clone has nothing beside it), and comments cite the repository's own docs/protocol.md.
 */
const ROOT = resolve(__dirname, '../..');
const SCANNED = ['src', 'test', 'scripts', '.ci', 'package.json', 'jest.config.js', 'eslint.config.mjs'];
const TEXT = /\.(ts|js|mjs|cjs|json|py|sh|md|service)$|^run$/;

function files(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  return readdirSync(path).flatMap((name) => (name === 'node_modules' || name === 'fixtures' ? [] : files(join(path, name))));
}

const sources = SCANNED.flatMap((p) => files(join(ROOT, p))).filter((f) => TEXT.test(f.split(sep).pop() ?? ''));
// This file names the patterns it forbids.
const scanned = sources.filter((f) => f !== __filename);

/** `join(__dirname, '…', '…')` / `resolve(__dirname, …)` with literal segments, resolved against the file's folder. */
function dirnameTargets(text: string, file: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\b(?:join|resolve)\(\s*__dirname\s*((?:,\s*'[^']*'\s*)+)\)/g)) {
    const parts = [...(m[1] ?? '').matchAll(/'([^']*)'/g)].map((p) => p[1] ?? '');
    out.push(resolve(dirname(file), ...parts));
  }
  return out;
}

describe('the repository stands alone', () => {
  it('scans a real set of files', () => {
    expect(scanned.length).toBeGreaterThan(100);
    expect(scanned.some((f) => f.endsWith(join('src', 'cli.ts')))).toBe(true);
  });

  it.each([
    ['a path into ../shared', /(\.\.\/)+shared\/|\/work\/shared|shared\/invokeai/],
    ['INVOKEAI_SHARED_DIR', /INVOKEAI_SHARED_DIR/],
    ['a citation of a protocol document that is not in the repository', /PROTOCOL(\.md)?\s*§|PROTOCOL\.md/],
  ])('no file holds %s', (_what, pattern) => {
    const hits = scanned.filter((f) => pattern.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f));
    expect(hits).toEqual([]);
  });

  it('every path built from __dirname stays inside the repository', () => {
    const outside = scanned.flatMap((f) =>
      dirnameTargets(readFileSync(f, 'utf8'), f)
        .filter((t) => relative(ROOT, t).startsWith('..'))
        .map((t) => `${relative(ROOT, f)} → ${t}`),
    );
    expect(outside).toEqual([]);
  });

  it('the target check itself sees a path that leaves the repository', () => {
    const fake = join(ROOT, 'test', 'unit', 'x.ts');
    expect(dirnameTargets("join(__dirname, '../../../shared/x')", fake).map((t) => relative(ROOT, t).startsWith('..'))).toEqual([true]);
  });

  it('every docs/protocol.md section cited in the code exists in docs/protocol.md', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'protocol.md'), 'utf8');
    const headings = new Set([...doc.matchAll(/^#+\s+(\d+(?:\.\d+)*)\b/gm)].map((m) => m[1]));
    const cited = new Set(scanned.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/docs\/protocol\.md §(\d+(?:\.\d+)*)/g)].map((m) => m[1] ?? '')));
    expect(cited.size).toBeGreaterThan(10);
    expect([...cited].filter((s) => !headings.has(s)).sort()).toEqual([]);
  });
});
