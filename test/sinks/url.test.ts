import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { OutputsError } from '../../src/errors';
import { parseSinkUrl, sinkOutboxFile, sinkSecrets } from '../../src/sinks/url';

test('nats://user:pass@HOST:PORT/SUBJECT', () => {
  expect(parseSinkUrl('nats://farm:p%40ss%2Fw0rd@broker.example:4223/invokeai.outputs')).toEqual({
    kind: 'nats',
    host: 'broker.example',
    port: 4223,
    path: 'invokeai.outputs',
    username: 'farm',
    password: 'p@ss/w0rd',
    shown: 'nats://broker.example:4223/invokeai.outputs',
    secrets: ['p%40ss%2Fw0rd', 'p@ss/w0rd'],
  });
});

test('a lone NATS user part is a token, kept secret; default ports', () => {
  const t = parseSinkUrl('nats://s3cr3t-token@127.0.0.1/a.b');
  expect(t).toMatchObject({ port: 4222, username: 's3cr3t-token', shown: 'nats://127.0.0.1/a.b' });
  expect(t.secrets).toContain('s3cr3t-token');
  expect(parseSinkUrl('redis://localhost/outputs')).toMatchObject({ port: 6379, path: 'outputs' });
});

test('redis://:pass@ and redis://user:pass@', () => {
  expect(parseSinkUrl('redis://:hunter22@127.0.0.1:6380/farm:outputs')).toEqual({
    kind: 'redis',
    host: '127.0.0.1',
    port: 6380,
    path: 'farm:outputs',
    password: 'hunter22',
    shown: 'redis://127.0.0.1:6380/farm:outputs',
    secrets: ['hunter22', 'hunter22'],
  });
  expect(parseSinkUrl('redis://bot:hunter22@[::1]:6380/s')).toMatchObject({ host: '::1', username: 'bot', password: 'hunter22', shown: 'redis://[::1]:6380/s' });
  expect(sinkSecrets(['redis://bot:hunter22@h/s', 'nats://h/a', 'garbage'])).toEqual(['hunter22', 'hunter22']);
});

test.each([
  ['not a url', '--sink: not a URL'],
  ['http://127.0.0.1:8080/hook', '--sink: unsupported scheme http://'],
  ['nats://u:hunter22@127.0.0.1:4222', '--sink: nats://127.0.0.1:4222/: needs a subject like invokeai.outputs, without wildcards or spaces'],
  ['nats://u:hunter22@127.0.0.1:4222/', '--sink: nats://127.0.0.1:4222/: needs a subject'],
  ['nats://127.0.0.1:4222/outputs.*', '--sink: nats://127.0.0.1:4222/outputs.*: needs a subject'],
  ['nats://127.0.0.1:4222/a..b', '--sink: nats://127.0.0.1:4222/a..b: needs a subject'],
  ['redis://:hunter22@127.0.0.1:6379/', '--sink: redis://127.0.0.1:6379/: needs a stream name without spaces'],
  ['redis://127.0.0.1:6379/s?db=2', '--sink: redis://127.0.0.1:6379: no query or fragment is understood'],
  ['nats://127.0.0.1:99999/a', '--sink: not a URL'],
])('%s is refused in one line naming --sink, without credentials', (url, start) => {
  let err: unknown;
  try {
    parseSinkUrl(url);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(OutputsError);
  expect((err as OutputsError).code).toBe('BAD_USAGE');
  const msg = (err as Error).message;
  expect(msg.startsWith(start)).toBe(true);
  expect(msg).toMatch(/\(expected nats:\/\/\[user:pass@\]HOST:PORT\/SUBJECT or redis:\/\/\[\[user\]:pass@\]HOST:PORT\/STREAM\)$/);
  expect(msg).not.toContain('\n');
  expect(msg).not.toContain('hunter22');
});

test('the outbox beside --state is named by the URL without its credentials', () => {
  const a = sinkOutboxFile('/var/lib/x/state.json', parseSinkUrl('nats://u:one@h:4222/a.b'));
  expect(a).toMatch(/^\/var\/lib\/x\/state\.json\.sink-[0-9a-f]{12}$/);
  expect(sinkOutboxFile('/var/lib/x/state.json', parseSinkUrl('nats://u:two@h:4222/a.b'))).toBe(a);
  expect(sinkOutboxFile('/var/lib/x/state.json', parseSinkUrl('nats://h:4222/a.c'))).not.toBe(a);
});

describe('config: sinks', () => {
  test('--sink is repeatable and validated; a bad one exits 2 naming --sink', () => {
    expect(loadConfig({ flags: { sinks: ['nats://h/a.b', 'redis://h/s'] } }).sinks).toEqual(['nats://h/a.b', 'redis://h/s']);
    expect(loadConfig({}).sinks).toEqual([]);
    expect(() => loadConfig({ flags: { sinks: ['nats://h/a.b', 'kafka://h/t'] } })).toThrow(/^--sink: unsupported scheme kafka:\/\/.*, got "kafka:\/\/h\/t"$/);
  });

  test('the config file key `sinks` is a list of URLs, each checked', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ioo-sinks-')), 'c.json');
    writeFileSync(file, JSON.stringify({ sinks: ['redis://:hunter22@h:1/'] }));
    let msg = '';
    try {
      loadConfig({ configFile: file });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(new RegExp(`^config file ${file}: sinks\\[0\\]: redis://h:1/: needs a stream name`));
    expect(msg).not.toContain('hunter22');
    writeFileSync(file, JSON.stringify({ sinks: 'nats://h/a' }));
    expect(() => loadConfig({ configFile: file })).toThrow(/sinks: /);
  });
});
