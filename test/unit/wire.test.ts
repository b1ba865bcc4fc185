import { parseQueueEvent } from '../../src/invoke/wire';
import { readFixture } from '../support/fixtures';

const load = (f: string): unknown => readFixture(`examples/${f}`);

describe('parseQueueEvent', () => {
  it('normalises a HEAD invocation_complete', () => {
    const r = parseQueueEvent('invocation_complete', load('invocation_complete.image.l2i.json'));
    expect(r.ok).toBe(true);
    if (!r.ok || r.event.kind !== 'complete') throw new Error('not a complete event');
    expect(r.event).toMatchObject({
      queueId: 'default',
      itemId: 231,
      sessionId: 'ac6952ec-50e5-4b79-a5f8-4da49e96b311',
      sourceId: 'canvas_output:JbPTiAJ26r',
      userId: 'system',
    });
    expect(r.event.invocation.id).toBe('5cc84c5a-16bd-4fa1-8060-58659056f06d');
    expect(r.event.result).toMatchObject({ image: { image_name: 'dbe9d2fa-4670-47cd-8ccf-64788c8e78f4.png' } });
  });

  it('normalises a terminal status event with its sequence', () => {
    const r = parseQueueEvent('queue_item_status_changed', load('queue_item_status_changed.completed.json'));
    expect(r).toMatchObject({ ok: true, event: { kind: 'status', itemId: 231, status: 'completed', sequence: 2 } });
  });

  it('maps 3.2–4.2.3 field names onto the same event', () => {
    const legacy = {
      queue_id: 'default',
      queue_item_id: 7,
      queue_batch_id: 'b',
      graph_execution_state_id: 's',
      node: { id: 'p1', type: 'l2i', is_intermediate: false },
      source_node_id: 'n1',
      result: { type: 'image_output', image: { image_name: 'x.png' }, width: 8, height: 8 },
    };
    const r = parseQueueEvent('invocation_complete', legacy);
    expect(r).toMatchObject({ ok: true, event: { kind: 'complete', itemId: 7, batchId: 'b', sessionId: 's', sourceId: 'n1' } });
    const nested = { queue_id: 'default', queue_item: { item_id: 7, batch_id: 'b', session_id: 's', status: 'failed', error: 'Traceback\nValueError: bad seed' } };
    expect(parseQueueEvent('queue_item_status_changed', nested)).toMatchObject({
      ok: true,
      event: { itemId: 7, status: 'failed', errorType: 'ValueError', errorMessage: 'bad seed', sequence: null },
    });
  });

  it.each([
    ['invocation_complete', null],
    ['invocation_complete', 'text'],
    ['invocation_complete', { queue_id: 'default', item_id: 'seven' }],
    ['queue_item_status_changed', { queue_id: 1 }],
    ['queue_items_canceled', { queue_id: 'default', canceled_item_ids: 'all' }],
    ['no_such_event', {}],
  ])('rejects a malformed %s payload with a reason instead of throwing', (name, payload) => {
    const r = parseQueueEvent(name, payload);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
  });
});
