import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The fenced code block that follows `heading`. */
function blockAfter(heading: string): string {
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README has no ${heading}`);
  const open = readme.indexOf('```ts\n', at);
  return readme.slice(open + 6, readme.indexOf('```\n', open + 6));
}

describe('README', () => {
  it("shows the library example that test/types/readmeLibrary.ts type-checks, word for word", () => {
    const file = readFileSync(join(root, 'test/types/readmeLibrary.ts'), 'utf8');
    const checked = file.slice(file.indexOf('// README:begin\n') + 16, file.indexOf('// README:end')).replace("'../../src'", "'invokeai-outputs'");
    const shown = blockAfter('## Library\n');
    expect(shown).toBe(checked);
    for (const name of ['watchOutputs', 'runWorkflow', 'resolveItem']) expect(shown).toContain(`${name}(`);
  });

  it('names the Node.js version that package.json engines requires', () => {
    const engines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const min = /^>=(\d+\.\d+\.\d+)$/.exec(engines)?.[1];
    expect(min).toBeDefined();
    expect(readme).toContain(`Node.js ${min} or newer`);
    expect(readme.match(/Node\.js \d+\.\d+(\.\d+)? or newer/g)?.every((m) => m === `Node.js ${min} or newer`)).toBe(true);
  });
});
