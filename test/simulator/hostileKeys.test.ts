/**
 * Keys the client chooses (node ids, field names, return keys, batch node paths, queue and board ids) that are also
 * names of `Object.prototype` members: the simulator must treat them as ordinary keys, end to end.
 */
import { graph, type Link } from '../support/graphs';
import { check, checkEvents } from './schemas';
import { api, Harness, waitTerminal, type EnqueueResult, type ImageDTO, type InvocationEvent, type QueueItem } from './support';

const HOSTILE = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
const QUEUE = 'constructor';

/** blank_image → img_blur → save_image, plus a workflow_return whose keys are hostile too. */
function hostileGraph(): Record<string, unknown> {
  const links: Link[] = [
    ['__proto__', 'image', 'constructor', 'image'],
    ['constructor', 'image', 'toString', 'image'],
  ];
  return graph(
    [
      { id: '__proto__', type: 'blank_image', width: 32, height: 16, use_cache: false },
      { id: 'constructor', type: 'img_blur', use_cache: false },
      // No board has this id: the image lands uncategorized (docs/protocol.md §4.2).
      { id: 'toString', type: 'save_image', board: { board_id: 'toString' } },
      { id: 'hasOwnProperty', type: 'workflow_return', values: [{ key: '__proto__', value: 1 }, { key: 'constructor', value: 'x' }] },
    ],
    links,
  );
}

const own = (o: object): string[] => Object.keys(o).sort();

describe('simulator: hostile keys', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('node ids, return keys, batch node paths and a queue named like Object.prototype members run end to end', async () => {
    const sim = await h.start();
    const hostile = await h.connect(sim, { queueId: QUEUE });
    const plain = await h.connect(sim);
    const data = [[{ node_path: '__proto__', field_name: 'width', items: [32, 48] }]];
    const enq = await api<EnqueueResult>(sim, 'POST', `/queue/${QUEUE}/enqueue_batch`, { batch: { graph: hostileGraph(), data, runs: 1 } });
    expect(enq.status).toBe(200);
    const other = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', {
      batch: { graph: graph([{ id: 'a', type: 'blank_image', width: 8, height: 8, use_cache: false }]), runs: 1 },
    });
    const ids = [...enq.json.item_ids].sort((x, y) => x - y);
    expect(ids).toHaveLength(2);
    await waitTerminal(hostile, ids);
    await waitTerminal(plain, other.json.item_ids);
    expect(checkEvents(hostile)).toEqual([]);

    for (const [n, itemId] of ids.entries()) {
      const width = [32, 48][n];
      const r = await api<QueueItem>(sim, 'GET', `/queue/${QUEUE}/i/${itemId}`);
      expect(check('SessionQueueItem', r.json, 'openapi-stored')).toEqual([]);
      const { session: s, field_values } = r.json;
      expect(r.json.status).toBe('completed');
      expect(field_values).toEqual([{ node_path: '__proto__', field_name: 'width', value: width }]);
      expect(own(s.graph.nodes)).toEqual([...HOSTILE].sort());
      expect(s.graph.nodes['__proto__']).toMatchObject({ id: '__proto__', type: 'blank_image', width });
      expect(own(s.source_prepared_mapping)).toEqual([...HOSTILE].sort());
      const prepared = HOSTILE.map((id) => s.source_prepared_mapping[id]?.[0] ?? '');
      expect(HOSTILE.map((id) => s.source_prepared_mapping[id]?.length)).toEqual([1, 1, 1, 1]);
      expect(own(s.prepared_source_mapping)).toEqual([...prepared].sort());
      expect(prepared.map((p) => s.prepared_source_mapping[p])).toEqual(HOSTILE);
      expect(own(s.execution_graph.nodes)).toEqual([...prepared].sort());
      expect(prepared.map((p) => [s.execution_graph.nodes[p]?.id, s.execution_graph.nodes[p]?.type])).toEqual(
        prepared.map((p, i) => [p, ['blank_image', 'img_blur', 'save_image', 'workflow_return'][i]]),
      );
      expect(own(s.results)).toEqual([...prepared].sort());
      const values = s.results[prepared[3] ?? '']?.['values'] as Record<string, unknown>;
      expect(own(values)).toEqual(['__proto__', 'constructor']);
      expect([values['__proto__'], values['constructor']]).toEqual([1, 'x']);

      const completes = hostile.of<InvocationEvent>('invocation_complete').filter((e) => e.item_id === itemId);
      // Topological order, ties in insertion order: the return node has no inputs.
      expect(completes.map((e) => e.invocation_source_id)).toEqual(['__proto__', 'hasOwnProperty', 'constructor', 'toString']);
      expect(completes.map((e) => [e.invocation_source_id, e.invocation.id]).sort()).toEqual(HOSTILE.map((id, i) => [id, prepared[i]]).sort());
      expect(own(completes.find((e) => e.invocation_source_id === 'hasOwnProperty')?.result?.['values'] as object)).toEqual(['__proto__', 'constructor']);
      for (const [i, source] of ['__proto__', 'constructor', 'toString'].entries()) {
        const name = (s.results[prepared[i] ?? '']?.['image'] as { image_name: string }).image_name;
        const dto = await api<ImageDTO>(sim, 'GET', `/images/i/${name}`);
        expect(check('ImageDTO', dto.json)).toEqual([]);
        expect([source, dto.json.session_id, dto.json.node_id, dto.json.width, dto.json.height, dto.json.board_id]).toEqual([source, r.json.session_id, prepared[i], width, 16, null]);
      }
    }

    const plainItem = await api<QueueItem>(sim, 'GET', `/queue/default/i/${other.json.item_ids[0] ?? 0}`);
    expect(plainItem.json.status).toBe('completed');
    expect(Object.values(plainItem.json.session.prepared_source_mapping)).toEqual(['a']);
    expect(Object.keys(plainItem.json.session.results)).toHaveLength(1);
    const status = await api<{ queue: Record<string, unknown> }>(sim, 'GET', `/queue/${QUEUE}/status`);
    expect(status.json.queue).toMatchObject({ queue_id: QUEUE, completed: 2, total: 2 });
    expect((await api<{ queue: Record<string, unknown> }>(sim, 'GET', '/queue/default/status')).json.queue).toMatchObject({ completed: 1, total: 1 });
    expect((await api(sim, 'GET', '/boards/__proto__')).status).toBe(404);
    // The simulator runs in this process: nothing leaked onto the real prototype.
    expect(({} as Record<string, unknown>)['width']).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  test('an edge to a node id that only Object.prototype has is a 422, not a run', async () => {
    const sim = await h.start();
    const g = graph([{ id: 'a', type: 'integer', value: 1 }], [['a', 'value', 'valueOf', 'value']]);
    const r = await api<{ detail: { type: string; msg: string }[] }>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: g, runs: 1 } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0]?.msg).toBe('Value error, Edge destination node valueOf does not exist in the graph');
    const data = [[{ node_path: 'toString', field_name: 'value', items: [1] }]];
    const d = await api<{ detail: { msg: string }[] }>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: graph([{ id: 'a', type: 'integer' }]), data, runs: 1 } });
    expect([d.status, d.json.detail[0]?.msg]).toEqual([422, 'Value error, Node toString not found in graph']);
    const t = await api<{ detail: { type: string }[] }>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: graph([{ id: 'a', type: 'constructor' }]), runs: 1 } });
    expect([t.status, t.json.detail[0]?.type]).toEqual([422, 'union_tag_invalid']);
    expect(sim.store.listQueueItems()).toHaveLength(0);
  });
});
