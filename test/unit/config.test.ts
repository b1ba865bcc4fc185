import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, loadConfig } from '../../src/config';
import { OutputsError } from '../../src/errors';

const tmp = mkdtempSync(join(tmpdir(), 'ioo-config-'));
function file(content: string): string {
  const p = join(tmp, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, content);
  return p;
}

describe('loadConfig', () => {
  it('layers defaults, file, env and flags in that order', () => {
    const cfgFile = file(JSON.stringify({ url: 'http://file:1', queue: 'q-file', drainTimeout: 5, logLevel: 'warn' }));
    const cfg = loadConfig({
      configFile: cfgFile,
      env: { INVOKEAI_QUEUE: 'q-env', LOG_LEVEL: 'debug' },
      flags: { logLevel: 'error' },
    });
    expect(cfg).toMatchObject({ urls: ['http://file:1'], queue: 'q-env', drainTimeout: 5, logLevel: 'error', includeIntermediate: false });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('names every bad key of a config file on one line', () => {
    const cfgFile = file(JSON.stringify({ url: 'ftp://x', drainTimeout: 'soon', colour: 'red' }));
    let err: unknown;
    try {
      loadConfig({ configFile: cfgFile });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutputsError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    expect(msg).toContain(cfgFile);
    for (const k of ['url', 'drainTimeout', 'colour']) expect(msg).toContain(k);
  });

  it('rejects unreadable and non-JSON files with the path', () => {
    expect(() => loadConfig({ configFile: join(tmp, 'missing.json') })).toThrow(/missing\.json: cannot read/);
    expect(() => loadConfig({ configFile: file('{nope') })).toThrow(/not valid JSON/);
  });

  it('names the flag or variable at fault', () => {
    expect(() => loadConfig({ flags: { drainTimeout: 'x' } })).toThrow(/--drain-timeout/);
    expect(() => loadConfig({ env: { LOG_LEVEL: 'loud' } })).toThrow(/LOG_LEVEL/);
    expect(loadConfig({ env: { INVOKEAI_URL: 'http://a:1, http://b:2' } }).urls).toEqual(['http://a:1', 'http://b:2']);
  });
});

describe('config/default.json', () => {
  it('documents every key with its default', () => {
    const path = join(__dirname, '../../config/default.json');
    const cfg = loadConfig({ configFile: path });
    expect(cfg).toEqual({ ...DEFAULT_CONFIG });
  });

  it('accepts a servers list and names a bad entry by its index', () => {
    const ok = loadConfig({ configFile: file(JSON.stringify({ servers: [{ url: 'http://a:1', queue: 'q', token: 'tok-a' }, { url: 'http://b:2' }] })) });
    expect(ok.urls).toEqual([]);
    expect(ok.servers).toEqual([{ url: 'http://a:1', queue: 'q', token: 'tok-a' }, { url: 'http://b:2' }]);
    expect(() => loadConfig({ configFile: file(JSON.stringify({ servers: [{ url: 'http://a:1' }, { queue: 'q' }] })) })).toThrow(/servers\[1\]\.url/);
  });
});
