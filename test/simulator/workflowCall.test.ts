/**
 * The simulator's saved-workflow calls (HEAD/6.14, docs/protocol.md §8.8; workflow_call_runtime.py, session_queue_sqlite.py):
 * the workflow library routes, the parent/child life cycle and its events, and every new payload validated against
 * openapi-head.json like fidelity.test.ts does.
 */
import type { Simulator } from '../../src/simulator';
import { callableWorkflow, callerGraph, editorNode, editorWorkflow, forwardingWorkflow, graph, savedInput } from '../support/graphs';
import { check, checkEach, checkEvents } from './schemas';
import { api, Harness, waitFor, waitTerminal, type Client, type EnqueueResult, type ImageDTO, type InvocationEvent, type QueueItem, type StatusEvent } from './support';

interface WorkflowCallFields {
  workflow_call_id?: string;
  parent_item_id?: number;
  parent_session_id?: string;
  root_item_id?: number;
  workflow_call_depth?: number;
}
type CallItem = QueueItem & WorkflowCallFields & { session: QueueItem['session'] & Record<string, unknown> };


async function enqueue(sim: Simulator, g: unknown): Promise<number> {
  const r = await api<EnqueueResult>(sim, 'POST', '/queue/default/enqueue_batch', { batch: { graph: g, runs: 1 } });
  expect(r.status).toBe(200);
  return r.json.item_ids[0]!;
}

async function item(sim: Simulator, itemId: number): Promise<CallItem> {
  const r = await api<CallItem>(sim, 'GET', `/queue/default/i/${itemId}`);
  expect(r.status).toBe(200);
  return r.json;
}

async function save(sim: Simulator, workflow: unknown): Promise<string> {
  const r = await api<{ workflow_id: string }>(sim, 'POST', '/workflows/', { workflow });
  expect(r.status).toBe(200);
  expect(check('WorkflowRecordDTO', r.json)).toEqual([]);
  return r.json.workflow_id;
}

const statuses = (c: Client, itemId: number): [string, number | null][] =>
  c.of<StatusEvent>('queue_item_status_changed').filter((e) => e.item_id === itemId).map((e) => [e.status, e.status_sequence]);

describe('simulator: saved-workflow calls', () => {
  const h = new Harness();
  afterEach(() => h.close());

  test('the library: POST /workflows/ and GET /workflows/i/{id} answer the real DTOs', async () => {
    const sim = await h.start();
    const wf = callableWorkflow();
    const created = await api<Record<string, unknown>>(sim, 'POST', '/workflows/', { workflow: { ...wf, id: 'ignored', extra: 1 } });
    expect(created.status).toBe(200);
    expect(check('WorkflowRecordDTO', created.json)).toEqual([]);
    const id = created.json['workflow_id'] as string;
    expect(created.json).toMatchObject({ name: 'callable', user_id: 'system', is_public: true, opened_at: null, workflow: { ...wf, id } });
    expect(created.json['workflow']).not.toHaveProperty('extra');
    const got = await api<Record<string, unknown>>(sim, 'GET', `/workflows/i/${id}`);
    expect(got.status).toBe(200);
    expect(check('WorkflowRecordWithThumbnailDTO', got.json)).toEqual([]);
    expect(got.json).toMatchObject({ workflow_id: id, thumbnail_url: null, call_saved_workflow_compatibility: { is_callable: true, reason: 'ok', message: null } });
    expect(sim.saveWorkflow(wf).workflow_id).not.toBe(id);

    const noReturn = await save(sim, editorWorkflow('plain', [editorNode('a', 'add')], []));
    expect((await api<Record<string, unknown>>(sim, 'GET', `/workflows/i/${noReturn}`)).json['call_saved_workflow_compatibility']).toMatchObject({
      is_callable: false,
      reason: 'missing_workflow_return',
    });
    expect((await api(sim, 'GET', '/workflows/i/nope')).status).toBe(404);
    const bad = await api<{ detail: { type: string; loc: unknown[] }[] }>(sim, 'POST', '/workflows/', { workflow: { ...wf, meta: { version: 'x', category: 'user' }, nodes: 3 } });
    expect(bad.status).toBe(422);
    expect(bad.json.detail.map((d) => [d.type, d.loc])).toEqual([
      ['value_error', ['body', 'workflow', 'meta', 'version']],
      ['list_type', ['body', 'workflow', 'nodes']],
    ]);
  });

  test('a call runs like HEAD: child enqueued (pending), parent waiting, child runs, parent resumes; payloads valid', async () => {
    // 100 ms per node: the waiting parent can be read while its child runs.
    const sim = await h.start({ nodeDelayMs: 100 });
    const c = await h.connect(sim);
    const workflowId = await save(sim, callableWorkflow());
    const parentId = await enqueue(sim, callerGraph(workflowId, { width: 80 }));
    const childId = parentId + 1;

    await waitFor(() => statuses(c, parentId).some(([s]) => s === 'waiting'), 'the parent waiting');
    const waiting = await item(sim, parentId);
    expect(check('SessionQueueItem', waiting, 'openapi-stored')).toEqual([]);
    expect(waiting.status).toBe('waiting');
    // Saved when it suspended: the results so far, and the call it waits on.
    expect(Object.values(waiting.session.prepared_source_mapping)).toContain('before');
    expect(Object.keys(waiting.session.results)).toHaveLength(1);
    expect(waiting.session['waiting_workflow_call']).toMatchObject({ source_call_node_id: 'call', workflow_id: workflowId, depth: 1 });
    expect(waiting.session['waiting_workflow_call_execution']).toMatchObject({ status: 'running_child', child_item_ids: [childId], expected_child_count: 1 });
    const pendingChild = await item(sim, childId);
    expect((waiting.session['waiting_workflow_call_child_session'] as { id: string }).id).toBe(pendingChild.session_id);

    await waitTerminal(c, [parentId]);
    expect(checkEvents(c)).toEqual([]);
    const parent = await item(sim, parentId);
    const child = await item(sim, childId);
    expect(checkEach('SessionQueueItem', [parent, child], 'openapi-stored')).toEqual([]);
    expect(JSON.stringify([parent, child])).not.toContain(':null');

    expect(parent).toMatchObject({ status: 'completed', status_sequence: 5 });
    for (const k of ['workflow_call_id', 'parent_item_id', 'parent_session_id', 'root_item_id', 'workflow_call_depth']) expect(parent).not.toHaveProperty(k);
    const call = (parent.session['workflow_call_history'] as Record<string, unknown>[])[0];
    expect(child).toMatchObject({
      status: 'completed',
      batch_id: parent.batch_id,
      priority: parent['priority'],
      workflow_call_id: call?.['id'],
      parent_item_id: parentId,
      parent_session_id: parent.session_id,
      root_item_id: parentId,
      workflow_call_depth: 1,
    });
    expect(child).not.toHaveProperty('field_values');
    expect(child).not.toHaveProperty('workflow');
    expect(child.session_id).not.toBe(parent.session_id);
    expect(child.session['workflow_call_stack']).toEqual([{ prepared_call_node_id: call?.['prepared_call_node_id'], source_call_node_id: 'call', workflow_id: workflowId, depth: 1 }]);
    expect(child.session['workflow_call_parent']).toMatchObject({ workflow_call_id: call?.['id'], parent_session_id: parent.session_id });
    expect(call).toMatchObject({ status: 'completed', child_item_ids: [childId], completed_child_item_ids: [childId] });
    expect(parent.session).not.toHaveProperty('waiting_workflow_call');

    // Status order of HEAD: the child's `pending` before the parent's `waiting`; the parent resumes through `pending`.
    expect(statuses(c, parentId)).toEqual([['in_progress', 1], ['waiting', 2], ['pending', 3], ['in_progress', 4], ['completed', 5]]);
    expect(statuses(c, childId)).toEqual([['pending', 0], ['in_progress', 1], ['completed', 2]]);
    const order = c.of<StatusEvent>('queue_item_status_changed').map((e) => `${e.item_id}:${e.status}`);
    expect(order.indexOf(`${childId}:pending`)).toBeLessThan(order.indexOf(`${parentId}:waiting`));
    expect(order.indexOf(`${childId}:completed`)).toBeLessThan(order.indexOf(`${parentId}:pending`));
    expect(c.of('batch_enqueued')).toHaveLength(1);

    // The call node completes in the parent with the child's return: an image made by the child's session.
    const completes = c.of<InvocationEvent>('invocation_complete');
    const callDone = completes.filter((e) => e.invocation.type === 'call_saved_workflow');
    expect(callDone).toHaveLength(1);
    expect(callDone[0]).toMatchObject({ item_id: parentId, session_id: parent.session_id, invocation_source_id: 'call' });
    const returned = (callDone[0]!.result!['values'] as { image: { image_name: string } }).image.image_name;
    const dto = await api<ImageDTO>(sim, 'GET', `/images/i/${returned}`);
    expect(dto.json).toMatchObject({ session_id: child.session_id, width: 80, height: 48 });
    expect(completes.filter((e) => e.item_id === childId).every((e) => e.session_id === child.session_id)).toBe(true);
    expect(c.of<InvocationEvent>('invocation_started').filter((e) => e.invocation.type === 'call_saved_workflow')).toHaveLength(1);
    const batch = await api(sim, 'GET', `/queue/default/b/${parent.batch_id}/status`);
    expect(check('BatchStatus', batch.json)).toEqual([]);
    expect(batch.json).toMatchObject({ completed: 2, total: 2, waiting: 0 });
  });

  test('inputs: literal, from an edge, not exposed; nested calls carry the root and the depth', async () => {
    const sim = await h.start();
    const c = await h.connect(sim);
    const inner = await save(sim, callableWorkflow());
    // Width from an edge (integer node → the call's dynamic input) instead of a literal.
    const fromEdge = await enqueue(
      sim,
      graph(
        [
          { id: 'w', type: 'integer', value: 96 },
          { id: 'call', type: 'call_saved_workflow', workflow_id: inner },
        ],
        [['w', 'value', 'call', savedInput('make', 'width')]],
      ),
    );
    // An outer workflow that calls the inner one and returns what it returned.
    const outer = await save(sim, forwardingWorkflow(inner));
    const nested = await enqueue(sim, graph([{ id: 'call', type: 'call_saved_workflow', workflow_id: outer }]));
    const notExposed = await enqueue(sim, graph([{ id: 'call', type: 'call_saved_workflow', workflow_id: inner, workflow_inputs: { [savedInput('make', 'height')]: 8 } }]));
    const missing = await enqueue(sim, graph([{ id: 'call', type: 'call_saved_workflow', workflow_id: 'no-such-workflow' }]));
    await waitTerminal(c, [fromEdge, nested, notExposed, missing]);
    expect(checkEvents(c)).toEqual([]);

    const edgeChild = sim.store.listQueueItems().find((i) => i['parent_item_id'] === fromEdge)!;
    const made = c.of<InvocationEvent>('invocation_complete').find((e) => e.item_id === edgeChild['item_id'] && e.invocation.type === 'save_image')!;
    expect((made.result as { width: number }).width).toBe(96);
    expect((await item(sim, fromEdge)).status).toBe('completed');

    const chain = sim.store.listQueueItems().filter((i) => i['item_id'] === nested || i['root_item_id'] === nested) as unknown as CallItem[];
    const [, outerChild, innerChild] = chain as [CallItem, CallItem, CallItem];
    expect(chain.map((i) => [i.status, i.parent_item_id ?? null, i.root_item_id ?? null, i.workflow_call_depth ?? null])).toEqual([
      ['completed', null, null, null],
      ['completed', nested, nested, 1],
      ['completed', outerChild.item_id, nested, 2],
    ]);
    const innerImage = c.of<InvocationEvent>('invocation_complete').find((e) => e.item_id === innerChild.item_id && e.invocation.type === 'save_image')!;
    const nestedCall = c.of<InvocationEvent>('invocation_complete').find((e) => e.item_id === nested && e.invocation.type === 'call_saved_workflow')!;
    expect(nestedCall.result!['values']).toEqual({ image: innerImage.result!['image'] });

    expect(await item(sim, notExposed)).toMatchObject({
      status: 'failed',
      error_type: 'InvalidWorkflowInputError',
      error_message: `call_saved_workflow input '${savedInput('make', 'height')}' is not exposed by the selected workflow`,
    });
    expect(await item(sim, missing)).toMatchObject({ status: 'failed', error_type: 'ValueError', error_message: "The selected saved workflow 'no-such-workflow' could not be found." });
    expect(sim.store.listQueueItems().filter((i) => i['parent_item_id'] === notExposed || i['parent_item_id'] === missing)).toEqual([]);
  });

  test('canceling the child cancels the chain; retrying a member retries the root', async () => {
    const sim = await h.start({ nodeDelayMs: 100 });
    const c = await h.connect(sim);
    const parentId = await enqueue(sim, callerGraph(await save(sim, callableWorkflow())));
    const childId = parentId + 1;
    await waitFor(() => statuses(c, childId).some(([s]) => s === 'in_progress'), 'the child running');
    const canceled = await api<CallItem>(sim, 'PUT', `/queue/default/i/${childId}/cancel`);
    expect(canceled.status).toBe(200);
    expect(check('SessionQueueItem', canceled.json, 'openapi-stored')).toEqual([]);
    await waitTerminal(c, [parentId, childId]);
    expect((await item(sim, parentId)).status).toBe('canceled');
    expect(statuses(c, parentId).map(([s]) => s)).toEqual(['in_progress', 'waiting', 'canceled']);
    expect(statuses(c, childId).map(([s]) => s)).toEqual(['pending', 'in_progress', 'canceled']);
    // The running child's node finishes; nothing else happens to the chain.
    await new Promise((r) => setTimeout(r, 250));
    expect(c.of<InvocationEvent>('invocation_complete').some((e) => e.item_id === parentId && e.invocation.type === 'call_saved_workflow')).toBe(false);

    const retried = await api<{ retried_item_ids: number[] }>(sim, 'PUT', '/queue/default/retry_items_by_id', [childId]);
    expect(retried.json.retried_item_ids).toEqual([parentId]);
    const again = await item(sim, childId + 1);
    expect(again).toMatchObject({ retried_from_item_id: parentId });
    expect(again).not.toHaveProperty('parent_item_id');
    await waitTerminal(c, [childId + 1, childId + 2]);
    expect((await item(sim, childId + 2)).root_item_id).toBe(childId + 1);
    expect(checkEvents(c)).toEqual([]);
  });

  test('older generations do not know the nodes (422) nor the workflow routes (405)', async () => {
    const sim = await h.start({ profile: '6.13' });
    const r = await api<{ detail: { type: string; loc: unknown[] }[] }>(sim, 'POST', '/queue/default/enqueue_batch', {
      batch: { graph: graph([{ id: 'call', type: 'call_saved_workflow', workflow_id: 'w' }]) },
    });
    expect(r.status).toBe(422);
    expect(r.json.detail).toEqual([expect.objectContaining({ type: 'union_tag_invalid', loc: ['body', 'batch', 'graph', 'nodes', 'call'] })]);
    // Not served before 6.14 here, so the POST reaches the web UI's static mount: 405 (ui.ts).
    expect((await api(sim, 'POST', '/workflows/', { workflow: callableWorkflow() })).status).toBe(405);
    const item1 = sim.store.getQueueItem(await enqueue(sim, graph([{ id: 'a', type: 'add', a: 1, b: 2 }])));
    expect(item1).not.toHaveProperty('root_item_id');
  });
});
