#!/usr/bin/env node
// `npm run build`: a clean dist/ from src/ (a file left from an older build must not end up in the package).
const { rmSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (r.status !== 0) process.exit(r.status ?? 1);
// tsc compiles only .ts: the live page's sources (HTML, CSS, JS) go beside the compiled loader that inlines them.
require('./copy-page.js');
