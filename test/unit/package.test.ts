import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };

/** The built package, as a user's CommonJS and ESM code load it by name (`npm run build` first, as `npm test` does). */
describe('the package', () => {
  const run = (code: string, type: 'cjs' | 'esm'): string =>
    execFileSync(process.execPath, [...(type === 'esm' ? ['--input-type=module'] : []), '-e', code], {
      cwd: root,
      env: { ...process.env, NODE_PATH: '' },
      encoding: 'utf8',
    });

  it('exports the contract API to require() and import', () => {
    const names = ['watchOutputs', 'runWorkflow', 'resolveItem', 'OutputsError'];
    expect(run(`const m = require('${pkg.name}'); console.log(${JSON.stringify(names)}.map((n) => typeof m[n]).join())`, 'cjs').trim()).toBe(
      'function,function,function,function',
    );
    expect(run(`import { watchOutputs, runWorkflow, resolveItem } from '${pkg.name}'; console.log([watchOutputs, runWorkflow, resolveItem].map((f) => typeof f).join())`, 'esm').trim()).toBe(
      'function,function,function',
    );
    expect(run(`import { startSimulator } from '${pkg.name}/simulator'; console.log(typeof startSimulator)`, 'esm').trim()).toBe('function');
  });

  it('maps the bin to the built CLI, with its shebang', () => {
    const bin = pkg.bin['invokeai-outputs'];
    expect(bin).toBe('dist/cli.js');
    expect(readFileSync(join(root, bin!), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
