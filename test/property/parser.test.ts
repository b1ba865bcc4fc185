import fc from 'fast-check';
import { QUEUE_EVENT_NAMES, parseQueueEvent } from '../../src/invoke/wire';
import { imageNamesInResult } from '../../src/ledger/nodeKinds';
import { readFixture } from '../support/fixtures';

const example = readFixture<Record<string, unknown>>('examples/invocation_complete.image.l2i.json');

describe('parsing at the edge (property)', () => {
  it('never throws on arbitrary input, and always says why it refused', () => {
    fc.assert(
      fc.property(fc.constantFrom(...QUEUE_EVENT_NAMES, 'unknown_event'), fc.anything(), (name, payload) => {
        const r = parseQueueEvent(name, payload);
        if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws when any one field of a real payload is replaced by garbage', () => {
    const keys = Object.keys(example);
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.anything(), (key, value) => {
        const r = parseQueueEvent('invocation_complete', { ...example, [key]: value });
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });

  it('finds image names only as top-level ImageFields, whatever else a result holds', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.anything()), (result) => {
        for (const name of imageNamesInResult(result)) expect(typeof name).toBe('string');
      }),
    );
  });
});
