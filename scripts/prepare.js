#!/usr/bin/env node
// npm's `prepare` hook. In a checkout of the sources (`npm ci`, `npm install` of a git URL) it builds dist/; in an
// installed package, which ships dist/ and not src/, there is nothing to build and it does nothing.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
if (!existsSync(join(root, 'src')) || !existsSync(join(root, 'tsconfig.build.json'))) process.exit(0);
try {
  require.resolve('typescript/bin/tsc', { paths: [root] });
} catch {
  process.stderr.write('invokeai-outputs: not building dist/: TypeScript is not installed (an install without dev dependencies?)\n');
  process.exit(0);
}
const r = spawnSync(process.execPath, [join(__dirname, 'build.js')], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
