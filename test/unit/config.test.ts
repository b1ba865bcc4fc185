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

describe('loadConfig: values as people write them', () => {
  it('takes durations with units where milliseconds are expected', () => {
    expect(loadConfig({ flags: { drainTimeout: '10s' } }).drainTimeout).toBe(10_000);
    expect(loadConfig({ flags: { drainTimeout: '2500' } }).drainTimeout).toBe(2500);
    expect(loadConfig({ configFile: file(JSON.stringify({ drainTimeout: '2m' })) }).drainTimeout).toBe(120_000);
    expect(() => loadConfig({ flags: { drainTimeout: '-5' } })).toThrow('--drain-timeout: expected milliseconds, got "-5"');
  });

  it('never quotes a secret back', () => {
    expect(() => loadConfig({ flags: { password: '' } })).toThrow(/^--password: must not be empty$/);
    expect(() => loadConfig({ configFile: file(JSON.stringify({ servers: [{ url: 'http://a:1', token: 42 }] })) })).toThrow(/servers\[0\]\.token: expected a string$/);
  });
});

describe('loadConfig: the same server twice', () => {
  it('is the same after normalising scheme and host case, default port and trailing slash', () => {
    expect(() => loadConfig({ flags: { url: ['https://Host.example:443/invoke/', 'https://host.example/invoke'] } })).toThrow(
      '--url: https://host.example/invoke (queue default) is given twice',
    );
    expect(() => loadConfig({ env: { INVOKEAI_URL: 'http://a:9090 http://A:9090/' } })).toThrow('INVOKEAI_URL: http://a:9090 (queue default) is given twice');
  });

  it('is not the same with another queue, port or path prefix', () => {
    const cfg = loadConfig({
      flags: { url: ['http://a:9090', 'http://a:9091', 'http://a:9090/invoke'] },
      configFile: file(JSON.stringify({ servers: [{ url: 'http://a:9090', queue: 'other' }] })),
    });
    expect(cfg.urls).toHaveLength(3);
    expect(cfg.servers).toHaveLength(1);
  });

  it('a command that talks to one server refuses several, naming where they came from', () => {
    expect(() => loadConfig({ flags: { url: ['http://a:1', 'http://b:2'] }, singleServer: 'run' })).toThrow('--url: run talks to one server, got 2 ("http://a:1", "http://b:2")');
    expect(loadConfig({ flags: { url: ['http://a:1'] }, env: { INVOKEAI_URL: 'http://b:1,http://c:1' }, singleServer: 'run' }).urls).toEqual(['http://a:1']);
  });
});
