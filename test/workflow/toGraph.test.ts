import { WorkflowError, isEditorWorkflow, workflowToGraph } from '../../src/workflow';
import type { Graph, WorkflowToGraphOptions } from '../../src/workflow';
import { UUID, edge, edgeSet, invocation, loadWorkflow, uiNode, workflow } from './support';

function nodeOf(graph: Graph, id: string) {
  const node = graph.nodes[id];
  if (!node) throw new Error(`no node ${id}`);
  return node;
}

describe('nodes', () => {
  test('an invocation becomes {id, type, is_intermediate, use_cache, ...values}', () => {
    const wf = workflow([
      invocation('n1', 'save_image', { image: undefined, board: 'none' }, { isIntermediate: false, useCache: false }),
    ]);
    expect(workflowToGraph(wf).nodes).toEqual({
      n1: { id: 'n1', type: 'save_image', is_intermediate: false, use_cache: false },
    });
  });

  test('inputs without a value are left out; null, 0, "" and false are sent as they are', () => {
    const wf = workflow([invocation('n', 'custom', { unset: undefined, nil: null, zero: 0, empty: '', no: false, list: [] })]);
    expect(nodeOf(workflowToGraph(wf), 'n')).toEqual({
      id: 'n', type: 'custom', is_intermediate: true, use_cache: true, nil: null, zero: 0, empty: '', no: false, list: [],
    });
  });

  test('input values are copies: changing the graph does not change the workflow', () => {
    const wf = workflow([invocation('m', 'sdxl_model_loader', { model: { key: 'k', name: 'x' } })]);
    const graph = workflowToGraph(wf);
    (nodeOf(graph, 'm')['model'] as { key: string }).key = 'changed';
    expect(workflowToGraph(wf).nodes['m']?.['model']).toEqual({ key: 'k', name: 'x' });
  });

  test('"__proto__" as a node id stays an ordinary key', () => {
    const wf = JSON.parse(JSON.stringify(workflow([invocation('p', 'custom', { x: 1 })])).replaceAll('"p"', '"__proto__"')) as unknown;
    const graph = workflowToGraph(wf);
    expect(Object.keys(graph.nodes)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(graph.nodes)).toBe(Object.prototype);
    expect(graph.nodes['__proto__']).toMatchObject({ id: '__proto__', x: 1 });
  });

  test('a value that is not plain data (from a JS caller) is a WorkflowError, not a DataCloneError', () => {
    const wf = workflow([invocation('f', 'custom', { fn: () => 1 })]);
    expect(() => workflowToGraph(wf)).toThrow(expect.objectContaining({ path: 'nodes[0].data.inputs.fn.value' }) as Error);
  });

  test('notes, current_image and unknown UI nodes are dropped, with their edges', () => {
    const wf = workflow(
      [invocation('a', 'integer', { value: 1 }), uiNode('note', 'notes'), uiNode('cur', 'current_image'),
        { id: 'future', type: 'group', data: {} }, invocation('b', 'add', { a: 0, b: 2 })],
      [edge('a', 'value', 'b', 'a'), edge('a', 'value', 'note', 'x'), edge('note', 'x', 'b', 'b')],
    );
    const graph = workflowToGraph(wf);
    expect(Object.keys(graph.nodes)).toEqual(['a', 'b']);
    expect(edgeSet(graph.edges)).toEqual(['a.value -> b.a']);
    expect(nodeOf(graph, 'b')).toEqual({ id: 'b', type: 'add', is_intermediate: true, use_cache: true, b: 2 });
  });

  test('the graph gets a fresh UUID on every call', () => {
    const wf = workflow([invocation('a', 'integer', { value: 1 })]);
    const [g1, g2] = [workflowToGraph(wf), workflowToGraph(wf)];
    expect(g1.id).toMatch(UUID);
    expect(g2.id).not.toBe(g1.id);
  });

  test('example-nodes.json (no edges, unset inputs) converts node for node', () => {
    const graph = workflowToGraph(loadWorkflow('example-nodes'));
    expect(Object.values(graph.nodes).map((n) => n.type)).toEqual(
      ['add', 'flux_controlnet', 'flux_denoise', 'denoise_latents', 'image', 'noise'],
    );
    expect(graph.edges).toEqual([]);
    expect(nodeOf(graph, '716b930b-106f-4602-812f-58f48e28e174')).toEqual({
      id: '716b930b-106f-4602-812f-58f48e28e174', type: 'add', is_intermediate: true, use_cache: true, a: 0, b: 0,
    });
    // `image` has no value in the export, so the node carries only its flags.
    expect(Object.keys(nodeOf(graph, 'feb45503-5a16-4c57-90ce-778c03a6995c'))).toEqual(
      ['id', 'type', 'is_intermediate', 'use_cache'],
    );
  });
});

describe('edges', () => {
  test('become {source:{node_id, field}, destination:{node_id, field}} and empty their target input', () => {
    const wf = workflow([invocation('a', 'rand_int', { low: 0 }), invocation('b', 'noise', { seed: 123, width: 64 })], [
      edge('a', 'value', 'b', 'seed'),
    ]);
    const graph = workflowToGraph(wf);
    expect(graph.edges).toEqual([{ source: { node_id: 'a', field: 'value' }, destination: { node_id: 'b', field: 'seed' } }]);
    expect(nodeOf(graph, 'b')).not.toHaveProperty('seed');
    expect(nodeOf(graph, 'b')['width']).toBe(64);
  });

  test('collapsed edges are ignored, a missing type counts as default, duplicates are sent once', () => {
    const { type: _t, ...untyped } = edge('a', 'value', 'b', 'b');
    const wf = workflow([invocation('a', 'integer', { value: 1 }), invocation('b', 'add', { a: 1, b: 1 })], [
      { id: 'c', type: 'collapsed', source: 'a', target: 'b' },
      edge('a', 'value', 'b', 'a'),
      edge('a', 'value', 'b', 'a'),
      untyped,
    ]);
    expect(edgeSet(workflowToGraph(wf).edges)).toEqual(['a.value -> b.a', 'a.value -> b.b']);
  });

  test('chains of connector nodes are flattened into one direct edge', () => {
    const wf = workflow(
      [invocation('a', 'integer', { value: 1 }), uiNode('c1', 'connector'), uiNode('c2', 'connector'),
        invocation('b', 'add', { a: 5, b: 5 }), invocation('d', 'add', { a: 5, b: 5 })],
      [edge('a', 'value', 'c1', 'in'), edge('c1', 'out', 'c2', 'in'), edge('c2', 'out', 'b', 'a'),
        edge('c1', 'out', 'd', 'b')],
    );
    const graph = workflowToGraph(wf);
    expect(edgeSet(graph.edges)).toEqual(['a.value -> b.a', 'a.value -> d.b']);
    expect(Object.keys(graph.nodes)).toEqual(['a', 'b', 'd']);
    expect(nodeOf(graph, 'b')).not.toHaveProperty('a');
  });

  test('a connector with nothing plugged in (or a loop of them) feeds nothing: the edge is dropped', () => {
    const wf = workflow(
      [uiNode('c1', 'connector'), uiNode('l1', 'connector'), uiNode('l2', 'connector'), invocation('b', 'add', { a: 5, b: 5 })],
      [edge('c1', 'out', 'b', 'a'), edge('l1', 'out', 'l2', 'in'), edge('l2', 'out', 'l1', 'in'), edge('l2', 'out', 'b', 'b')],
    );
    const graph = workflowToGraph(wf);
    expect(graph.edges).toEqual([]);
    expect(nodeOf(graph, 'b')).toMatchObject({ a: 5, b: 5 });
  });
});

describe('board', () => {
  const AUTO = 'auto-board';
  test.each<[string, unknown, WorkflowToGraphOptions, unknown]>([
    ['auto, no auto-add board', 'auto', {}, undefined],
    ['auto, auto-add board', 'auto', { autoAddBoardId: AUTO }, { board_id: AUTO }],
    ['auto, auto-add "none"', 'auto', { autoAddBoardId: 'none' }, undefined],
    ['unset, auto-add board', undefined, { autoAddBoardId: AUTO }, { board_id: AUTO }],
    ['null, auto-add board', null, { autoAddBoardId: AUTO }, { board_id: AUTO }],
    ['empty string, auto-add board', '', { autoAddBoardId: AUTO }, { board_id: AUTO }],
    ['none, auto-add board', 'none', { autoAddBoardId: AUTO }, undefined],
    ['explicit board', { board_id: 'b1' }, { autoAddBoardId: AUTO }, { board_id: 'b1' }],
    ['boardId overrides explicit', { board_id: 'b1' }, { boardId: 'forced' }, { board_id: 'forced' }],
    ['boardId overrides none', 'none', { boardId: 'forced' }, { board_id: 'forced' }],
    ['boardId overrides auto', 'auto', { boardId: 'forced', autoAddBoardId: AUTO }, { board_id: 'forced' }],
    ['boardId "none" removes explicit', { board_id: 'b1' }, { boardId: 'none' }, undefined],
  ])('%s', (_name, value, opts, expected) => {
    const graph = workflowToGraph(workflow([invocation('s', 'save_image', { board: value })]), opts);
    if (expected === undefined) expect(nodeOf(graph, 's')).not.toHaveProperty('board');
    else expect(nodeOf(graph, 's')['board']).toEqual(expected);
  });

  test('boardId reaches WithBoard node types without a board input, and only board-saving nodes', () => {
    const wf = workflow([invocation('l', 'l2i', { fp32: true }), invocation('c', 'canvas_output', {}), invocation('i', 'integer', { value: 1 })]);
    const graph = workflowToGraph(wf, { boardId: 'forced' });
    expect(nodeOf(graph, 'l')['board']).toEqual({ board_id: 'forced' });
    expect(nodeOf(graph, 'c')).not.toHaveProperty('board');
    expect(nodeOf(graph, 'i')).not.toHaveProperty('board');
  });

  test('a custom node with a board input gets the override too; an edge-fed board stays fed', () => {
    const wf = workflow(
      [invocation('x', 'my_saver', { board: 'auto' }), invocation('y', 'my_saver', { board: 'auto' }),
        invocation('p', 'board_picker', {})],
      [edge('p', 'board', 'y', 'board')],
    );
    const graph = workflowToGraph(wf, { boardId: 'forced' });
    expect(nodeOf(graph, 'x')['board']).toEqual({ board_id: 'forced' });
    expect(nodeOf(graph, 'y')).not.toHaveProperty('board');
  });

  test('on a custom node a "board" input that is no board value is an ordinary value', () => {
    const graph = workflowToGraph(workflow([invocation('g', 'chess', { board: 'rnbqkbnr/8' })]));
    expect(nodeOf(graph, 'g')['board']).toBe('rnbqkbnr/8');
  });
});

describe('call_saved_workflow (6.14+)', () => {
  test('dynamic inputs are packed into workflow_inputs; edge-fed ones are left out', () => {
    const wf = workflow(
      [invocation('a', 'string', { value: 'hi' }),
        invocation('c', 'call_saved_workflow', {
          workflow_id: 'w1', workflow_inputs: { stale: true },
          'saved_workflow_input::n1::prompt': 'cat', 'saved_workflow_input::n2::seed': 3,
          'saved_workflow_input::n3::unset': undefined,
        })],
      [edge('a', 'value', 'c', 'saved_workflow_input::n2::seed')],
    );
    expect(nodeOf(workflowToGraph(wf), 'c')).toEqual({
      id: 'c', type: 'call_saved_workflow', is_intermediate: true, use_cache: true, workflow_id: 'w1',
      workflow_inputs: { 'saved_workflow_input::n1::prompt': 'cat' },
    });
  });

  test('without dynamic inputs workflow_inputs is {}', () => {
    const wf = workflow([invocation('c', 'call_saved_workflow', { workflow_id: 'w1' })]);
    expect(nodeOf(workflowToGraph(wf), 'c')['workflow_inputs']).toEqual({});
  });
});

describe('refused on purpose', () => {
  test('batch and generator nodes: their values travel as enqueue_batch data, not in a graph', () => {
    const wf = workflow([invocation('a', 'integer', { value: 1 }), invocation('b', 'string_batch', { strings: ['x'] })]);
    expect(() => workflowToGraph(wf)).toThrow(expect.objectContaining({ path: 'nodes[1].data.type' }) as Error);
  });

  test('an input named like a reserved node key', () => {
    const wf = workflow([invocation('a', 'integer', { value: 1, type: 'evil' })]);
    expect(() => workflowToGraph(wf)).toThrow(WorkflowError);
  });
});

describe('isEditorWorkflow', () => {
  test.each<{ name: string; x: unknown; expected: boolean }>([
    { name: 'an editor export', x: loadWorkflow('sdxl-text-to-image'), expected: true },
    { name: 'a minimal workflow', x: { nodes: [], edges: [] }, expected: true },
    { name: 'a bare graph', x: { id: 'g', nodes: { a: { id: 'a', type: 'add' } }, edges: [] }, expected: false },
    { name: 'an enqueue_batch body', x: { prepend: false, batch: { graph: { nodes: {}, edges: [] }, runs: 1 } }, expected: false },
    { name: 'an array', x: [{ nodes: [] }], expected: false },
    { name: 'null', x: null, expected: false },
    { name: 'a string', x: 'nodes', expected: false },
  ])('$name → $expected', ({ x, expected }) => {
    expect(isEditorWorkflow(x)).toBe(expected);
  });
});
