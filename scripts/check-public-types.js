#!/usr/bin/env node
// Lists the chains of public declarations (from dist/index.d.ts and dist/simulator/index.d.ts) that reach zod.
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
const seen = new Set();
const bad = [];
function walk(file, chain) {
  if (seen.has(file) || !fs.existsSync(file)) return;
  seen.add(file);
  const text = fs.readFileSync(file, 'utf8');
  if (/from ['"]zod['"]|import\(['"]zod['"]\)/.test(text)) bad.push([...chain, file].map((f) => path.relative(dist, f)).join(' -> '));
  for (const m of text.matchAll(/(?:from |import\()['"](\.[^'"]+)['"]/g)) {
    let p = path.resolve(path.dirname(file), m[1]);
    if (!p.endsWith('.d.ts')) p = fs.existsSync(`${p}.d.ts`) ? `${p}.d.ts` : path.join(p, 'index.d.ts');
    walk(p, [...chain, file]);
  }
}
walk(path.join(dist, 'index.d.ts'), []);
walk(path.join(dist, 'simulator', 'index.d.ts'), []);
process.stdout.write(bad.length ? `${bad.join('\n')}\n` : 'no public declaration reaches zod\n');
process.exit(bad.length ? 1 : 0);
