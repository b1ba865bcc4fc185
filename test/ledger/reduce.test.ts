import { reduceItem } from '../../src/ledger/reduce';
import type { ItemState } from '../../src/ledger/state';
import type { Effect, ItemInput } from '../../src/ledger/types';
import type { ImageRecord, ItemRecord } from '../../src/records';
import { completed, dto, imageResult, ledgerOptions, queueItem, session, started, status } from './support';

type Input = ItemInput extends infer T ? (T extends unknown ? Omit<T, 'at'> : never) : never;

/** Feeds inputs one by one, collecting every effect. */
function feed(inputs: Input[], opts = ledgerOptions(), from?: ItemState): { state: ItemState; effects: Effect[] } {
  let state = from;
  const effects: Effect[] = [];
  let at = 1_000;
  for (const input of inputs) {
    const step = reduceItem(state, { ...input, at: at++ }, { queueId: 'default', itemId: 7 }, opts);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state: state!, effects };
}

const emitted = (fx: Effect[]): (ImageRecord | ItemRecord)[] => fx.flatMap((e) => (e.kind === 'emit' ? [e.record] : []));

describe('item ledger', () => {
  it('confirms a socket image by its DTO, then reads the queue item at the end, and reports complete', () => {
    const a = feed([status('in_progress'), started('p1', 'out'), completed('p1', 'out', ['a.png'])]);
    expect(a.effects).toEqual([{ kind: 'lookup', names: ['a.png'] }]);
    const b = feed([{ kind: 'lookups', outcomes: new Map([['a.png', { kind: 'found', dto: dto('a.png', 'p1') }]]) }, status('completed')], undefined, a.state);
    const image = emitted(b.effects)[0] as ImageRecord;
    expect(image).toMatchObject({ type: 'image', node_id: 'out', prepared_node_id: 'p1', image_name: 'a.png', board_id: 'none', via: 'socket', cached: false, item_id: 7 });
    const rung = b.effects.find((e) => e.kind === 'rung');
    expect(rung).toMatchObject({ kind: 'rung', rung: 'queue_item' });
    const c = feed([{ kind: 'rung', outcome: { rung: 'queue_item', kind: 'item', item: queueItem(session({ p1: imageResult('a.png') }, { p1: 'out' })), sessionAuthoritative: true } }], undefined, b.state);
    const item = emitted(c.effects)[0] as ItemRecord;
    expect(item).toMatchObject({ type: 'item', status: 'completed', complete: true, new_images: ['a.png'], via: ['socket'] });
    expect(item.nodes['out']).toEqual({ node_type: 'save_image', board_id: 'none', image_names: ['a.png'] });
    expect(c.effects.at(-1)).toEqual({ kind: 'done' });
  });

  it('an empty results answer for a node that ran and saves images is no evidence: the listing rung runs', () => {
    const a = feed([status('in_progress'), started('p1', 'out'), status('completed')]);
    const b = feed([{ kind: 'rung', outcome: { rung: 'queue_item', kind: 'item', item: queueItem(session({}, {}, { written: false })), sessionAuthoritative: false } }], undefined, a.state);
    expect(b.effects).toEqual([expect.objectContaining({ kind: 'rung', rung: 'listing' })]);
    const c = feed([{ kind: 'rung', outcome: { rung: 'listing', kind: 'images', dtos: [dto('a.png', 'p1')], exhaustive: true, note: null } }], undefined, b.state);
    const [image, item] = emitted(c.effects) as [ImageRecord, ItemRecord];
    expect(image).toMatchObject({ image_name: 'a.png', node_id: 'out', via: 'board_diff' });
    expect(item).toMatchObject({ complete: true, new_images: ['a.png'] });
  });

  it('a listing that could not reach back to the item leaves it incomplete, with a warning saying why', () => {
    const a = feed([status('in_progress'), started('p1', 'out'), status('completed'), { kind: 'rung', outcome: { rung: 'queue_item', kind: 'item', item: queueItem(null), sessionAuthoritative: false } }]);
    const b = feed([{ kind: 'rung', outcome: { rung: 'listing', kind: 'images', dtos: [], exhaustive: false, note: 'the listing of board none stopped after 5000 images' } }], undefined, a.state);
    expect(emitted(b.effects)[0]).toMatchObject({ type: 'item', complete: false });
    const warning = b.effects.find((e): e is Extract<Effect, { kind: 'warn' }> => e.kind === 'warn');
    expect(warning?.message).toMatch(/stopped after 5000 images/);
  });

  it('a failed lookup that later succeeds leaves the item complete', () => {
    const a = feed([status('in_progress'), completed('p1', 'out', ['a.png']), { kind: 'lookups', outcomes: new Map([['a.png', { kind: 'failed', error: 'HTTP 500' }]]) }, status('completed')]);
    const b = feed([{ kind: 'rung', outcome: { rung: 'queue_item', kind: 'item', item: queueItem(session({ p1: imageResult('a.png') }, { p1: 'out' })), sessionAuthoritative: true } }], undefined, a.state);
    expect(b.effects).toEqual([{ kind: 'lookup', names: ['a.png'] }]);
    const c = feed([{ kind: 'lookups', outcomes: new Map([['a.png', { kind: 'found', dto: dto('a.png', 'p1') }]]) }], undefined, b.state);
    expect(emitted(c.effects).map((r) => r.type)).toEqual(['image', 'item']);
    expect(emitted(c.effects)[1]).toMatchObject({ complete: true });
  });

  it('a canceled item with a node still running waits the grace, then reads the item', () => {
    const a = feed([status('in_progress'), started('p1', 'out'), status('canceled')]);
    expect(a.effects).toEqual([{ kind: 'wait', ms: 3000, why: 'cancel_grace' }]);
    const b = feed([completed('p1', 'out', ['late.png'])], undefined, a.state);
    expect(b.effects.map((e) => e.kind)).toEqual(['lookup']);
    const c = feed([{ kind: 'lookups', outcomes: new Map([['late.png', { kind: 'found', dto: dto('late.png', 'p1') }]]) }], undefined, b.state);
    expect(c.effects.map((e) => e.kind)).toEqual(['emit', 'rung']);
  });

  it('a node id like __proto__ is an ordinary key', () => {
    const a = feed([status('in_progress'), completed('p1', '__proto__', ['a.png']), { kind: 'lookups', outcomes: new Map([['a.png', { kind: 'found', dto: dto('a.png', 'p1') }]]) }, status('completed')]);
    const b = feed([{ kind: 'rung', outcome: { rung: 'queue_item', kind: 'item', item: queueItem(session({ p1: imageResult('a.png') }, { p1: '__proto__' })), sessionAuthoritative: true } }], undefined, a.state);
    const item = emitted(b.effects)[0] as ItemRecord;
    expect(Object.keys(item.nodes)).toEqual(['__proto__']);
    expect((JSON.parse(JSON.stringify(item)) as ItemRecord).nodes).toEqual(JSON.parse('{"__proto__":{"node_type":"save_image","board_id":"none","image_names":["a.png"]}}') as unknown);
  });
});
