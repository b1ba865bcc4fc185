#!/usr/bin/env node
// Runs jest; with JEST_JSON_OUTPUT set (by .ci/run) it also writes the JSON results there, so CI can print a
// plain "N passed, N failed" line (CI does not read jest's own summary).
const { spawnSync } = require('node:child_process');

const args = [require.resolve('jest/bin/jest'), '--ci', ...process.argv.slice(2)];
if (process.env.JEST_JSON_OUTPUT) args.push('--json', `--outputFile=${process.env.JEST_JSON_OUTPUT}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
