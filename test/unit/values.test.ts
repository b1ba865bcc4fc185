import { isHttpUrl, parseDuration, parseWhole, shown } from '../../src/values';

describe('values people type', () => {
  it('durations: plain numbers in the unit of the flag, or with a unit of their own', () => {
    expect(parseDuration('10', 's')).toBe(10_000);
    expect(parseDuration('10', 'ms')).toBe(10);
    expect([parseDuration('500ms', 's'), parseDuration('1.5s', 'ms'), parseDuration('2m', 'ms'), parseDuration('1h', 's')]).toEqual([500, 1500, 120_000, 3_600_000]);
    for (const bad of ['', 'soon', '-1', '1 d', '10sec', '1e3']) expect(parseDuration(bad, 's')).toBeNull();
  });

  it('whole numbers and URLs', () => {
    expect([parseWhole('42'), parseWhole('4.2'), parseWhole('x'), parseWhole('-1')]).toEqual([42, null, null, null]);
    expect(['http://a', 'https://a.b/invoke', 'HTTP://A:80/'].every(isHttpUrl)).toBe(true);
    expect(['ftp://a', 'a:1', 'http://', 'http://[::1', ''].some(isHttpUrl)).toBe(false);
  });

  it('quotes values without their credentials, and cuts long ones', () => {
    expect(shown('http://bot:pw@host/x')).toBe('"http://***@host/x"');
    expect(shown(7)).toBe('7');
    expect(shown(undefined)).toBe('nothing');
    expect(shown('x'.repeat(200))).toHaveLength(80);
  });
});
