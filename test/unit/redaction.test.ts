import { PassThrough } from 'node:stream';
import { AuthSession } from '../../src/invoke/auth';
import { createWinstonLogger } from '../../src/log';

function captured(): { log: ReturnType<typeof createWinstonLogger>; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { log: createWinstonLogger({ level: 'debug', stream, secrets: () => ['configured-secret'] }), text: () => text };
}

describe('secrets never reach a log line', () => {
  it('redacts configured secrets and tokens the server hands out later (a login, X-Refreshed-Token)', async () => {
    const { log, text } = captured();
    const auth = new AuthSession({ token: 'given-token-123' });
    auth.onRefreshedToken('refreshed-token-456');
    log.info('configured-secret given-token-123 refreshed-token-456 plain');
    log.child('ns').debug(() => 'lazy refreshed-token-456');
    await new Promise((r) => setImmediate(r));
    expect(text()).not.toMatch(/configured-secret|given-token-123|refreshed-token-456/);
    expect(text()).toContain('*** *** *** plain');
    expect(text()).toContain('lazy ***');
  });
});
