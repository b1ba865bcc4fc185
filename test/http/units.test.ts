import { httpOrigin, isLoopbackHost, parseHttpAddress } from '../../src/sinks/http/address';
import { TokenGate } from '../../src/sinks/http/auth';
import { loadPage } from '../../src/sinks/http/page';
import { BoundedMap, RecordRing, type HeldRecord } from '../../src/sinks/http/recordStore';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('--http addresses', () => {
  it.each([
    [':8080', { host: '127.0.0.1', port: 8080, loopback: true }],
    [':0', { host: '127.0.0.1', port: 0, loopback: true }],
    ['127.0.0.1:9000', { host: '127.0.0.1', port: 9000, loopback: true }],
    ['127.8.9.10:1', { host: '127.8.9.10', port: 1, loopback: true }],
    ['localhost:80', { host: 'localhost', port: 80, loopback: true }],
    ['[::1]:8080', { host: '::1', port: 8080, loopback: true }],
    ['0.0.0.0:8080', { host: '0.0.0.0', port: 8080, loopback: false }],
    ['[::]:8080', { host: '::', port: 8080, loopback: false }],
    ['192.168.1.5:8080', { host: '192.168.1.5', port: 8080, loopback: false }],
    ['render-1.example.com:443', { host: 'render-1.example.com', port: 443, loopback: false }],
  ])('%s', (text, expected) => {
    expect(parseHttpAddress(text)).toEqual(expected);
  });

  it.each([['8080'], ['127.0.0.1'], ['127.0.0.1:'], ['127.0.0.1:70000'], ['::1:8080'], ['[127.0.0.1]:80'], ['a b:80'], ['http://127.0.0.1:80']])('rejects %s', (text) => {
    expect(() => parseHttpAddress(text)).toThrow();
  });

  it('knows loopback from the rest, IPv4-mapped and spelled-out IPv6 too', () => {
    expect(['::ffff:127.0.0.1', '0:0:0:0:0:0:0:1', 'LOCALHOST', '[::1]'].map(isLoopbackHost)).toEqual([true, true, true, true]);
    expect(['::ffff:10.0.0.1', '128.0.0.1', 'localhost.example.com', '', '::2'].map(isLoopbackHost)).toEqual([false, false, false, false, false]);
    expect(httpOrigin('::1', 80)).toBe('http://[::1]:80');
  });
});

describe('RecordRing', () => {
  const held = (n: number): HeldRecord => ({ id: `r${n}`, type: 'image', line: `{"n":${n}}` });

  it('keeps the newest `capacity` records in order and finds what followed an id it holds', () => {
    const ring = new RecordRing(3);
    expect(ring.recent()).toEqual([]);
    for (let i = 1; i <= 5; i++) ring.push(held(i));
    expect(ring.size).toBe(3);
    expect(ring.recent().map((h) => h.id)).toEqual(['r3', 'r4', 'r5']);
    expect(ring.recent(2).map((h) => h.id)).toEqual(['r4', 'r5']);
    expect(ring.after('r3')?.map((h) => h.id)).toEqual(['r4', 'r5']);
    expect(ring.after('r5')).toEqual([]);
    expect(ring.after('r2')).toBeNull(); // pushed out
    expect(ring.after('nope')).toBeNull();
  });

  it('a record seen twice is found at its newest place, and forgetting the old copy keeps the new one', () => {
    const ring = new RecordRing(2);
    ring.push(held(1));
    ring.push(held(2));
    ring.push(held(1));
    expect(ring.after('r1')).toEqual([]);
    ring.push(held(3));
    expect(ring.after('r1')?.map((h) => h.id)).toEqual(['r3']);
  });

  it('BoundedMap forgets its oldest entries', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 3); // refreshed: now the newest
    m.set('c', 4);
    expect([m.has('a'), m.has('b'), m.get('c')]).toEqual([true, false, 4]);
  });
});

describe('TokenGate', () => {
  it('compares whole tokens only', () => {
    const gate = new TokenGate('secret-token');
    expect(['secret-token', 'secret-toke', 'secret-token ', '', 'SECRET-TOKEN'].map((t) => gate.isToken(t))).toEqual([true, false, false, false, false]);
    expect(new TokenGate(null).open).toBe(true);
  });
});

describe('the page', () => {
  it('inlines its CSS and JS and pins them in the policy; refuses sources it cannot inline safely', () => {
    const page = loadPage();
    const html = page.html.toString('utf8');
    expect(html).toMatch(/<style>[\s\S]+<\/style>/);
    expect(html).toMatch(/<script>[\s\S]+<\/script>/);
    expect(html).not.toMatch(/src="app\.js"|href="style\.css"/);
    const dir = mkdtempSync(join(tmpdir(), 'ioo-page-'));
    writeFileSync(join(dir, 'index.html'), '<link rel="stylesheet" href="style.css"><script src="app.js"></script>');
    writeFileSync(join(dir, 'style.css'), 'p{}');
    writeFileSync(join(dir, 'app.js'), 'const s = "</script>";');
    expect(() => loadPage(dir)).toThrow(/closing tag/);
    writeFileSync(join(dir, 'app.js'), 'void 0;');
    writeFileSync(join(dir, 'index.html'), '<script src="app.js"></script>');
    expect(() => loadPage(dir)).toThrow(/no <link/);
  });
});
