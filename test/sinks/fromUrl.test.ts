import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { noopLogger } from '../../src/log';
import { parseSinkUrl, sinkOutboxFile, sinksFor } from '../../src/sinks/fromUrl';
import { freePort } from '../support/brokers';
import { Teardown, tempDir } from '../output/helpers';

const td = new Teardown();
afterEach(() => td.run());

test('the webhook first, then each --sink in the order given; outboxes beside the first server state without --state', async () => {
  const dir = await tempDir(td);
  const [np, rp] = [await freePort(), await freePort()];
  const nats = `nats://u:pw-1234@127.0.0.1:${np}/a.b`;
  const redis = `redis://:pw-5678@127.0.0.1:${rp}/s`;
  const cfg = loadConfig({
    flags: { webhook: 'http://127.0.0.1:1/hook', sinks: [nats, redis] },
    env: {},
  });
  const withServers = { ...cfg, servers: [{ url: 'http://127.0.0.1:2' }, { url: 'http://127.0.0.1:3', state: join(dir, 'render-3.json') }] };
  const sinks = sinksFor(withServers, noopLogger);
  for (const s of sinks) td.add(s, (x) => x.close());
  expect(sinks.map((s) => s.name)).toEqual(['http://127.0.0.1:1/hook', `nats://127.0.0.1:${np}/a.b`, `redis://127.0.0.1:${rp}/s`]);
  for (const s of sinks) await s.accept({ recordId: 'r1', type: 'item', line: '{"type":"item","item_id":1}' });
  const files = [join(dir, 'render-3.json.webhook-outbox'), sinkOutboxFile(join(dir, 'render-3.json'), parseSinkUrl(nats)), sinkOutboxFile(join(dir, 'render-3.json'), parseSinkUrl(redis))];
  for (const f of files) expect(readFileSync(f, 'utf8')).toContain('"body":"{\\"type\\":\\"item\\",\\"item_id\\":1}"');
  expect(existsSync(join(dir, 'render-3.json'))).toBe(false); // the cursor itself is the watcher's
});

test('the same sink twice (credentials aside) is refused: it would share one outbox', () => {
  const cfg = loadConfig({ flags: { sinks: ['nats://a:one@127.0.0.1:1/x.y', 'nats://b:two@127.0.0.1:1/x.y'] } });
  expect(() => sinksFor(cfg, noopLogger)).toThrow('--sink: nats://127.0.0.1:1/x.y is given twice');
});
