import { createHash } from 'node:crypto';
import { recordId } from '../../src/records';

describe('record_id', () => {
  const server = 'http://127.0.0.1:9090';
  const session = 'ac6952ec-50e5-4b79-a5f8-4da49e96b311';

  it('is the first 32 hex digits of SHA-256 over the contract text', () => {
    const sha = (t: string): string => createHash('sha256').update(t).digest('hex').slice(0, 32);
    expect(recordId(server, session, 'default', 231)).toBe(sha(`${server}\n${session}\nitem`));
    expect(recordId(server, session, 'default', 231, 'a.png')).toBe(sha(`${server}\n${session}\nimage\na.png`));
    expect(recordId(server, session, 'default', 231)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('differs between facts and between servers, and ignores the item id when the session is known', () => {
    const ids = new Set([
      recordId(server, session, 'default', 1),
      recordId(server, session, 'default', 1, 'a.png'),
      recordId(server, session, 'default', 1, 'b.png'),
      recordId('http://other:9090', session, 'default', 1),
      recordId(server, 'another-session', 'default', 1),
    ]);
    expect(ids.size).toBe(5);
    // the same session after a database reset gave its item another id: the same fact
    expect(recordId(server, session, 'default', 7)).toBe(recordId(server, session, 'default', 231));
  });

  it('keys an item whose session is unknown by its queue and id', () => {
    expect(recordId(server, null, 'default', 5)).not.toBe(recordId(server, null, 'default', 6));
    expect(recordId(server, null, 'default', 5)).not.toBe(recordId(server, null, 'other', 5));
  });
});
